"""A parametrised sweep of ``mlxr.core`` ops against MLX on random inputs (contiguous,
transposed, strided and broadcast), plus a report of MLX names missing from mlxr."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

rng = np.random.default_rng(42)
X = rng.standard_normal((4, 6)).astype(np.float32)
P = (np.abs(X) + 0.1).astype(np.float32)
U = np.clip(X / 4, -0.9, 0.9).astype(np.float32)
I = rng.integers(-5, 6, (4, 6)).astype(np.int32)


def layouts(x):
    """The same values as contiguous, transposed-back and strided arrays."""
    yield "contiguous", lambda m: m.array(x)
    yield "transposed", lambda m: m.array(np.ascontiguousarray(x.T)).T
    big = np.repeat(x, 2, axis=1)
    yield "strided", lambda m: m.array(big)[:, ::2]


UNARY = {
    "abs": X, "negative": X, "sign": X, "exp": X, "expm1": X, "log": P, "log1p": P, "log2": P,
    "log10": P, "sqrt": P, "rsqrt": P, "square": X, "reciprocal": P, "sin": X, "cos": X,
    "tan": U, "arcsin": U, "arccos": U, "arctan": X, "sinh": X, "cosh": X, "tanh": X,
    "arcsinh": X, "arccosh": P + 1, "arctanh": U, "sigmoid": X, "erf": X, "erfinv": U,
    "floor": X * 3, "ceil": X * 3, "isnan": X, "isinf": X, "isfinite": X, "degrees": X,
    "radians": X, "logical_not": X > 0, "bitwise_invert": I, "stop_gradient": X,
    "trunc": X * 3, "round": X * 3, "isposinf": X, "isneginf": X,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, mlx):
    for _, make in layouts(UNARY[name]):
        assert_same(getattr(mx, name)(make(mx)), getattr(mlx, name)(make(mlx)), rtol=2e-5, atol=2e-6)


BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "arctan2",
          "logaddexp", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
          "floor_divide", "remainder"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcast(name, mlx):
    a = P if name == "power" else X
    b = rng.standard_normal((6,)).astype(np.float32)
    ours = getattr(mx, name)(mx.array(a).T[::-1], mx.array(b[:4]))
    ref = getattr(mlx, name)(mlx.array(a).T[::-1], mlx.array(b[:4]))
    assert_same(ours, ref, rtol=1e-5, atol=1e-6)
    # Scalars on either side.
    assert_same(getattr(mx, name)(mx.array(a), 2.0), getattr(mlx, name)(mlx.array(a), 2.0), rtol=1e-5)
    assert_same(getattr(mx, name)(3, mx.array(a)), getattr(mlx, name)(3, mlx.array(a)), rtol=1e-5)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                                  "right_shift", "logical_and", "logical_or"])
def test_integer_binary(name, mlx):
    a = rng.integers(0, 16, (3, 4)).astype(np.int32)
    b = rng.integers(0, 4, (4,)).astype(np.int32)
    if name.startswith("logical"):
        a, b = a > 7, b > 1
    assert_same(getattr(mx, name)(mx.array(a), mx.array(b)), getattr(mlx, name)(mlx.array(a), mlx.array(b)))


REDUCE = ["sum", "prod", "max", "min", "mean", "logsumexp", "all", "any", "var", "std", "median"]


@pytest.mark.parametrize("name", REDUCE)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims, mlx):
    if name == "median" and axis == (0, 1):
        axis = None
    for _, make in layouts(X):
        ours = getattr(mx, name)(make(mx), axis=axis, keepdims=keepdims)
        ref = getattr(mlx, name)(make(mlx), axis=axis, keepdims=keepdims)
        assert_same(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dt", ["int8", "uint8", "int32", "float16", "bfloat16", "float32", "bool_"])
def test_sum_dtypes(dt, mlx):
    a = mx.array(I).astype(getattr(mx, dt))
    b = mlx.array(I).astype(getattr(mlx, dt))
    assert_same(mx.sum(a, axis=1), mlx.sum(b, axis=1), rtol=1e-2)
    assert_same(mx.max(a), mlx.max(b))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_arg_reductions(name, axis, mlx):
    assert_same(getattr(mx, name)(mx.array(X), axis=axis), getattr(mlx, name)(mlx.array(X), axis=axis))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("inclusive", [False, True])
def test_scans(name, reverse, inclusive, mlx):
    ours = getattr(mx, name)(mx.array(U), axis=1, reverse=reverse, inclusive=inclusive)
    ref = getattr(mlx, name)(mlx.array(U), axis=1, reverse=reverse, inclusive=inclusive)
    assert_same(ours, ref, rtol=1e-5, atol=1e-6)


def _both(mlx, fn):
    return fn(mx), fn(mlx)


CASES = {
    "reshape": lambda m: m.reshape(m.array(X), (3, 8)),
    "transpose": lambda m: m.transpose(m.array(X)),
    "transpose_axes": lambda m: m.transpose(m.array(X).reshape(2, 2, 6), (2, 0, 1)),
    "broadcast_to": lambda m: m.broadcast_to(m.array(X[0]), (3, 6)),
    "expand_dims": lambda m: m.expand_dims(m.array(X), (0, 2)),
    "squeeze": lambda m: m.squeeze(m.array(X).reshape(1, 4, 1, 6)),
    "flatten": lambda m: m.flatten(m.array(X).reshape(2, 2, 6), 1),
    "unflatten": lambda m: m.unflatten(m.array(X), 1, (2, 3)),
    "swapaxes": lambda m: m.swapaxes(m.array(X), 0, 1),
    "moveaxis": lambda m: m.moveaxis(m.array(X).reshape(2, 2, 6), 0, 2),
    "concatenate": lambda m: m.concatenate([m.array(X), m.array(P)], axis=1),
    "concatenate_none": lambda m: m.concatenate([m.array(X), m.array(P)], axis=None),
    "stack": lambda m: m.stack([m.array(X), m.array(P)], axis=1),
    "split": lambda m: m.split(m.array(X), 3, axis=1),
    "split_idx": lambda m: m.split(m.array(X), [1, 4], axis=1),
    "tile": lambda m: m.tile(m.array(X), (2, 1)),
    "repeat": lambda m: m.repeat(m.array(X), 2, axis=0),
    "pad": lambda m: m.pad(m.array(X), [(1, 2), (0, 1)]),
    "pad_edge": lambda m: m.pad(m.array(X), 2, mode="edge"),
    "roll": lambda m: m.roll(m.array(X), 2, axis=1),
    "diagonal": lambda m: m.diagonal(m.array(X), 1),
    "diag": lambda m: m.diag(m.array(X[0])),
    "trace": lambda m: m.trace(m.array(X)),
    "flip": lambda m: m.flip(m.array(X), axis=1),
    "softmax": lambda m: m.softmax(m.array(X), axis=-1),
    "sort": lambda m: m.sort(m.array(X), axis=0),
    "argsort": lambda m: m.argsort(m.array(X)),
    "topk": lambda m: m.sort(m.topk(m.array(X), 2, axis=1), axis=1),
    "where": lambda m: m.where(m.array(X) > 0, m.array(X), 0.0),
    "clip": lambda m: m.clip(m.array(X), -0.5, 0.5),
    "isclose": lambda m: m.isclose(m.array(X), m.array(X) + 1e-7),
    "allclose": lambda m: m.allclose(m.array(X), m.array(X)),
    "array_equal": lambda m: m.array_equal(m.array(X), m.array(X)),
    "matmul": lambda m: m.matmul(m.array(X), m.array(P).T),
    "matmul_op": lambda m: m.array(X).T @ m.array(P),
    "addmm": lambda m: m.addmm(m.array(X[:, :4]), m.array(X), m.array(P).T, alpha=0.5, beta=2.0),
    "tensordot": lambda m: m.tensordot(m.array(X), m.array(P), axes=([1], [1])),
    "inner": lambda m: m.inner(m.array(X), m.array(P)),
    "outer": lambda m: m.outer(m.array(X[0]), m.array(P[1])),
    "kron": lambda m: m.kron(m.array(X[:2, :2]), m.array(P[:2, :3])),
    "einsum": lambda m: m.einsum("ij,kj->ik", m.array(X), m.array(P)),
    "take": lambda m: m.take(m.array(X), m.array([0, 2, 2]), axis=1),
    "take_int": lambda m: m.take(m.array(X), 1, axis=0),
    "take_along_axis": lambda m: m.take_along_axis(m.array(X), m.argsort(m.array(X), axis=1), axis=1),
    "put_along_axis": lambda m: m.put_along_axis(m.array(X), m.array([[0], [1], [2], [3]]), m.array(9.0), axis=1),
    "zeros": lambda m: m.zeros((2, 3)),
    "ones_int": lambda m: m.ones((2,), dtype=m.int32),
    "full": lambda m: m.full((2, 3), 2.5),
    "full_arr": lambda m: m.full((2, 3), m.array([1, 2, 3])),
    "zeros_like": lambda m: m.zeros_like(m.array(I)),
    "arange": lambda m: m.arange(10),
    "arange3": lambda m: m.arange(1, 10, 2),
    "arange_f": lambda m: m.arange(0.0, 1.0, 0.25),
    "arange_dtype": lambda m: m.arange(5, dtype=m.float32),
    "linspace": lambda m: m.linspace(0, 1, 7),
    "eye": lambda m: m.eye(3, 4, k=1),
    "identity": lambda m: m.identity(3),
    "tri": lambda m: m.tri(3, 4, 1),
    "tril": lambda m: m.tril(m.array(X)),
    "triu": lambda m: m.triu(m.array(X), -1),
    "meshgrid": lambda m: m.meshgrid(m.array([1, 2]), m.array([3, 4, 5])),
    "nan_to_num": lambda m: m.nan_to_num(m.array([np.nan, np.inf, 1.0])),
    "divmod": lambda m: m.divmod(m.array(I), 3),
    "atleast_2d": lambda m: m.atleast_2d(m.array(1.0)),
    "searchsorted": lambda m: m.searchsorted(m.array([1.0, 2.0, 3.0]), m.array([0.5, 2.0, 4.0])),
    "diff": lambda m: m.diff(m.array(X), axis=1),
    "partition": lambda m: m.sort(m.partition(m.array(X), 2, axis=1), axis=1),
    "count_nonzero": lambda m: m.count_nonzero(m.array(I), axis=1),
    "astype": lambda m: m.astype(m.array(X), m.int32),
    "view": lambda m: m.view(m.array(X), m.int32),
    "stop_gradient": lambda m: m.stop_gradient(m.array(X)),
    "as_strided": lambda m: m.as_strided(m.array(X), (3, 3), (6, 1), 1),
    "broadcast_arrays": lambda m: m.broadcast_arrays(m.array(X), m.array(X[0])),
    "convolve": lambda m: m.convolve(m.array(X[0]), m.array(P[0, :3])),
    "unstack": lambda m: m.unstack(m.array(X), axis=1),
    "permute_dims": lambda m: m.permute_dims(m.array(X), (1, 0)),
    "matrix_transpose": lambda m: m.matrix_transpose(m.array(X)),
    "minmax": lambda m: m.minmax(m.array(X), axis=0),
    "gather_mm": lambda m: m.gather_mm(m.array(X).reshape(2, 2, 6), m.array(P).reshape(2, 6, 2),
                                       m.array([1, 0, 1]), m.array([0, 0, 1])),
    "gather_mm_nobatch": lambda m: m.gather_mm(m.array(X), m.array(P).T),
    "hadamard": lambda m: m.hadamard_transform(m.array(X[:, :4])),
    "hadamard_scale": lambda m: m.hadamard_transform(m.array(np.ones((2, 8), np.float32)), scale=0.5),
    "unique": lambda m: m.unique(m.array([[3, 1, 2], [3, 5, 1]]), 6),
    "unique_trunc": lambda m: m.unique(m.array([[3, 1, 2], [3, 5, 1]]), 3),
    "unique_all": lambda m: list(m.unique(m.array([[3, 1, 2], [3, 5, 1]]), 6, True, True, True)),
    "unique_small": lambda m: list(m.unique(m.array([2, 1, 2, 3, 1]), 2, True, True, True)),
    "unique_fill": lambda m: list(m.unique(m.array([2, 1, 2, 3, 1]), 4, True, True, True, fill_value=0)),
    "unique_nan": lambda m: list(m.unique(m.array([2.0, np.nan, 1.0, np.nan]), 4, return_counts=True)),
    "unique_float": lambda m: m.unique(m.array(np.round(X * 2)), 30),
    "vecdot": lambda m: m.vecdot(m.array(X), m.array(P)),
    "linalg_norm": lambda m: m.linalg.norm(m.array(X), axis=1),
    "fast_rms_norm": lambda m: m.fast.rms_norm(m.array(X), m.array(P[0]), 1e-5),
    "fast_layer_norm": lambda m: m.fast.layer_norm(m.array(X), m.array(P[0]), m.array(X[0]), 1e-5),
    "fast_rope": lambda m: m.fast.rope(m.array(X).reshape(1, 4, 6), 4, traditional=False, base=10000.0, scale=1.0, offset=2),
    "fast_rope_trad": lambda m: m.fast.rope(m.array(X).reshape(1, 4, 6), 6, traditional=True, base=10000.0, scale=1.0, offset=0),
    "fast_sdpa": lambda m: m.fast.scaled_dot_product_attention(
        m.array(X).reshape(1, 2, 2, 6), m.array(P).reshape(1, 2, 2, 6), m.array(U).reshape(1, 2, 2, 6), scale=0.5, mask="causal"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_cases(name, mlx):
    ours, ref = _both(mlx, CASES[name])
    if isinstance(ref, tuple):
        ref, ours = list(ref), list(ours)
    assert_same(ours, ref, rtol=1e-4, atol=1e-5)


def test_missing_names_report(mlx):
    """Lists the public names of mlx.core that mlxr.core lacks (does not fail)."""
    theirs = {n for n in dir(mlx) if not n.startswith("_")}
    ours = {n for n in dir(mx) if not n.startswith("_")}
    missing = sorted(theirs - ours)
    print(f"\nmlx.core coverage: {len(theirs) - len(missing)}/{len(theirs)} public names; "
          f"missing ({len(missing)}): {', '.join(missing)}")
    import importlib
    for sub in ["nn", "nn.losses", "nn.init", "optimizers", "utils"]:
        try:
            t = importlib.import_module(f"mlx.{sub}")
        except ImportError:
            continue
        o = importlib.import_module(f"mlxr.{sub}")
        theirs = {n for n in dir(t) if not n.startswith("_") and not isinstance(getattr(t, n), type(importlib))
                  and getattr(getattr(t, n), "__module__", "mlx").startswith("mlx")}
        miss = sorted(n for n in theirs if not hasattr(o, n))
        print(f"mlx.{sub} coverage: {len(theirs) - len(miss)}/{len(theirs)}; missing: {', '.join(miss)}")
