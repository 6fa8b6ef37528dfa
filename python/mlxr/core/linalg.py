"""``mlxr.core.linalg``: norms and the cross product (composed from ops) and the
factorizations / solvers and determinants of the Rust core (lazy, batched,
differentiable where noted)."""

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
# Rust core primitives (Inverse, Cholesky, Eigh, SVD, QRF, LUF, Eig): lazy, batched,
# float32/float64. inv, tri_inv, solve, solve_triangular, cholesky, cholesky_inv, eigh,
# eigvalsh, svd, qr and pinv are differentiable (MLX 0.32 has no gradients for these);
# lu, lu_factor, eig and eigvals are not.


def _one(name, a, b=None, flag=False, uplo="L", stream=None):
    return mx._linalg(name, a, b, flag, uplo, stream=stream)


def inv(a, *, stream=None):
    """The inverse of (batches of) square matrices."""
    return _one("inv", a, stream=stream)[0]


def tri_inv(a, upper=False, *, stream=None):
    """The inverse of triangular matrices (the lower or ``upper`` triangle is read)."""
    return _one("tri_inv", a, flag=upper, stream=stream)[0]


def solve(a, b, *, stream=None):
    """``x`` with ``a @ x = b``."""
    return _one("solve", a, b, stream=stream)[0]


def solve_triangular(a, b, *, upper=False, stream=None):
    """``x`` with ``a @ x = b`` for triangular ``a``."""
    return _one("solve_triangular", a, b, flag=upper, stream=stream)[0]


def cholesky(a, upper=False, *, stream=None):
    """The Cholesky factor of symmetric positive definite matrices."""
    return _one("cholesky", a, flag=upper, stream=stream)[0]


def cholesky_inv(L, upper=False, *, stream=None):
    """The inverse of ``A`` from its Cholesky factor."""
    return _one("cholesky_inv", L, flag=upper, stream=stream)[0]


def qr(a, *, stream=None):
    """The reduced QR factorisation ``(Q, R)``."""
    q, r = _one("qr", a, stream=stream)
    return q, r


def svd(a, compute_uv=True, *, stream=None):
    """The singular value decomposition ``(U, S, Vt)`` (full matrices), or ``S``."""
    out = _one("svd", a, flag=compute_uv, stream=stream)
    return tuple(out) if compute_uv else out[0]


def pinv(a, *, stream=None):
    """The Moore-Penrose pseudo-inverse."""
    return _one("pinv", a, stream=stream)[0]


def eigh(a, UPLO="L", *, stream=None):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    w, v = _one("eigh", a, uplo=UPLO, stream=stream)
    return w, v


def eigvalsh(a, UPLO="L", *, stream=None):
    """Eigenvalues (ascending) of symmetric matrices."""
    return _one("eigvalsh", a, uplo=UPLO, stream=stream)[0]


def eig(a, *, stream=None):
    """Eigenvalues and eigenvectors (complex) of square matrices."""
    w, v = _one("eig", a, stream=stream)
    return w, v


def eigvals(a, *, stream=None):
    """Eigenvalues (complex) of square matrices."""
    return _one("eigvals", a, stream=stream)[0]


def lu(a, *, stream=None):
    """``(P, L, U)`` with ``A = L[P] @ U``."""
    p, l, u = _one("lu", a, stream=stream)
    return p, l, u


def lu_factor(a, *, stream=None):
    """``(LU, pivots)`` in LAPACK's packed form."""
    lu_, piv = _one("lu_factor", a, stream=stream)
    return lu_, piv


# --- determinants (compositions in the Rust core, as in MLX: cofactor expansion up to
# 3x3 — differentiable —, the LU factorization above) -----------------------------------


def det(a, *, stream=None):
    """Compute the determinant of a square matrix.

    This function supports arrays with at least 2 dimensions. When the
    input has more than two dimensions, the determinant is computed for
    each matrix in the last two dimensions.

    Args:
        a (array): Input array.
        stream (Stream, optional): Stream or device. Defaults to ``None``
          in which case the default stream of the default device is used.

    Returns:
        array: The determinant(s) of the input matrix (matrices).

    Example:
        >>> A = mx.array([[1., 2.], [3., 4.]])
        >>> mx.linalg.det(A, stream=mx.cpu)
        array(-2, dtype=float32)
    """
    return _one("det", a, stream=stream)[0]


def slogdet(a, *, stream=None):
    """Compute the sign and natural log of the absolute value of the
    determinant of a square matrix.

    This function supports arrays with at least 2 dimensions. When the
    input has more than two dimensions, the sign and log-absolute-determinant
    are computed for each matrix in the last two dimensions.

    For a singular matrix, ``sign`` is 0 and ``logabsdet`` is ``-inf``.

    The determinant can be reconstructed as ``det = sign * exp(logabsdet)``.
    This is more numerically stable than computing the determinant directly
    for matrices with large or small determinants.

    Args:
        a (array): Input array.
        stream (Stream, optional): Stream or device. Defaults to ``None``
          in which case the default stream of the default device is used.

    Returns:
        tuple(array, array): The ``sign`` and ``logabsdet`` of the
          determinant. ``sign`` is -1, 0, or +1. ``logabsdet`` is the
          natural log of the absolute value of the determinant.

    Example:
        >>> A = mx.array([[1., 2.], [3., 4.]])
        >>> sign, logabsdet = mx.linalg.slogdet(A, stream=mx.cpu)
        >>> sign
        array(-1, dtype=float32)
        >>> logabsdet
        array(0.693147, dtype=float32)
    """
    sign, logabsdet = _one("slogdet", a, stream=stream)
    return sign, logabsdet
