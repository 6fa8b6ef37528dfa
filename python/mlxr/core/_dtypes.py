"""Dtype categories (``mx.floating``, ...), ``issubdtype``, ``isdtype``, ``can_cast``,
``finfo`` and ``iinfo``, as in MLX."""

import enum

from mlxr._core import Dtype, result_type
from mlxr import _core


class DtypeCategory(enum.Enum):
    """Abstract groups of dtypes (MLX's ``mx.DtypeCategory``)."""

    complexfloating = 0
    floating = 1
    inexact = 2
    signedinteger = 3
    unsignedinteger = 4
    integer = 5
    number = 6
    generic = 7


complexfloating = DtypeCategory.complexfloating
floating = DtypeCategory.floating
inexact = DtypeCategory.inexact
signedinteger = DtypeCategory.signedinteger
unsignedinteger = DtypeCategory.unsignedinteger
integer = DtypeCategory.integer
number = DtypeCategory.number
generic = DtypeCategory.generic

_PARENT = {
    complexfloating: inexact,
    floating: inexact,
    inexact: number,
    signedinteger: integer,
    unsignedinteger: integer,
    integer: number,
    number: generic,
    generic: None,
}


def _category(d):
    n = d.name
    if n == "bool":
        return generic
    if n.startswith("uint"):
        return unsignedinteger
    if n.startswith("int"):
        return signedinteger
    if n.startswith("complex"):
        return complexfloating
    return floating


def _is_sub_category(c, parent):
    while c is not None:
        if c == parent:
            return True
        c = _PARENT[c]
    return False


def issubdtype(arg1, arg2):
    """Whether ``arg1`` (a dtype or category) is ``arg2`` or one of its kinds."""
    if isinstance(arg1, Dtype):
        if isinstance(arg2, Dtype):
            return arg1 == arg2
        return _is_sub_category(_category(arg1), arg2)
    if isinstance(arg2, Dtype):
        return False
    return _is_sub_category(arg1, arg2)


_KINDS = {
    "bool": lambda d: d.name == "bool",
    "signed integer": lambda d: _category(d) == signedinteger,
    "unsigned integer": lambda d: _category(d) == unsignedinteger,
    "integral": lambda d: _category(d) in (signedinteger, unsignedinteger),
    "real floating": lambda d: _category(d) == floating,
    "complex floating": lambda d: _category(d) == complexfloating,
    "numeric": lambda d: d.name != "bool",
}


def isdtype(dtype, kind):
    """The Array API's ``isdtype``: ``kind`` is a dtype, a kind name or a tuple of them."""
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, Dtype):
        return dtype == kind
    if kind not in _KINDS:
        raise ValueError(f"Unknown dtype kind {kind!r}")
    return _KINDS[kind](dtype)


def can_cast(from_, to):
    """Whether ``from_`` (an array or dtype) converts to ``to`` without losing range."""
    d = from_.dtype if isinstance(from_, _core.array) else from_
    return result_type(d, to) == to


class finfo:
    """Machine limits of a floating dtype: ``min``, ``max``, ``eps``, ``dtype``."""

    def __init__(self, dtype):
        import numpy as np

        if isinstance(dtype, _core.array):
            dtype = dtype.dtype
        if not issubdtype(dtype, inexact):
            raise ValueError(f"[finfo] dtype {dtype} is not inexact.")
        if dtype.name == "bfloat16":
            self.max = 3.3895313892515355e38
            self.eps = 0.0078125
            self.tiny = 1.1754943508222875e-38
        else:
            name = "float32" if dtype.name == "complex64" else dtype.name
            info = np.finfo(getattr(np, name))
            self.max = float(info.max)
            self.eps = float(info.eps)
            self.tiny = float(info.tiny)
        self.min = -self.max
        self.smallest_normal = self.tiny
        self.dtype = dtype

    def __repr__(self):
        fmt = lambda v: f"{v:g}"  # noqa: E731
        return f"finfo(min={fmt(self.min)}, max={fmt(self.max)}, dtype={self.dtype.name})"


class iinfo:
    """Limits of an integer dtype: ``min``, ``max``, ``dtype``."""

    def __init__(self, dtype):
        import numpy as np

        if isinstance(dtype, _core.array):
            dtype = dtype.dtype
        if not issubdtype(dtype, integer):
            raise ValueError(f"[iinfo] dtype {dtype} is not integral.")
        info = np.iinfo(getattr(np, dtype.name))
        self.min = int(info.min)
        self.max = int(info.max)
        self.dtype = dtype

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype.name})"
