"""Quantization against MLX: ``mx.quantize`` / ``mx.dequantize`` bit for bit,
``mx.quantized_matmul`` / ``mx.gather_qmm`` within rounding, gradients, errors, and the
quantized layers of ``mlxr.nn`` (``QuantizedLinear``, ``QuantizedEmbedding``,
``nn.quantize``, ``to_quantized``)."""

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn
from conftest import assert_same, to_np

rng = np.random.default_rng(7)
BITS = [1, 2, 3, 4, 5, 6, 8]


def weights(rows, k):
    w = (rng.standard_normal((rows, k)) * rng.uniform(0.1, 3, (rows, 1))).astype(np.float32)
    w[0, :32] = np.abs(w[0, :32]) + 0.25
    w[1, :32] = 0.75
    return w


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("group_size", [32, 64, 128])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_quantize_dequantize_bitwise(mlx, bits, group_size, dtype):
    w = weights(6, 256)
    ours = mx.quantize(mx.array(w).astype(getattr(mx, dtype)), group_size, bits)
    ref = mlx.quantize(mlx.array(w).astype(getattr(mlx, dtype)), group_size, bits)
    assert len(ours) == 3
    for o, r in zip(ours, ref):
        assert_same(o, r, 0, 0)
    assert_same(mx.dequantize(*ours, group_size, bits), mlx.dequantize(*ref, group_size, bits), 0, 0)


def test_defaults_and_dtype_argument(mlx):
    w = weights(4, 128)
    q, s, b = mx.quantize(mx.array(w))
    rq, rs, rb = mlx.quantize(mlx.array(w))
    assert_same(q, rq, 0, 0)
    assert_same(mx.dequantize(q, s, b, dtype=mx.bfloat16),
                mlx.dequantize(rq, rs, rb, dtype=mlx.bfloat16), 0, 0)
    assert_same(mx.dequantize(q, scales=s, biases=b.astype(mx.float16)),
                mlx.dequantize(rq, scales=rs, biases=rb.astype(mlx.float16)), 0, 0)


CASES = [
    # (x shape, w shape, transpose, group_size, bits)
    ((2, 5, 256), (24, 256), True, 64, 4),
    ((7, 128), (32, 128), True, 32, 3),
    ((3, 128), (128, 64), False, 64, 5),
    ((128,), (16, 128), True, 128, 8),
    ((4, 1, 3, 128), (2, 16, 128), True, 64, 2),
    ((33, 512), (300, 512), True, 64, 6),
    ((5, 64), (64, 256), False, 32, 1),
]


@pytest.mark.parametrize("xs,ws,transpose,group_size,bits", CASES)
def test_quantized_matmul(mlx, xs, ws, transpose, group_size, bits):
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    q = mx.quantize(mx.array(w), group_size, bits)
    rq = mlx.quantize(mlx.array(w), group_size, bits)
    ours = mx.quantized_matmul(mx.array(x), *q, transpose=transpose, group_size=group_size, bits=bits)
    ref = mlx.quantized_matmul(mlx.array(x), *rq, transpose=transpose, group_size=group_size, bits=bits)
    assert_same(ours, ref, 1e-4, 1e-4)


def test_quantized_matmul_layouts_and_dtypes(mlx):
    x = rng.standard_normal((128, 6)).astype(np.float32)
    w = rng.standard_normal((16, 128)).astype(np.float32)
    q = mx.quantize(mx.array(w))
    rq = mlx.quantize(mlx.array(w))
    # Transposed x.
    assert_same(mx.quantized_matmul(mx.array(x).T, *q), mlx.quantized_matmul(mlx.array(x).T, *rq), 1e-4, 1e-4)
    # float16 throughout, and int x promoted.
    q16 = mx.quantize(mx.array(w).astype(mx.float16))
    rq16 = mlx.quantize(mlx.array(w).astype(mlx.float16))
    xi = rng.integers(-3, 4, (3, 128)).astype(np.int32)
    assert_same(mx.quantized_matmul(mx.array(xi), *q16), mlx.quantized_matmul(mlx.array(xi), *rq16), 1e-2, 1e-1)
    assert_same(mx.quantized_matmul(mx.array(x.T).astype(mx.float16), *q16),
                mlx.quantized_matmul(mlx.array(x.T).astype(mlx.float16), *rq16), 1e-2, 5e-2)


def test_gather_qmm(mlx):
    x = rng.standard_normal((3, 2, 128)).astype(np.float32)
    w = rng.standard_normal((4, 16, 128)).astype(np.float32)
    q = mx.quantize(mx.array(w), 32, 4)
    rq = mlx.quantize(mlx.array(w), 32, 4)
    for kw in [dict(rhs_indices=[0, 3, 1]), dict(lhs_indices=[0, 2], rhs_indices=[[1], [3]])]:
        o = mx.gather_qmm(mx.array(x), *q, group_size=32, **{k: mx.array(v) for k, v in kw.items()})
        r = mlx.gather_qmm(mlx.array(x), *rq, group_size=32, **{k: mlx.array(v) for k, v in kw.items()})
        assert_same(o, r, 1e-4, 1e-4)


def test_gradients(mlx):
    x = rng.standard_normal((3, 128)).astype(np.float32)
    w = rng.standard_normal((8, 128)).astype(np.float32)
    q, s, b = mx.quantize(mx.array(w), bits=3)
    rq, rs, rb = mlx.quantize(mlx.array(w), bits=3)

    def f(x, s, b):
        return (mx.quantized_matmul(x, q, s, b, bits=3) ** 2).sum()

    def rf(x, s, b):
        return (mlx.quantized_matmul(x, rq, s, b, bits=3) ** 2).sum()

    ours = mx.grad(f, argnums=(0, 1, 2))(mx.array(x), s, b)
    ref = mlx.grad(rf, argnums=(0, 1, 2))(mlx.array(x), rs, rb)
    assert_same(list(ours), list(ref), 1e-3, 1e-3)
    with pytest.raises(Exception, match="quantized weights|integer"):
        mx.grad(lambda q: mx.quantized_matmul(mx.array(x), q, s, b, bits=3).sum())(q)
    # Through dequantize.
    g = mx.grad(lambda s: (mx.dequantize(q, s, b, bits=3) ** 2).sum())(s)
    rg = mlx.grad(lambda s: (mlx.dequantize(rq, s, rb, bits=3) ** 2).sum())(rs)
    assert_same(g, rg, 1e-4, 1e-3)


def test_errors():
    with pytest.raises(ValueError, match="Only real floating types"):
        mx.quantize(mx.zeros((4, 128), mx.int32))
    with pytest.raises(ValueError, match="divisible by the quantization group size"):
        mx.quantize(mx.zeros((4, 100)))
    with pytest.raises(ValueError, match="at least 2 dimension"):
        mx.quantize(mx.zeros((128,)))
    with pytest.raises(ValueError, match="group size 16 is not supported"):
        mx.quantize(mx.zeros((4, 128)), 16)
    with pytest.raises(ValueError, match="number of bits 7"):
        mx.quantize(mx.zeros((4, 128)), bits=7)
    q, s, b = mx.quantize(mx.zeros((8, 128)))
    with pytest.raises(ValueError, match="Biases must be provided"):
        mx.quantized_matmul(mx.zeros((2, 128)), q, s)
    with pytest.raises(ValueError, match="does not match the expanded quantized matrix"):
        mx.quantized_matmul(mx.zeros((2, 64)), q, s, b)
    with pytest.raises(ValueError, match="should be uint32"):
        mx.quantized_matmul(mx.zeros((2, 128)), q.astype(mx.int32), s, b)
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        mx.quantize(mx.zeros((4, 128)), mode="int4")


def test_quantized_linear_and_embedding(mlx):
    import mlx.nn as mnn

    lin = nn.Linear(128, 16)
    ql = lin.to_quantized(group_size=32, bits=8)
    assert isinstance(ql, nn.QuantizedLinear)
    assert sorted(ql.parameters().keys()) == ["bias", "biases", "scales", "weight"]
    assert ql.trainable_parameters() == {}
    # Same weights in MLX.
    rl = mnn.Linear(128, 16)
    rl.update({k: mlx.array(to_np(v)) for k, v in lin.parameters().items()})
    rql = rl.to_quantized(group_size=32, bits=8)
    for k in ["weight", "scales", "biases", "bias"]:
        assert_same(ql[k], rql[k], 0, 0)
    x = rng.standard_normal((2, 128)).astype(np.float32)
    assert_same(ql(mx.array(x)), rql(mlx.array(x)), 1e-4, 1e-4)

    emb = nn.Embedding(10, 64)
    qe = emb.to_quantized()
    assert isinstance(qe, nn.QuantizedEmbedding)
    re = mnn.Embedding(10, 64)
    re.update({"weight": mlx.array(to_np(emb.weight))})
    rqe = re.to_quantized()
    idx = np.array([[1, 9], [0, 1]], dtype=np.int32)
    assert_same(qe(mx.array(idx)), rqe(mlx.array(idx)), 0, 0)
    assert_same(qe.as_linear(mx.array(x[:, :64])), rqe.as_linear(mlx.array(x[:, :64])), 1e-4, 1e-4)
    q2 = nn.QuantizedLinear(64, 8, bias=False, bits=2)
    assert q2.weight.shape == (8, 4) and "bias" not in q2


def test_nn_quantize():
    model = nn.Sequential(nn.Embedding(12, 64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    nn.quantize(model, group_size=32, bits=4,
                class_predicate=lambda p, m: isinstance(m, nn.Linear) and m.weight.shape[0] > 8)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Embedding", "QuantizedLinear", "ReLU", "Linear"]
    nn.quantize(model)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["QuantizedEmbedding", "QuantizedLinear", "ReLU", "QuantizedLinear"]
    assert model.layers[1].group_size == 32 and model.layers[3].group_size == 64
    y = model(mx.array([[1, 2, 3]]))
    assert y.shape == (1, 3, 8)


# ---- float modes (mxfp4, mxfp8, nvfp4) ---------------------------------------------------

FLOAT_MODES = [("mxfp4", 32, 4), ("mxfp8", 32, 8), ("nvfp4", 16, 4)]


@pytest.mark.parametrize("mode,group_size,bits", FLOAT_MODES)
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_float_modes_bitwise(mlx, mode, group_size, bits, dtype):
    w = weights(5, 128)
    w[2, :16] = 0.0
    w[3, 5] = 1e4
    ours = mx.quantize(mx.array(w).astype(getattr(mx, dtype)), mode=mode)
    ref = mlx.quantize(mlx.array(w).astype(getattr(mlx, dtype)), mode=mode)
    assert len(ours) == len(ref) == 2
    for o, r in zip(ours, ref):
        assert o.dtype == getattr(mx, str(r.dtype).split(".")[-1])
        assert_same(o, r, 0, 0)
    for dt in [None, "float32", "float16"]:
        kw = {} if dt is None else {"dtype": getattr(mx, dt)}
        rkw = {} if dt is None else {"dtype": getattr(mlx, dt)}
        assert_same(mx.dequantize(*ours, mode=mode, **kw), mlx.dequantize(*ref, mode=mode, **rkw), 0, 0)
    # Explicit group_size / bits equal to the mode's own.
    again = mx.quantize(mx.array(w).astype(getattr(mx, dtype)), group_size, bits, mode=mode)
    assert_same(again[0], ref[0], 0, 0)


def test_nvfp4_global_scale(mlx):
    w = weights(4, 64) * 50
    g = float(np.abs(w).max())
    ours = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(g))
    ref = mlx.quantize(mlx.array(w), mode="nvfp4", global_scale=mlx.array(g))
    for o, r in zip(ours, ref):
        assert_same(o, r, 0, 0)
    assert_same(mx.dequantize(*ours, mode="nvfp4", global_scale=mx.array(g)),
                mlx.dequantize(*ref, mode="nvfp4", global_scale=mlx.array(g)), 0, 0)
    with pytest.raises(ValueError):
        mx.quantize(mx.array(w), mode="mxfp4", global_scale=mx.array(g))


@pytest.mark.parametrize("mode,group_size,bits", FLOAT_MODES)
def test_float_mode_products(mlx, mode, group_size, bits):
    x = rng.standard_normal((3, 2, 128)).astype(np.float32)
    w = rng.standard_normal((24, 128)).astype(np.float32)
    q = mx.quantize(mx.array(w), mode=mode)
    rq = mlx.quantize(mlx.array(w), mode=mode)
    assert_same(mx.quantized_matmul(mx.array(x), *q, mode=mode),
                mlx.quantized_matmul(mlx.array(x), *rq, mode=mode), 1e-4, 1e-4)
    xt = rng.standard_normal((5, 24)).astype(np.float32)
    assert_same(mx.quantized_matmul(mx.array(xt), *q, transpose=False, mode=mode),
                mlx.quantized_matmul(mlx.array(xt), *rq, transpose=False, mode=mode), 1e-4, 1e-4)
    w3 = rng.standard_normal((3, 16, 128)).astype(np.float32)
    q3 = mx.quantize(mx.array(w3), mode=mode)
    rq3 = mlx.quantize(mlx.array(w3), mode=mode)
    o = mx.gather_qmm(mx.array(x), *q3, rhs_indices=mx.array([2, 0, 1]), mode=mode)
    r = mlx.gather_qmm(mlx.array(x), *rq3, rhs_indices=mlx.array([2, 0, 1]), mode=mode)
    assert_same(o, r, 1e-4, 1e-4)


@pytest.mark.parametrize("mode", ["mxfp4", "mxfp8", "nvfp4"])
def test_float_mode_layers(mlx, mode):
    import mlx.nn as mnn

    lin = nn.Linear(64, 16, bias=False)
    ql = lin.to_quantized(mode=mode)
    rl = mnn.Linear(64, 16, bias=False)
    rl.update({"weight": mlx.array(to_np(lin.weight))})
    rql = rl.to_quantized(mode=mode)
    assert sorted(ql.parameters().keys()) == sorted(rql.parameters().keys())
    for k in rql.parameters().keys():
        assert_same(ql[k], rql[k], 0, 0)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    assert_same(ql(mx.array(x)), rql(mlx.array(x)), 1e-4, 1e-4)


def test_float_mode_errors():
    w = mx.array(weights(2, 64))
    with pytest.raises(ValueError):
        mx.quantize(w, 64, 4, mode="mxfp4")  # mxfp4 takes group size 32 only
    with pytest.raises(ValueError):
        mx.quantize(w, 32, 8, mode="mxfp4")
    q, s = mx.quantize(w, mode="mxfp8")
    with pytest.raises(ValueError):
        mx.dequantize(q, s, mx.zeros_like(s), mode="mxfp8")  # no biases in float modes
