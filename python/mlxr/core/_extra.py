"""Parts of ``mlx.core`` written in Python over the extension: the ``stream`` context
manager, small ops composed from others (``trunc``, ``positive``, ``minmax``,
``vecdot``, window functions), ``asarray`` and device queries."""

from mlxr import _core
from mlxr._core import array

__all__ = [
    "StreamContext", "stream", "asarray", "trunc", "positive", "minmax", "vecdot",
    "hanning", "hamming", "blackman", "bartlett", "is_available", "device_info",
    "clear_streams", "set_printoptions", "get_printoptions", "new_thread_local_stream",
    "ArrayLike",
]

ArrayLike = object


class StreamContext:
    """``with mx.stream(s):`` makes ``s`` (a Stream or Device) the default stream of the
    ops built inside the block."""

    def __init__(self, s):
        self._s = s

    def __enter__(self):
        _core._push_stream(self._s)
        return self

    def __exit__(self, *exc):
        _core._pop_stream()
        return False


def stream(s):
    """A context manager running the ops built inside it on ``s``."""
    return StreamContext(s)


def new_thread_local_stream(device):
    """A new stream on ``device`` (streams are thread-safe in mlxr)."""
    return _core.new_stream(device)


def asarray(a, dtype=None, *, copy=None):
    """``a`` as an array (no copy when it already is one of ``dtype``)."""
    if isinstance(a, array) and (dtype is None or a.dtype == dtype):
        return a
    return array(a, dtype) if dtype is not None else array(a)


def trunc(a, /, *, stream=None):
    """Round towards zero."""
    a = asarray(a)
    return _core.where(a < 0, _core.ceil(a, stream=stream), _core.floor(a, stream=stream))


def positive(a, /, *, stream=None):
    """``+a``."""
    return asarray(a)


def minmax(a, /, axis=None, keepdims=False, *, stream=None):
    """``(min(a), max(a))`` over ``axis``."""
    return (_core.min(a, axis, keepdims, stream=stream), _core.max(a, axis, keepdims, stream=stream))


def vecdot(a, b, /, *, axis=-1, stream=None):
    """The dot product of vectors along ``axis`` (conjugating ``a``)."""
    a = asarray(a)
    if a.dtype == _core.complex64:
        a = _core.conj(a)
    return _core.sum(a * b, axis=axis, stream=stream)


def _window(M, f):
    import numpy as np

    return array(f(M).astype(np.float32))


def hanning(M, *, stream=None):
    """The Hann window."""
    import numpy as np

    return _window(M, np.hanning)


def hamming(M, *, stream=None):
    """The Hamming window."""
    import numpy as np

    return _window(M, np.hamming)


def blackman(M, *, stream=None):
    """The Blackman window."""
    import numpy as np

    return _window(M, np.blackman)


def bartlett(M, *, stream=None):
    """The Bartlett window."""
    import numpy as np

    return _window(M, np.bartlett)


def is_available(device):
    """Whether a device (or device type) can be used."""
    t = getattr(device, "type", device)
    if t == _core.cpu:
        return True
    return _core._gpu_is_available()


def device_info(d=None):
    """Basic facts about a device."""
    d = d if d is not None else _core.default_device()
    t = getattr(d, "type", d)
    return {"device_name": "cpu" if t == _core.cpu else "gpu", "architecture": "mlxr"}


def clear_streams():
    """No-op: mlxr streams need no cleanup."""


_print_precision = [-1]


def set_printoptions(precision=-1):
    """Accepted for compatibility (mlxr prints with MLX's default precision)."""
    _print_precision[0] = precision


def get_printoptions():
    """The print options."""
    return {"precision": _print_precision[0]}
