"""The last MLX 0.32 names of ``mlxr.core`` / ``mlxr.nn`` against MLX: ``qqmm`` and
``gather_qqmm``, ``nn.QQLinear`` (and ``quantize_input``), the quantized sharded linear
layers, ``nn.fully_shard`` / ``nn.FullyShardedModule`` (single-process group) and the
``nn.embedding`` / ``nn.convolution_transpose`` submodules.

MLX's CPU build does not evaluate ``QQMatmul`` ("NYI for the general case"), so the
``qqmm`` values are checked against its math: MLX's own ``quantize`` / ``dequantize``
followed by a NumPy matmul. MLX's graph-construction checks are compared directly."""

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn
from mlxr.utils import tree_flatten
from conftest import assert_same, to_np


def _mnn(mlx):
    import mlx.nn as mnn
    return mnn


def _rand(shape, seed, lo=-2.0, hi=2.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32)


def _fq(mlx, a, mode, gs=None):
    """MLX's ``dequantize(quantize(a))`` along the last axis, as float32 NumPy."""
    a = np.asarray(a, np.float32)
    flat = a.reshape(-1, a.shape[-1])
    g = None if gs is None else mlx.array(np.float32(gs))
    r = mlx.quantize(mlx.array(flat), mode=mode, global_scale=g)
    d = mlx.dequantize(r[0], r[1], r[2] if len(r) > 2 else None, mode=mode,
                       global_scale=g, dtype=mlx.float32)
    return np.array(d).reshape(a.shape)


MODES = ["nvfp4", "mxfp8", "mxfp4", "affine"]


# --- qqmm / gather_qqmm ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("xshape", [(8, 64), (2, 3, 64), (64,)])
def test_qqmm_matches_mlx_math(mlx, mode, xshape):
    x, w = _rand(xshape, 1), _rand((32, 64), 2)
    y = mx.qqmm(mx.array(x), mx.array(w), mode=mode)
    ref = (_fq(mlx, x, mode) @ _fq(mlx, w, mode).T)
    # MLX builds the same graph (shape and dtype); only its evaluation is NYI on the CPU.
    m = mlx.qqmm(mlx.array(x), mlx.array(w), mode=mode)
    assert tuple(y.shape) == tuple(m.shape) == ref.shape
    assert_same(y, ref.astype(np.float32), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8", "mxfp4"])
def test_qqmm_packed_weight(mlx, mode):
    x, w = _rand((8, 64), 3), _rand((32, 64), 4)
    wq, s = mlx.quantize(mlx.array(w), mode=mode)
    y = mx.qqmm(mx.array(x), mx.array(np.array(wq)), mx.array(np.array(s)), mode=mode)
    ref = _fq(mlx, x, mode) @ _fq(mlx, w, mode).T
    assert_same(y, ref, rtol=1e-5, atol=1e-4)


def test_qqmm_global_scales(mlx):
    x, w = _rand((8, 64), 5), _rand((32, 64), 6)
    gx, gw = 3.5, 7.0
    ref = _fq(mlx, x, "nvfp4", gx) @ _fq(mlx, w, "nvfp4", gw).T
    y = mx.qqmm(mx.array(x), mx.array(w), global_scale_x=mx.array(gx),
                global_scale_w=mx.array(gw))
    assert_same(y, ref, rtol=1e-5, atol=1e-4)
    wq, s = mx.quantize(mx.array(w), mode="nvfp4", global_scale=mx.array(gw))
    y = mx.qqmm(mx.array(x), wq, s, global_scale_x=mx.array(gx), global_scale_w=mx.array(gw))
    assert_same(y, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_qqmm_dtype_follows_x(mlx, dt):
    x, w = _rand((4, 64), 7), _rand((32, 64), 8)
    y = mx.qqmm(mx.array(x).astype(getattr(mx, dt)), mx.array(w))
    m = mlx.qqmm(mlx.array(x).astype(getattr(mlx, dt)), mlx.array(w))
    assert repr(y.dtype).split(".")[-1] == repr(m.dtype).split(".")[-1] == dt


def _errors(mlx):
    """Argument sets MLX rejects when building the graph: (x, w, kwargs)."""
    x, w = _rand((4, 64), 9), _rand((32, 64), 10)
    wq, s = mlx.quantize(mlx.array(w), mode="nvfp4")
    wq, s = np.array(wq), np.array(s)
    return [
        (x, _rand((32, 63), 1), {}),
        (x.astype(np.int32), w, {}),
        (_rand((3, 4, 64), 1), _rand((3, 32, 64), 1), {}),
        (x, w, {"global_scale_x": np.float32(1)}),
        (x, w, {"mode": "mxfp8", "global_scale_x": np.float32(1)}),
        (x, w, {"global_scale_x": np.array([1.0, 2.0], np.float32),
                "global_scale_w": np.float32(1)}),
        (x, wq, {}),
        (x, w.astype(np.int32), {}),
        (x, w, {"mode": "foo"}),
    ]


def test_qqmm_errors_as_mlx(mlx):
    for x, w, kw in _errors(mlx):
        def conv(lib, v):
            return lib.array(v) if isinstance(v, (np.ndarray, np.floating)) else v
        with pytest.raises(ValueError) as ref:
            mlx.qqmm(mlx.array(x), mlx.array(w), **{k: conv(mlx, v) for k, v in kw.items()})
        with pytest.raises(ValueError) as ours:
            mx.qqmm(mx.array(x), mx.array(w), **{k: conv(mx, v) for k, v in kw.items()})
        if "mode" not in kw or kw["mode"] != "foo":
            assert str(ours.value).split("[qqmm] ")[-1][:40] == \
                str(ref.value).split("[qqmm] ")[-1][:40], (str(ours.value), str(ref.value))


def test_qqmm_signature(mlx):
    # x and w are positional-only, the rest keywords with MLX's defaults.
    with pytest.raises(TypeError):
        mx.qqmm(x=mx.zeros((4, 64)), w=mx.zeros((32, 64)))
    x, w = _rand((4, 64), 11), _rand((32, 64), 12)
    y = mx.qqmm(mx.array(x), mx.array(w), None, 16, 4, "nvfp4", None, None)
    assert_same(y, _fq(mlx, x, "nvfp4") @ _fq(mlx, w, "nvfp4").T, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8"])
def test_qqmm_grad_quantizes_the_cotangent(mlx, mode):
    """The vjp of MLX's graph: ``dx = qqmm(g, w.T)``, ``dw = qqmm(g.T, x.T)``."""
    x, w, g = _rand((2, 16, 64), 13), _rand((32, 64), 14), _rand((2, 16, 32), 15, -1, 1)
    _, (dx, dw) = mx.vjp(lambda a, b: mx.qqmm(a, b, mode=mode),
                         [mx.array(x), mx.array(w)], [mx.array(g)])
    # MLX's vjp has the same shapes.
    _, (mdx, mdw) = mlx.vjp(lambda a, b: mlx.qqmm(a, b, mode=mode),
                            [mlx.array(x), mlx.array(w)], [mlx.array(g)])
    assert tuple(dx.shape) == tuple(mdx.shape) and tuple(dw.shape) == tuple(mdw.shape)
    g2, x2 = g.reshape(-1, 32), x.reshape(-1, 64)
    rdx = (_fq(mlx, g2, mode) @ _fq(mlx, np.ascontiguousarray(w.T), mode).T).reshape(x.shape)
    rdw = _fq(mlx, np.ascontiguousarray(g2.T), mode) @ _fq(mlx, x2.T.copy(), mode).T
    assert_same(dx, rdx, rtol=1e-5, atol=1e-4)
    assert_same(dw, rdw, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8"])
@pytest.mark.parametrize("packed", [False, True])
def test_gather_qqmm_matches_mlx_math(mlx, mode, packed):
    x, w = _rand((3, 2, 64), 16), _rand((4, 32, 64), 17)
    lhs, rhs = np.array([0, 2, 1, 1], np.uint32), np.array([3, 0, 1, 3], np.uint32)
    if packed:
        wq, s = mx.quantize(mx.array(w), mode=mode)
        args = (wq, s)
    else:
        args = (mx.array(w),)
    y = mx.gather_qqmm(mx.array(x), *args, lhs_indices=mx.array(lhs),
                       rhs_indices=mx.array(rhs), mode=mode)
    m = mlx.gather_qqmm(mlx.array(x), mlx.array(w), lhs_indices=mlx.array(lhs),
                        rhs_indices=mlx.array(rhs), mode=mode)
    ref = _fq(mlx, x, mode)[lhs] @ np.swapaxes(_fq(mlx, w, mode)[rhs], -1, -2)
    assert tuple(y.shape) == tuple(m.shape)
    assert_same(y, ref, rtol=1e-5, atol=1e-4)
    # Broadcast x over the gathered weights.
    y = mx.gather_qqmm(mx.array(x[0]), *args, rhs_indices=mx.array(rhs), mode=mode)
    m = mlx.gather_qqmm(mlx.array(x[0]), mlx.array(w), rhs_indices=mlx.array(rhs), mode=mode)
    assert tuple(y.shape) == tuple(m.shape)


# --- QQLinear ----------------------------------------------------------------------------


def _params(m):
    return {k: (tuple(v.shape), repr(v.dtype).split(".")[-1])
            for k, v in tree_flatten(m.parameters())}


@pytest.mark.parametrize("mode", ["nvfp4", "mxfp8"])
def test_qqlinear_train_eval_as_mlx(mlx, mode):
    mnn = _mnn(mlx)
    w = _rand((32, 64), 18, -0.5, 0.5)
    ours, ref = nn.QQLinear(64, 32, mode=mode), mnn.QQLinear(64, 32, mode=mode)
    ours.weight, ref.weight = mx.array(w), mlx.array(w)
    assert repr(ours) == repr(ref)
    assert _params(ours) == _params(ref)
    x = _rand((4, 64), 19)
    assert_same(ours(mx.array(x)), _fq(mlx, x, mode) @ _fq(mlx, w, mode).T,
                rtol=1e-5, atol=1e-4)
    ours.eval()
    ref.eval()
    assert _params(ours) == _params(ref) and repr(ours) == repr(ref)
    assert_same(ours.weight, ref.weight)
    assert_same(ours.scales, ref.scales)
    assert_same(ours(mx.array(x)), _fq(mlx, x, mode) @ _fq(mlx, w, mode).T,
                rtol=1e-5, atol=1e-4)
    ours.train()
    ref.train()
    assert _params(ours) == _params(ref)
    assert_same(ours.weight, ref.weight)
    # Through a container too.
    seq = nn.Sequential(nn.QQLinear(64, 32, mode=mode))
    seq.eval()
    assert sorted(seq.layers[0].parameters()) == ["scales", "weight"]
    seq.train()
    assert sorted(seq.layers[0].parameters()) == ["weight"]


def test_qqlinear_grads_and_freeze(mlx):
    layer = nn.QQLinear(64, 32)
    x = mx.array(_rand((16, 64), 20))
    _, g = nn.value_and_grad(layer, lambda x: layer(x).sum())(x)
    assert list(g) == ["weight"] and tuple(g["weight"].shape) == (32, 64)
    layer.freeze()
    layer.eval()
    ref = _mnn(mlx).QQLinear(64, 32)
    ref.freeze()
    ref.eval()
    assert sorted(layer.trainable_parameters()) == sorted(ref.trainable_parameters())


def test_qqlinear_from_linear_and_quantize(mlx):
    mnn = _mnn(mlx)
    lin = nn.Linear(64, 32, bias=False)
    q = lin.to_quantized(mode="mxfp8", quantize_input=True)
    assert isinstance(q, nn.QQLinear) and q.training
    assert repr(q) == repr(mnn.Linear(64, 32, bias=False).to_quantized(
        mode="mxfp8", quantize_input=True))
    assert_same(q.weight, lin.weight)
    q = nn.QQLinear.from_linear(lin)
    assert repr(q) == "QQLinear(input_dims=64, output_dims=32, group_size=16, bits=4, mode=nvfp4)"
    # nn.quantize with quantize_input makes QQLinear layers.
    model = nn.Sequential(nn.Linear(64, 32, bias=False), nn.ReLU())
    nn.quantize(model, mode="nvfp4", quantize_input=True)
    assert isinstance(model.layers[0], nn.QQLinear)
    # The errors MLX raises.
    cases = [
        (lambda n: n.Linear(64, 32).to_quantized(mode="nvfp4", quantize_input=True),
         NotImplementedError),
        (lambda n: n.Linear(64, 32).to_quantized(quantize_input=True), ValueError),
        (lambda n: n.Embedding(10, 64).to_quantized(mode="nvfp4", quantize_input=True),
         ValueError),
        (lambda n: n.QQLinear(64, 32, mode="foo"), ValueError),
        (lambda n: n.QQLinear.from_linear(n.Linear(64, 32)), NotImplementedError),
    ]
    for make, exc in cases:
        with pytest.raises(exc) as ref:
            make(mnn)
        with pytest.raises(exc) as ours:
            make(nn)
        assert str(ours.value) == str(ref.value)
    model = nn.Sequential(nn.Linear(64, 32, bias=False), nn.Embedding(10, 64))
    with pytest.raises(ValueError, match="Quantized input is not supported"):
        nn.quantize(model, mode="nvfp4", quantize_input=True)


# --- quantized sharded linear layers ----------------------------------------------------


def _same_quantized_linear(mlx, mode, bias):
    mnn = _mnn(mlx)
    gs, bits = {"affine": (64, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}[mode]
    w = _rand((32, 128), 21, -0.5, 0.5)
    b = _rand((32,), 22)
    ours = nn.QuantizedLinear(128, 32, bias=bias, group_size=gs, bits=bits, mode=mode)
    ref = mnn.QuantizedLinear(128, 32, bias=bias, group_size=gs, bits=bits, mode=mode)
    qr = mlx.quantize(mlx.array(w), gs, bits, mode=mode)
    ref.weight, ref.scales = qr[0], qr[1]
    ours.weight, ours.scales = mx.array(np.array(qr[0])), mx.array(np.array(qr[1]))
    if mode == "affine":
        ref.biases, ours.biases = qr[2], mx.array(np.array(qr[2]))
    if bias:
        ref.bias, ours.bias = mlx.array(b), mx.array(b)
    return ours, ref


@pytest.mark.parametrize("mode", ["affine", "mxfp8", "nvfp4"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["all-to-sharded", "sharded-to-all"])
def test_quantized_sharded_linear_as_mlx(mlx, mode, bias, kind):
    mnn = _mnn(mlx)
    ql, mql = _same_quantized_linear(mlx, mode, bias)
    ours = nn.layers.distributed.shard_linear(ql, kind)
    ref = mnn.layers.distributed.shard_linear(mql, kind)
    assert type(ours).__name__ == type(ref).__name__
    assert repr(ours) == repr(ref)
    assert _params(ours) == _params(ref)
    assert ours.trainable_parameters() == {} and ref.trainable_parameters() == {}
    ours.unfreeze()
    assert ours.trainable_parameters() == {}
    x = _rand((3, 128), 23)
    assert_same(ours(mx.array(x)), ref(mlx.array(x)), rtol=1e-5, atol=1e-5)
    cls = getattr(nn, type(ref).__name__)
    again = cls.from_quantized_linear(ql, segments=2)
    assert_same(again(mx.array(x)), ql(mx.array(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["QuantizedAllToShardedLinear", "QuantizedShardedToAllLinear"])
def test_quantized_sharded_constructors(mlx, name):
    mnn = _mnn(mlx)
    for kw in [{}, {"bias": False}, {"mode": "mxfp8", "group_size": 32, "bits": 8}]:
        ours, ref = getattr(nn, name)(64, 32, **kw), getattr(mnn, name)(64, 32, **kw)
        assert repr(ours) == repr(ref)
        assert _params(ours) == _params(ref)
        if "bias" in ref:
            assert_same(ours.bias, ref.bias)
    with pytest.raises(ValueError):
        getattr(mnn, name)(64, 32, mode="mxfp8")
    with pytest.raises(ValueError):
        getattr(nn, name)(64, 32, mode="mxfp8")


# --- fully_shard / FullyShardedModule -----------------------------------------------------


def test_fully_sharded_module_as_mlx(mlx):
    mnn = _mnn(mlx)
    w, b = _rand((4, 8), 24), _rand((4,), 25)
    lin, mlin = nn.Linear(8, 4), mnn.Linear(8, 4)
    lin.weight, lin.bias = mx.array(w), mx.array(b)
    mlin.weight, mlin.bias = mlx.array(w), mlx.array(b)
    # A group of one process: fully_shard keeps the module.
    assert nn.fully_shard(lin) is lin and mnn.fully_shard(mlin) is mlin
    ours, ref = nn.FullyShardedModule(lin), mnn.FullyShardedModule(mlin)
    assert repr(ours) == repr(ref)
    assert _params(ours) == _params(ref)
    assert ours.module is lin
    x = _rand((2, 8), 26)
    assert_same(ours(mx.array(x)), ref(mlx.array(x)))
    _, g = nn.value_and_grad(ours, lambda x: (ours(x) ** 2).sum())(mx.array(x))
    _, mg = mnn.value_and_grad(ref, lambda x: (ref(x) ** 2).sum())(mlx.array(x))
    assert_same(g["module"]["weight"], mg["module"]["weight"], rtol=1e-5, atol=1e-5)
    assert_same(g["module"]["bias"], mg["module"]["bias"], rtol=1e-5, atol=1e-5)
    # compute_dtype casts the gathered parameters for the forward pass only.
    ours = nn.FullyShardedModule(lin, compute_dtype=mx.bfloat16)
    ref = mnn.FullyShardedModule(mlin, compute_dtype=mlx.bfloat16)
    assert_same(ours(mx.array(x)), ref(mlx.array(x)), rtol=1e-2, atol=1e-2)
    assert_same(ours(mx.array(x).astype(mx.bfloat16)), ref(mlx.array(x).astype(mlx.bfloat16)),
                rtol=1e-2, atol=1e-2)
    assert repr(ours.module.weight.dtype).endswith("float32")
    # as_linear reaches the wrapped module's.
    e = nn.FullyShardedModule(nn.Embedding(10, 8))
    assert tuple(e.as_linear(mx.array(x)).shape) == (2, 10)
    with pytest.raises(AttributeError):
        nn.FullyShardedModule(nn.Linear(8, 4)).as_linear(mx.array(x))


# --- submodules and the names of mlx.nn ------------------------------------------------


def test_submodules(mlx):
    mnn = _mnn(mlx)
    assert nn.embedding.Embedding is nn.Embedding
    assert nn.embedding.QuantizedEmbedding is nn.QuantizedEmbedding
    for n in ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]:
        assert getattr(nn.convolution_transpose, n) is getattr(nn, n)
    for sub in ["embedding", "convolution_transpose"]:
        theirs = {n for n in dir(getattr(mnn, sub)) if n[0].isupper() and n != "Module"}
        theirs -= {"Optional", "Union"}
        assert theirs <= set(dir(getattr(nn, sub))), sub
    from mlxr.nn.layers.embedding import Embedding  # noqa: F401
    from mlxr.nn.layers.convolution_transpose import ConvTranspose2d  # noqa: F401


def test_no_public_gaps_in_nn(mlx):
    mnn = _mnn(mlx)
    typing_names = {"Any", "Callable", "List", "Optional", "Tuple", "Union"}
    missing = {n for n in dir(mnn) if not n.startswith("_")} - set(dir(nn)) - typing_names
    assert not missing, sorted(missing)
    missing = {n for n in dir(mlx) if not n.startswith("_")} - set(dir(mx))
    assert "qqmm" not in missing and "gather_qqmm" not in missing
