"""``mlxr.core.linalg``: vector and matrix norms (more to come)."""

import math

from mlxr import _core as mx


def norm(a, /, ord=None, axis=None, keepdims=False, *, stream=None):
    """Vector norms (``ord`` None/2, 1, inf, -inf, 0, p) and the Frobenius norm."""
    if isinstance(axis, int):
        axis = (axis,)
    if ord is None or ord == "fro" or (ord == 2 and axis is not None and len(axis) == 1):
        if a.dtype == mx.complex64:
            a = mx.abs(a)
        return mx.sqrt(mx.sum(mx.square(a), axis=axis, keepdims=keepdims))
    x = mx.abs(a)
    if ord == math.inf:
        return mx.max(x, axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return mx.min(x, axis=axis, keepdims=keepdims)
    if ord == 0:
        return mx.sum(x != 0, axis=axis, keepdims=keepdims).astype(a.dtype)
    if ord == 1:
        return mx.sum(x, axis=axis, keepdims=keepdims)
    return mx.power(mx.sum(mx.power(x, ord), axis=axis, keepdims=keepdims), 1.0 / ord)
