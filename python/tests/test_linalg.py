"""``mx.linalg`` against MLX (on its CPU stream)."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

rng = np.random.default_rng(13)
A = rng.standard_normal((4, 4)).astype(np.float32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)
B = rng.standard_normal((4, 2)).astype(np.float32)
V = rng.standard_normal((5, 3)).astype(np.float32)

CASES = {
    "norm": lambda m, s: m.linalg.norm(m.array(A)),
    "norm_axis": lambda m, s: m.linalg.norm(m.array(A), ord=1, axis=1),
    "cross": lambda m, s: m.linalg.cross(m.array(V), m.array(np.ascontiguousarray(V[::-1]))),
    "inv": lambda m, s: m.linalg.inv(m.array(SPD), stream=s),
    "solve": lambda m, s: m.linalg.solve(m.array(SPD), m.array(B), stream=s),
    "tri_inv": lambda m, s: m.linalg.tri_inv(m.array(SPD), upper=True, stream=s),
    "cholesky": lambda m, s: m.linalg.cholesky(m.array(SPD), stream=s),
    "cholesky_inv": lambda m, s: m.linalg.cholesky_inv(m.linalg.cholesky(m.array(SPD), stream=s), stream=s),
    "eigvalsh": lambda m, s: m.linalg.eigvalsh(m.array(SPD), stream=s),
    "svd_s": lambda m, s: m.linalg.svd(m.array(A), compute_uv=False, stream=s),
    "pinv": lambda m, s: m.linalg.pinv(m.array(A[:, :3]), stream=s),
    "solve_triangular": lambda m, s: m.linalg.solve_triangular(m.triu(m.array(SPD)), m.array(B), upper=True, stream=s),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_linalg(name, mlx):
    assert_same(CASES[name](mx, mx.cpu), CASES[name](mlx, mlx.cpu), rtol=1e-4, atol=1e-4)


def test_factorizations_reconstruct():
    q, r = mx.linalg.qr(mx.array(A))
    np.testing.assert_allclose(np.array(q @ r), A, atol=1e-5)
    u, s, vt = mx.linalg.svd(mx.array(A))
    np.testing.assert_allclose(np.array((u * s) @ vt), A, atol=1e-5)
    w, v = mx.linalg.eigh(mx.array(SPD))
    np.testing.assert_allclose(np.array(v @ mx.diag(w) @ v.T), SPD, atol=1e-4)


def test_inv_grad():
    """d/dA sum(inv(A) * C) = -inv(A)^T C inv(A)^T (MLX 0.32 has no vjp for inv)."""
    C = B[:, :1]
    g = mx.grad(lambda a: mx.sum(mx.linalg.inv(a) * mx.array(C)))(mx.array(SPD))
    Ai = np.linalg.inv(SPD.astype(np.float64))
    expected = -Ai.T @ np.broadcast_to(C, (4, 4)) @ Ai.T
    np.testing.assert_allclose(np.array(g), expected, rtol=1e-4, atol=1e-5)


def test_shapes_and_dtypes_like_mlx(mlx):
    """Output shapes/dtypes of every factorization match MLX (values are compared by
    reconstruction where factors are not unique)."""
    W = rng.standard_normal((2, 4, 3)).astype(np.float64)
    for name, f in {
        "qr": lambda m, a: m.linalg.qr(a, stream=m.cpu),
        "svd": lambda m, a: m.linalg.svd(a, stream=m.cpu),
        "lu": lambda m, a: m.linalg.lu(a, stream=m.cpu),
        "lu_factor": lambda m, a: m.linalg.lu_factor(a, stream=m.cpu),
        "eig": lambda m, a: m.linalg.eig(a[..., :3, :], stream=m.cpu),
        "eigh": lambda m, a: m.linalg.eigh(a[..., :3, :], stream=m.cpu),
    }.items():
        ours, ref = f(mx, mx.array(W)), f(mlx, mlx.array(W))
        assert [(tuple(o.shape), repr(o.dtype).split(".")[-1]) for o in ours] == \
            [(tuple(r.shape), repr(r.dtype).split(".")[-1]) for r in ref], name
    p, l, u = mx.linalg.lu(mx.array(W))
    rec = np.take_along_axis(np.array(l), np.array(p)[..., None].astype(np.int64), axis=-2) @ np.array(u)
    np.testing.assert_allclose(rec, W, atol=1e-5)
    w, v = mx.linalg.eig(mx.array(SPD))
    np.testing.assert_allclose(np.sort(np.array(w).real), np.linalg.eigvalsh(SPD), rtol=1e-4)


@pytest.mark.parametrize("name", ["solve", "cholesky", "eigvalsh", "svd_s", "qr"])
def test_grad_finite_differences(name):
    """Gradients of the Rust factorizations against central differences (float64)."""
    S64 = SPD.astype(np.float64)
    f = {
        "solve": lambda a: mx.sum(mx.linalg.solve(a, mx.array(B, dtype=mx.float64)) ** 2),
        "cholesky": lambda a: mx.sum(mx.linalg.cholesky(a) * mx.array(S64, dtype=mx.float64)),
        "eigvalsh": lambda a: mx.sum(mx.linalg.eigvalsh(a) ** 3),
        "svd_s": lambda a: mx.sum(mx.linalg.svd(a, compute_uv=False) ** 3),
        "qr": lambda a: mx.sum(mx.linalg.qr(a)[1] * mx.array(S64, dtype=mx.float64)),
    }[name]
    g = np.array(mx.grad(f)(mx.array(S64, dtype=mx.float64)))
    h = 1e-6
    fd = np.zeros_like(S64)
    for i in range(4):
        for j in range(4):
            e = np.zeros_like(S64)
            e[i, j] = h
            fd[i, j] = (f(mx.array(S64 + e, dtype=mx.float64)).item() - f(mx.array(S64 - e, dtype=mx.float64)).item()) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)
