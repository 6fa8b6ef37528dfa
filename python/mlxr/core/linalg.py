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


def cross(a, b, axis=-1, *, stream=None):
    """The cross product of 3-vectors along ``axis``."""
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ValueError("[linalg::cross] The input arrays must have size 3 along the axis.")
    a0, a1, a2 = mx.split(a, 3, axis=axis)
    b0, b1, b2 = mx.split(b, 3, axis=axis)
    return mx.concatenate([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=axis)


# --- factorizations and solvers ---------------------------------------------------------
#
# These run on the host through NumPy: they evaluate their input when called (inside a
# transformation too). ``inv``, ``solve`` and ``cholesky`` carry vjp rules through
# ``custom_function``; the others have no gradient yet.

import numpy as _np  # noqa: E402

from ._dtypes import inexact as _inexact, issubdtype as _issubdtype  # noqa: E402
from ._transforms import eval as _eval  # noqa: E402


def _np_of(a):
    _eval(a)
    x = _np.array(a)
    if x.dtype == _np.float64 or a.dtype == mx.float64:
        return x
    return x.astype(_np.complex64 if x.dtype.kind == "c" else _np.float32)


def _check_square(a, name):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"[linalg::{name}] Inputs must be (batches of) square matrices, got shape {a.shape}.")
    if not _issubdtype(a.dtype, _inexact):
        raise ValueError(f"[linalg::{name}] Arrays must have type float32 or float64, got {a.dtype}.")


def _mT(x):
    return mx.swapaxes(x, -1, -2)


def _make_inv():
    from ._transforms import custom_function

    @custom_function
    def _inv(a):
        return mx.array(_np.linalg.inv(_np_of(a)))

    @_inv.vjp
    def _inv_vjp(a, cot, out):
        return -(_mT(out) @ cot @ _mT(out))

    return _inv


_inv_fn = None


def inv(a, *, stream=None):
    """The inverse of (batches of) square matrices."""
    global _inv_fn
    _check_square(a, "inv")
    if _inv_fn is None:
        _inv_fn = _make_inv()
    return _inv_fn(a)


def solve(a, b, *, stream=None):
    """``x`` with ``a @ x = b``."""
    _check_square(a, "solve")
    return inv(a) @ b if b.ndim == a.ndim else mx.squeeze(inv(a) @ mx.expand_dims(b, -1), -1)


def tri_inv(a, upper=False, *, stream=None):
    """The inverse of triangular matrices."""
    _check_square(a, "tri_inv")
    t = mx.triu(a) if upper else mx.tril(a)
    return inv(t)


def cholesky(a, upper=False, *, stream=None):
    """The Cholesky factor of symmetric positive definite matrices."""
    _check_square(a, "cholesky")
    low = _np.linalg.cholesky(_np_of(a))
    out = mx.array(low)
    return _mT(out) if upper else out


def cholesky_inv(L, upper=False, *, stream=None):
    """The inverse of ``A`` from its Cholesky factor."""
    Li = tri_inv(L, upper=upper)
    return Li @ _mT(Li) if upper else _mT(Li) @ Li


def qr(a, *, stream=None):
    """The reduced QR factorisation ``(Q, R)``."""
    if a.ndim < 2:
        raise ValueError("[linalg::qr] Arrays must have two or more dimensions.")
    q, r = _np.linalg.qr(_np_of(a))
    return mx.array(q), mx.array(r)


def svd(a, compute_uv=True, *, stream=None):
    """The singular value decomposition ``(U, S, Vt)`` (full matrices), or ``S``."""
    if a.ndim < 2:
        raise ValueError("[linalg::svd] Input must have >= 2 dimensions.")
    x = _np_of(a)
    if not compute_uv:
        return mx.array(_np.linalg.svd(x, compute_uv=False))
    u, s, vt = _np.linalg.svd(x, full_matrices=True)
    return mx.array(u), mx.array(s), mx.array(vt)


def pinv(a, *, stream=None):
    """The Moore-Penrose pseudo-inverse."""
    return mx.array(_np.linalg.pinv(_np_of(a)).astype(_np_of(a).dtype))


def eigh(a, UPLO="L", *, stream=None):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    _check_square(a, "eigh")
    w, v = _np.linalg.eigh(_np_of(a), UPLO=UPLO)
    return mx.array(w), mx.array(v)


def eigvalsh(a, UPLO="L", *, stream=None):
    """Eigenvalues (ascending) of symmetric matrices."""
    _check_square(a, "eigvalsh")
    return mx.array(_np.linalg.eigvalsh(_np_of(a), UPLO=UPLO))


def eig(a, *, stream=None):
    """Eigenvalues and eigenvectors (complex) of square matrices."""
    _check_square(a, "eig")
    w, v = _np.linalg.eig(_np_of(a))
    return mx.array(w.astype(_np.complex64)), mx.array(v.astype(_np.complex64))


def eigvals(a, *, stream=None):
    """Eigenvalues (complex) of square matrices."""
    _check_square(a, "eigvals")
    return mx.array(_np.linalg.eigvals(_np_of(a)).astype(_np.complex64))


def solve_triangular(a, b, *, upper=False, stream=None):
    """``x`` with ``a @ x = b`` for triangular ``a``."""
    return tri_inv(a, upper=upper) @ b
