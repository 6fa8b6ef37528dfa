"""Parts of ``mlx.core`` written in Python over the extension: the ``stream`` context
manager, small ops composed from others (``trunc``, ``positive``, ``minmax``,
``vecdot``, window functions), ``asarray``, device queries, print options, and MLX's
signatures and docstrings for the extension's fp8 conversions, masked / segmented
products and ``export_to_dot``."""

import operator as _operator
import os as _os

from mlxr import _core
from mlxr._core import array

__all__ = [
    "StreamContext", "stream", "asarray", "trunc", "positive", "minmax", "vecdot",
    "hanning", "hamming", "blackman", "bartlett", "is_available", "device_info",
    "clear_streams", "set_printoptions", "get_printoptions", "printoptions", "PrintOptions",
    "_PrintOptionsContext", "ArrayLike",
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


class PrintOptions:
    """The options used to print arrays (``precision``: decimals of floats, -1 for the
    default formatting)."""

    def __init__(self, precision=-1):
        self.precision = precision


class _PrintOptionsContext:
    """The context manager of :func:`printoptions`: sets the options on entry and restores
    the previous ones on exit."""

    def __init__(self, precision=-1):
        self._precision = _operator.index(precision)
        self._old = None

    def __enter__(self):
        self._old = _core._get_print_precision()
        _core._set_print_precision(self._precision)
        return self

    def __exit__(self, *exc):
        _core._set_print_precision(self._old)
        return False


def set_printoptions(precision=-1):
    """Set global printing precision for array formatting.

    Example:
        >>> print(x)  # Uses default precision
        >>> mx.set_printoptions(precision=3)
        >>> print(x)  # Uses precision of 3
        >>> print(x)  # Uses precision of 3 (again)

    Args:
        precision (int): Number of decimal places.
    """
    _core._set_print_precision(_operator.index(precision))


def get_printoptions():
    """Get global printing precision for array formatting.

    Returns:
    PrintOptions: The format options used for printing arrays.
    """
    return PrintOptions(_core._get_print_precision())


def printoptions(precision=-1):
    """Context manager for setting print options temporarily.

    Example:
        >>> print(x)  # Uses default precision
        >>> with mx.printoptions(precision=3):
        >>>     print(x)  # Uses precision of 3
        >>> print(x)  # Back to default precision


    Args:
        precision (int): Number of decimal places. Use -1 for default
    """
    return _PrintOptionsContext(precision)


# --- aliases and constants of mlx.core ------------------------------------------------

import math as _math

acos = _core.arccos
acosh = _core.arccosh
asin = _core.arcsin
asinh = _core.arcsinh
atan = _core.arctan
atanh = _core.arctanh
atan2 = _core.arctan2
pow = _core.power
bitwise_left_shift = _core.left_shift
bitwise_right_shift = _core.right_shift
new_thread_unsafe_stream = _core.new_stream
e = _math.e
pi = _math.pi
inf = _math.inf
nan = _math.nan
euler_gamma = 0.5772156649015329
newaxis = None


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False, stream=None):
    """The Array API's cumulative sum (``include_initial`` prepends a zero)."""
    if axis is None:
        if x.ndim > 1:
            raise ValueError("[cumulative_sum] axis must be given for arrays with more than one dimension")
        axis = 0
    out = _core.cumsum(x, axis, dtype=dtype, stream=stream)
    if include_initial:
        shape = list(out.shape)
        shape[axis] = 1
        out = _core.concatenate([_core.zeros(shape, out.dtype), out], axis=axis)
    return out


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False, stream=None):
    """The Array API's cumulative product (``include_initial`` prepends a one)."""
    if axis is None:
        if x.ndim > 1:
            raise ValueError("[cumulative_prod] axis must be given for arrays with more than one dimension")
        axis = 0
    out = _core.cumprod(x, axis, dtype=dtype, stream=stream)
    if include_initial:
        shape = list(out.shape)
        shape[axis] = 1
        out = _core.concatenate([_core.ones(shape, out.dtype), out], axis=axis)
    return out


def empty(shape, dtype=None, *, stream=None):
    """An array of ``shape`` (filled with zeros)."""
    return _core.zeros(shape, dtype if dtype is not None else _core.float32, stream=stream)


def empty_like(a, /, dtype=None, *, stream=None):
    """An array shaped like ``a`` (filled with zeros)."""
    return _core.zeros_like(a, dtype, stream=stream)


def from_dlpack(x, /, *, copy=None):
    """An array from a DLPack-capable object (through NumPy)."""
    import numpy as np

    return array(np.from_dlpack(x))


def get_array_buffer_size(*args):
    """Bytes of the arrays' buffers."""
    return sum(a.nbytes for a in args)


def matrix_norm(a, /, ord="fro", axis=(-2, -1), keepdims=False, *, stream=None):
    """Matrix norms: Frobenius, 1, -1, inf, -inf."""
    if ord == "fro" or ord is None:
        return _core.sqrt(_core.sum(_core.square(_core.abs(a)), axis=axis, keepdims=keepdims))
    r, c = axis
    if ord in (1, -1):
        s = _core.sum(_core.abs(a), axis=r, keepdims=True)
        f = _core.max if ord == 1 else _core.min
        out = f(s, axis=c, keepdims=True)
    elif ord in (_math.inf, -_math.inf):
        s = _core.sum(_core.abs(a), axis=c, keepdims=True)
        f = _core.max if ord == _math.inf else _core.min
        out = f(s, axis=r, keepdims=True)
    else:
        raise ValueError(f"[matrix_norm] unsupported ord {ord!r}")
    return out if keepdims else _core.squeeze(out, axis=axis)


__all__ += [
    "acos", "acosh", "asin", "asinh", "atan", "atanh", "atan2", "pow", "bitwise_left_shift",
    "bitwise_right_shift", "new_thread_unsafe_stream", "e", "pi", "inf", "nan", "euler_gamma",
    "newaxis", "cumulative_sum", "cumulative_prod", "empty", "empty_like", "from_dlpack",
    "get_array_buffer_size", "matrix_norm",
]


def gather_mm(a, b, /, lhs_indices=None, rhs_indices=None, *, sorted_indices=False, stream=None):
    """Matrix products of the matrices of ``a`` and ``b`` picked by ``lhs_indices`` and
    ``rhs_indices`` (indices into their flattened batch axes)."""
    a_batch, b_batch = a.shape[:-2], b.shape[:-2]
    a_flat = _core.reshape(a, (-1, *a.shape[-2:]))
    b_flat = _core.reshape(b, (-1, *b.shape[-2:]))
    if lhs_indices is None:
        lhs_indices = _core.reshape(_core.arange(_math.prod(a_batch), dtype=_core.uint32), a_batch)
    if rhs_indices is None:
        rhs_indices = _core.reshape(_core.arange(_math.prod(b_batch), dtype=_core.uint32), b_batch)
    li, ri = _core.broadcast_arrays(lhs_indices, rhs_indices)
    return _core.matmul(_core.take(a_flat, li, axis=0), _core.take(b_flat, ri, axis=0))


def hadamard_transform(a, scale=None, stream=None):
    """The Walsh-Hadamard transform of the last axis (a power of two), scaled by
    ``scale`` (default ``1/sqrt(n)``)."""
    n = a.shape[-1]
    if n & (n - 1):
        raise ValueError(f"[hadamard_transform] the last axis ({n}) must be a power of two in mlxr")
    import numpy as np

    h = np.array([[1.0]], dtype=np.float32)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    scale = 1.0 / _math.sqrt(n) if scale is None else scale
    dt = a.dtype if a.dtype in (_core.float16, _core.bfloat16, _core.float32, _core.float64) else _core.float32
    return _core.matmul(a.astype(dt), array(h).astype(dt)) * scale


__all__ += ["gather_mm", "hadamard_transform"]


def unique(a, /, size, return_index=False, return_inverse=False, return_counts=False,
           fill_value=None, *, stream=None):
    """The sorted unique elements of the flattened ``a`` in an array of ``size`` (padded
    with ``fill_value``, by default the smallest element; truncated to the smallest
    ``size``), and optionally the first index, the inverse and the counts (MLX 0.32's
    ``unique``). Built from sort, cumsum and scatters, so nothing is evaluated."""
    flat = _core.reshape(a, (-1,))
    n = flat.size
    if n == 0:
        v = _core.full((size,), 0 if fill_value is None else fill_value, dtype=a.dtype)
        extras = [_core.zeros((size,), _core.uint32), _core.zeros(a.shape, _core.uint32),
                  _core.zeros((size,), _core.int32)]
    else:
        order = _core.argsort(flat, axis=0).astype(_core.uint32)
        s = _core.take(flat, order, axis=0)
        new = _core.concatenate([_core.ones((1,), _core.bool_), s[1:] != s[:-1]])
        gid = _core.cumsum(new.astype(_core.int32), axis=0) - 1
        slot = _core.minimum(gid, size)
        fill = s[0] if fill_value is None else fill_value
        v = _core.full((size + 1,), fill, dtype=a.dtype)
        v[slot] = s
        v = v[:size]
        counts = _core.zeros((size + 1,), _core.int32).at[slot].add(1)[:size]
        first = _core.full((size + 1,), n, dtype=_core.uint32).at[slot].minimum(order)[:size]
        if size > 0:
            first = _core.where(counts == 0, first[0], first)
        inv_sorted = _core.minimum(gid, size - 1).astype(_core.uint32)
        inverse = _core.zeros((n,), _core.uint32)
        inverse[order] = inv_sorted
        extras = [first, _core.reshape(inverse, a.shape), counts]
    out = [v] + [x for x, want in zip(extras, (return_index, return_inverse, return_counts)) if want]
    return out[0] if len(out) == 1 else tuple(out)


__all__ += ["unique"]


# --- fp8, masked / segmented products, graph export ----------------------------------


def to_fp8(x, *, stream=None):
    """Convert the array to fp8 (e4m3) from another floating-point type.

    Args:
      x (array): The input array.

    Returns:
      array: The array converted to fp8 with type ``uint8``.
    """
    return _core._to_fp8(x, stream=stream)


def from_fp8(x, dtype=_core.bfloat16, *, stream=None):
    """Convert the array from fp8 (e4m3) to another floating-point type.

    Args:
      x (array): The input fp8 array with type ``uint8``.
      dtype (Dtype): The data type to convert to. Default: ``bfloat16``.

    Returns:
      array: The array converted from fp8.
    """
    return _core._from_fp8(x, dtype, stream=stream)


def segmented_mm(a, b, /, segments, *, stream=None):
    """Perform a matrix multiplication but segment the inner dimension and
    save the result for each segment separately.

    Args:
      a (array): Input array of shape ``MxK``.
      b (array): Input array of shape ``KxN``.
      segments (array): The offsets into the inner dimension for each segment.

    Returns:
      array: The result per segment of shape ``MxN``.
    """
    return _core._segmented_mm(a, b, segments, stream=stream)


def block_masked_mm(a, b, /, block_size=64, mask_out=None, mask_lhs=None, mask_rhs=None, *,
                    stream=None):
    """Matrix multiplication with block masking.

    Perform the (possibly batched) matrix multiplication of two arrays and with blocks
    of size ``block_size x block_size`` optionally masked out.

    Assuming ``a`` with shape (..., `M`, `K`) and b with shape (..., `K`, `N`)

    * ``lhs_mask`` must have shape (..., :math:`\\lceil` `M` / ``block_size`` :math:`\\rceil`, :math:`\\lceil` `K` / ``block_size`` :math:`\\rceil`)

    * ``rhs_mask`` must have shape (..., :math:`\\lceil` `K` / ``block_size`` :math:`\\rceil`, :math:`\\lceil` `N` / ``block_size`` :math:`\\rceil`)

    * ``out_mask`` must have shape (..., :math:`\\lceil` `M` / ``block_size`` :math:`\\rceil`, :math:`\\lceil` `N` / ``block_size`` :math:`\\rceil`)

    Note: Only ``block_size=64`` and ``block_size=32`` are currently supported

    Args:
        a (array): Input array or scalar.
        b (array): Input array or scalar.
        block_size (int): Size of blocks to be masked. Must be ``32`` or ``64``. Default: ``64``.
        mask_out (array, optional): Mask for output. Default: ``None``.
        mask_lhs (array, optional): Mask for ``a``. Default: ``None``.
        mask_rhs (array, optional): Mask for ``b``. Default: ``None``.

    Returns:
        array: The output array.
    """
    return _core._block_masked_mm(a, b, block_size, mask_out, mask_lhs, mask_rhs,
                                  stream=stream)


def _flat_arrays(tree):
    """The arrays of a pytree (lists, tuples, dicts) in order; anything else is an error."""
    if isinstance(tree, array):
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [a for t in tree for a in _flat_arrays(t)]
    if isinstance(tree, dict):
        return [a for t in tree.values() for a in _flat_arrays(t)]
    raise ValueError("[tree_flatten] The argument should contain only arrays")


def export_to_dot(file, *args, **kwargs):
    """Export a graph to DOT format for visualization.

    A variable number of output arrays can be provided for exporting
    The graph exported will recursively include all unevaluated inputs of
    the provided outputs.

    Args:
        file (str): The file path to export to.
        *args (array): The output arrays.
        **kwargs (dict[str, array]): Provide some names for arrays in the
          graph to make the result easier to parse.

    Example:
      >>> a = mx.array(1) + mx.array(2)
      >>> mx.export_to_dot("graph.dot", a)
      >>> x = mx.array(1)
      >>> y = mx.array(2)
      >>> mx.export_to_dot("graph.dot", x + y, x=x, y=y)
    """
    outputs = _flat_arrays(list(args))
    named = []
    for name, a in kwargs.items():
        if not isinstance(a, array):
            raise ValueError("[export_to_dot] Keyword arguments must be arrays.")
        named.append((name, a))
    text = _core._export_to_dot(outputs, named)
    if isinstance(file, (str, _os.PathLike)):
        with open(file, "w") as f:
            f.write(text)
    else:
        file.write(text)


__all__ += ["to_fp8", "from_fp8", "segmented_mm", "block_masked_mm", "export_to_dot"]
