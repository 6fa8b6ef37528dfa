"""MLX's function export: ``export_function``, ``import_function`` and ``exporter``.

A function is traced on example arrays (positional and keyword) and its graph is saved to
a ``.mlxfn`` file by the Rust extension (``mlxr::export``); ``import_function`` reads it
back as a callable that replays the graph on new arrays of the traced shapes and dtypes
(any shapes of the same ranks with ``shapeless=True``) and returns a tuple of arrays.

The file format is mlxr's own: files are not interchangeable with MLX's ``.mlxfn`` files.
Exporting to a callback (MLX's ``file_or_callback`` given a function) is not supported."""

import os

from mlxr import _core
from mlxr._core import array

_INPUTS_ERROR = (
    "[export_function] Inputs can either be a variable number of positional and keyword "
    "arrays or a single tuple and/or dictionary of arrays."
)
_OUTPUTS_ERROR = (
    "[export_function] Outputs can be either a single array, a tuple, or a list of arrays."
)


def _split_inputs(args, kwargs, where):
    """MLX's two ways of passing inputs: ``*args, **kwargs`` of arrays, or one tuple (or
    list) of arrays and / or one dict of arrays. Returns ``(list, dict)``."""
    if args and isinstance(args[0], (tuple, list)):
        if len(args) > 2 or (len(args) == 2 and not isinstance(args[1], dict)) or kwargs:
            raise ValueError(_INPUTS_ERROR.replace("export_function", where))
        pos = list(args[0])
        kw = dict(args[1]) if len(args) == 2 else {}
    elif len(args) == 1 and isinstance(args[0], dict) and not kwargs:
        pos, kw = [], dict(args[0])
    else:
        pos, kw = list(args), dict(kwargs)
    if not all(isinstance(a, array) for a in pos) or not all(
        isinstance(k, str) and isinstance(v, array) for k, v in kw.items()
    ):
        raise ValueError(_INPUTS_ERROR.replace("export_function", where))
    return pos, kw


def _flat_fun(fun):
    """``fun`` as a function of ``(list, dict)`` returning a list of arrays."""

    def flat(args, kwargs):
        out = fun(*args, **kwargs)
        if isinstance(out, array):
            return [out]
        if isinstance(out, (list, tuple)) and all(isinstance(o, array) for o in out):
            return list(out)
        raise ValueError(_OUTPUTS_ERROR)

    return flat


def _path(file):
    if isinstance(file, os.PathLike):
        file = os.fspath(file)
    if not isinstance(file, str):
        raise TypeError(f"[export_function] Expected a file path, got {type(file).__name__}.")
    return file


class FunctionExporter:
    """Adds traces of a function to one file (see :func:`exporter`): call it with example
    inputs (as for :func:`export_function`) once per input signature."""

    def __init__(self, file, fun, shapeless=False, metadata=None):
        self._ex = _core._Exporter(_path(file), _flat_fun(fun), shapeless, metadata)
        self._closed = False

    def __call__(self, *args, **kwargs):
        if self._closed:
            raise RuntimeError("[exporter] The exporter is closed.")
        pos, kw = _split_inputs(args, kwargs, "export_function")
        self._ex.add(pos, kw)

    def close(self):
        """Finish exporting (the file already holds every trace added)."""
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def export_function(file_or_callback, fun, *args, shapeless=False, metadata=None, **kwargs):
    """Export ``fun`` traced on the example inputs ``*args`` / ``**kwargs`` (arrays, or a
    tuple of arrays and / or a dict of arrays) to a file (MLX names them ``*.mlxfn``).
    ``shapeless=True`` lets the imported function take inputs of other shapes (same ranks
    and dtypes). ``metadata`` is a string saved alongside, returned by
    ``import_function(file, return_metadata=True)``."""
    if callable(file_or_callback) and not isinstance(file_or_callback, (str, os.PathLike)):
        if metadata is not None:
            raise ValueError(
                "[export_function] metadata is only supported when exporting to a file.")
        raise ValueError(
            "[export_function] Exporting to a callback is not supported by mlxr; pass a "
            "file path.")
    ex = FunctionExporter(file_or_callback, fun, shapeless=shapeless, metadata=metadata)
    ex(*args, **kwargs)
    ex.close()


def exporter(file, fun, *, shapeless=False, metadata=None):
    """A :class:`FunctionExporter` that adds one trace of ``fun`` to ``file`` per call
    (with different example inputs); usable as a context manager."""
    return FunctionExporter(file, fun, shapeless=shapeless, metadata=metadata)


def import_function(file, return_metadata=False):
    """Read a function exported by :func:`export_function` or :func:`exporter`. The result
    is called with ``*args`` and ``**kwargs`` arrays (or a tuple and / or dict of arrays)
    matching one exported signature and returns a tuple of arrays. With
    ``return_metadata=True`` returns ``(function, metadata)``."""
    imported = _core._import_function(_path(file))

    def fn(*args, **kwargs):
        pos, kw = _split_inputs(args, kwargs, "import_function::call")
        return tuple(imported(pos, kw))

    fn.__name__ = "imported_function"
    fn.__doc__ = f"The function imported from {file}."
    if return_metadata:
        return fn, imported.metadata
    return fn
