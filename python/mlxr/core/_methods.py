"""Array methods that are ops with the array first (``a.sum(axis)``, ``a.exp()``, ...),
attached to ``mlxr.core.array`` with MLX's signatures."""

from mlxr import _core
from mlxr._core import array


def _attach(name, fn):
    setattr(array, name, fn)


def _unary(op):
    def method(self, *, stream=None):
        return op(self, stream=stream)

    method.__name__ = op.__name__
    method.__doc__ = op.__doc__
    return method


for _n in ["abs", "conj", "cos", "exp", "log", "log10", "log1p", "log2",
           "reciprocal", "rsqrt", "sin", "sqrt", "square"]:
    _attach(_n, _unary(getattr(_core, _n)))

# The real and imaginary parts are properties, as in MLX.
_attach("real", property(lambda self: _core.real(self), doc="The real part."))
_attach("imag", property(lambda self: _core.imag(self), doc="The imaginary part."))


def _format(self, spec):
    """``format(a, spec)``: one-element arrays format their value (``f"{loss:.3f}"``)."""
    if not spec:
        return str(self)
    if self.size == 1:
        return format(self.item(), spec)
    raise TypeError("unsupported format string passed to mlx.core.array.__format__")


_attach("__format__", _format)


def _reduction(op):
    def method(self, axis=None, keepdims=False, *, stream=None):
        return op(self, axis, keepdims, stream=stream)

    method.__name__ = op.__name__
    method.__doc__ = op.__doc__
    return method


for _n in ["all", "any", "max", "min", "mean", "prod", "sum", "logsumexp"]:
    _attach(_n, _reduction(getattr(_core, _n)))


def _argred(op):
    def method(self, axis=None, keepdims=False, *, stream=None):
        return op(self, axis, keepdims, stream=stream)

    method.__name__ = op.__name__
    return method


_attach("argmax", _argred(_core.argmax))
_attach("argmin", _argred(_core.argmin))


def _var(op):
    def method(self, axis=None, keepdims=False, ddof=0, *, stream=None):
        return op(self, axis, keepdims, ddof, stream=stream)

    method.__name__ = op.__name__
    return method


_attach("var", _var(_core.var))
_attach("std", _var(_core.std))


def _scan(op, has_dtype=False):
    def method(self, axis=None, *, reverse=False, inclusive=True, stream=None):
        return op(self, axis, reverse=reverse, inclusive=inclusive, stream=stream)

    method.__name__ = op.__name__
    return method


for _n in ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]:
    _attach(_n, _scan(getattr(_core, _n)))


def _flatten(self, start_axis=0, end_axis=-1, *, stream=None):
    return _core.flatten(self, start_axis, end_axis, stream=stream)


def _squeeze(self, axis=None, *, stream=None):
    return _core.squeeze(self, axis, stream=stream)


def _swapaxes(self, axis1, axis2, *, stream=None):
    return _core.swapaxes(self, axis1, axis2, stream=stream)


def _moveaxis(self, source, destination, *, stream=None):
    return _core.moveaxis(self, source, destination, stream=stream)


def _split(self, indices_or_sections, axis=0, *, stream=None):
    return _core.split(self, indices_or_sections, axis, stream=stream)


def _diagonal(self, offset=0, axis1=0, axis2=1, stream=None):
    return _core.diagonal(self, offset, axis1, axis2, stream=stream)


def _diag(self, k=0, *, stream=None):
    return _core.diag(self, k, stream=stream)


def _round(self, decimals=0, *, stream=None):
    return _core.round(self, decimals, stream=stream)


def _view(self, dtype, *, stream=None):
    return _core.view(self, dtype, stream=stream)


def _mT(self):
    return _core.swapaxes(self, -1, -2)


_attach("flatten", _flatten)
_attach("squeeze", _squeeze)
_attach("swapaxes", _swapaxes)
_attach("moveaxis", _moveaxis)
_attach("split", _split)
_attach("diagonal", _diagonal)
_attach("diag", _diag)
_attach("round", _round)
_attach("view", _view)
_attach("mT", property(_mT))
_attach("__round__", lambda self, ndigits=None: _core.round(self, ndigits or 0))
