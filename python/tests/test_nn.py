"""``mlxr.nn``, ``mlxr.optimizers`` and ``mlxr.utils`` against MLX: module trees, layers,
losses, optimizers and an MLP trained to MLX's loss values."""

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn
import mlxr.optimizers as optim
from mlxr.utils import tree_flatten, tree_map, tree_unflatten
from conftest import assert_same


def _mods(mlx):
    import mlx.nn as mnn
    import mlx.optimizers as mopt
    return mnn, mopt


class MLP:
    """The same MLP written for either framework."""

    @staticmethod
    def build(nn_, dims):
        class Net(nn_.Module):
            def __init__(self):
                super().__init__()
                self.layers = [nn_.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1)]
                self.norm = nn_.LayerNorm(dims[1])

            def __call__(self, x):
                x = self.layers[0](x)
                x = self.norm(x)
                for l in self.layers[1:]:
                    x = l(nn_.gelu(x))
                return x

        return Net()


def copy_params(src, dst):
    dst.update(tree_map(lambda a: mx.array(np.array(a)), src.parameters()))


@pytest.mark.parametrize("opt", ["SGD", "SGD_momentum", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion", "Adamax", "AdaDelta", "Adafactor", "Adafactor_b1", "Multi"])
def test_mlp_training_matches_mlx(opt, mlx):
    mnn, mopt = _mods(mlx)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 8)).astype(np.float32)
    y = rng.integers(0, 3, (32,)).astype(np.int32)
    mlx.random.seed(0)
    ref_model = MLP.build(mnn, [8, 16, 16, 3])
    mx.random.seed(0)
    model = MLP.build(nn, [8, 16, 16, 3])
    # Same seed, same initialisation sequence: identical parameters.
    for (k1, a), (k2, b) in zip(tree_flatten(model.parameters()), tree_flatten(ref_model.parameters())):
        assert k1 == k2
        assert_same(a, b)
    mk = {
        "SGD": lambda o: o.SGD(learning_rate=0.1),
        "SGD_momentum": lambda o: o.SGD(learning_rate=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True),
        "Adam": lambda o: o.Adam(learning_rate=0.01),
        "AdamW": lambda o: o.AdamW(learning_rate=0.01, bias_correction=True),
        "RMSprop": lambda o: o.RMSprop(learning_rate=0.01),
        "Adagrad": lambda o: o.Adagrad(learning_rate=0.1),
        "Lion": lambda o: o.Lion(learning_rate=0.001, weight_decay=0.01),
        "Adamax": lambda o: o.Adamax(learning_rate=0.01),
        "AdaDelta": lambda o: o.AdaDelta(learning_rate=1.0),
        "Adafactor": lambda o: o.Adafactor(),
        "Multi": lambda o: o.MultiOptimizer([o.SGD(learning_rate=0.1), o.Adam(learning_rate=0.01)],
                                            [lambda path, g: path.endswith("bias")]),
        "Adafactor_b1": lambda o: o.Adafactor(learning_rate=0.01, relative_step=False, beta_1=0.9, weight_decay=0.01),
    }[opt]

    def run(mod, nn_, optim_, model):
        o = mk(optim_)

        def loss_fn(m, x, t):
            return nn_.losses.cross_entropy(m(x), t, reduction="mean")

        step = nn_.value_and_grad(model, loss_fn)
        losses = []
        for _ in range(8):
            loss, grads = step(model, mod.array(X), mod.array(y))
            o.update(model, grads)
            mod.eval(model.parameters(), o.state)
            losses.append(loss.item())
        return losses

    ours = run(mx, nn, optim, model)
    ref = run(mlx, mnn, mopt, ref_model)
    np.testing.assert_allclose(ours, ref, rtol=2e-4, atol=2e-5)
    assert ours[-1] < ours[0]


def test_module_tree_api(tmp_path, mlx):
    mnn, _ = _mods(mlx)
    for nn_, mod in [(nn, mx), (mnn, mlx)]:
        pass
    mx.random.seed(1)
    m = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
    keys = [k for k, _ in tree_flatten(m.parameters())]
    assert keys == ["layers.0.weight", "layers.0.bias", "layers.2.weight"]
    assert isinstance(m, dict) and "layers" in m
    assert len(m.leaf_modules()["layers"]) == 3
    m.freeze()
    assert tree_flatten(m.trainable_parameters()) == []
    m.unfreeze()
    m.layers[0].freeze(keys="bias")
    assert [k for k, _ in tree_flatten(m.trainable_parameters())] == ["layers.0.weight", "layers.2.weight"]
    m.eval()
    assert not m.layers[0].training
    m.train()
    assert m.layers[2].training
    for ext in ["safetensors", "npz"]:
        f = str(tmp_path / f"w.{ext}")
        m.save_weights(f)
        m2 = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
        m2.load_weights(f)
        for (_, a), (_, b) in zip(tree_flatten(m.parameters()), tree_flatten(m2.parameters())):
            assert_same(a, b)
        # MLX reads our files with the same names.
        ref = mnn.Sequential(mnn.Linear(4, 5), mnn.ReLU(), mnn.Linear(5, 2, bias=False))
        ref.load_weights(f)
    with pytest.raises(ValueError):
        m.load_weights([("nope", mx.zeros((1,)))])
    m.apply(lambda a: a * 0)
    assert all(float(mx.sum(mx.abs(a))) == 0 for _, a in tree_flatten(m.parameters()))
    names = [n for n, _ in m.named_modules()]
    assert "" in names and "layers.0" in names


LAYERS = {
    "Embedding": lambda nn_, m: (nn_.Embedding(10, 4), m.array([[1, 2], [3, 9]])),
    "RMSNorm": lambda nn_, m: (nn_.RMSNorm(6), m.array(np.random.default_rng(2).standard_normal((2, 6)).astype(np.float32))),
    "LayerNorm": lambda nn_, m: (nn_.LayerNorm(6, affine=False), m.array(np.random.default_rng(2).standard_normal((2, 6)).astype(np.float32))),
    "MultiHeadAttention": lambda nn_, m: (nn_.MultiHeadAttention(8, 2), m.array(np.random.default_rng(3).standard_normal((1, 3, 8)).astype(np.float32))),
    "RoPE": lambda nn_, m: (nn_.RoPE(4), m.array(np.random.default_rng(4).standard_normal((1, 2, 3, 6)).astype(np.float32))),
    "Bilinear": lambda nn_, m: (nn_.Bilinear(3, 3, 2), m.array(np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32))),
    "GroupNorm": lambda nn_, m: (nn_.GroupNorm(2, 6), m.array(np.random.default_rng(2).standard_normal((2, 3, 6)).astype(np.float32))),
    "GroupNorm_pt": lambda nn_, m: (nn_.GroupNorm(3, 6, pytorch_compatible=True), m.array(np.random.default_rng(2).standard_normal((2, 4, 6)).astype(np.float32))),
    "InstanceNorm": lambda nn_, m: (nn_.InstanceNorm(6, affine=True), m.array(np.random.default_rng(2).standard_normal((2, 4, 6)).astype(np.float32))),
    "BatchNorm": lambda nn_, m: (nn_.BatchNorm(6), m.array(np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32))),
    "Upsample_nearest": lambda nn_, m: (nn_.Upsample(2), m.array(np.random.default_rng(2).standard_normal((1, 3, 4, 2)).astype(np.float32))),
    "Upsample_nearest_frac": lambda nn_, m: (nn_.Upsample((1.5, 2)), m.array(np.random.default_rng(2).standard_normal((1, 4, 3, 2)).astype(np.float32))),
    "Upsample_linear": lambda nn_, m: (nn_.Upsample(2, mode="linear"), m.array(np.random.default_rng(2).standard_normal((1, 3, 4, 2)).astype(np.float32))),
    "Upsample_linear_ac": lambda nn_, m: (nn_.Upsample(2, mode="linear", align_corners=True), m.array(np.random.default_rng(2).standard_normal((1, 3, 4, 2)).astype(np.float32))),
    "ALiBi": lambda nn_, m: (nn_.ALiBi(), m.array(np.random.default_rng(2).standard_normal((1, 2, 3, 3)).astype(np.float32))),
    "Dropout_eval": lambda nn_, m: (nn_.Dropout(0.5).eval() or nn_.Dropout(0.5), m.ones((4,))),
    "Dropout": lambda nn_, m: (nn_.Dropout(0.25), m.ones((16,))),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers(name, mlx):
    mnn, _ = _mods(mlx)
    mx.random.seed(9)
    mlx.random.seed(9)
    layer, x = LAYERS[name](nn, mx)
    ref_layer, rx = LAYERS[name](mnn, mlx)
    if name == "MultiHeadAttention":
        out, ref = layer(x, x, x), ref_layer(rx, rx, rx)
    elif name == "Bilinear":
        out, ref = layer(x, x), ref_layer(rx, rx)
    else:
        out, ref = layer(x), ref_layer(rx)
    assert_same(out, ref, rtol=1e-4, atol=1e-5)
    if name == "BatchNorm":
        assert_same(layer.running_var, ref_layer.running_var, rtol=1e-5)
        layer.eval()
        ref_layer.eval()
        assert_same(layer(x), ref_layer(rx), rtol=1e-4, atol=1e-5)
        assert sorted(k for k, _ in tree_flatten(layer.trainable_parameters())) == ["bias", "weight"]


ACTS = ["relu", "relu6", "leaky_relu", "elu", "softplus", "softsign", "celu", "silu",
        "log_sigmoid", "gelu", "gelu_approx", "gelu_fast_approx", "selu", "mish",
        "hardswish", "hard_tanh", "sigmoid", "tanh", "log_softmax", "glu", "step",
        "softshrink", "hard_shrink", "relu2"]


@pytest.mark.parametrize("name", ACTS)
def test_activations(name, mlx):
    mnn, _ = _mods(mlx)
    x = np.random.default_rng(6).standard_normal((3, 8)).astype(np.float32) * 3
    assert_same(getattr(nn, name)(mx.array(x)), getattr(mnn, name)(mlx.array(x)), rtol=1e-4, atol=1e-5)


LOSSES = {
    "cross_entropy": lambda L, m, a, b, c: L.cross_entropy(a, c, reduction="mean"),
    "cross_entropy_smooth": lambda L, m, a, b, c: L.cross_entropy(a, c, label_smoothing=0.1),
    "cross_entropy_probs": lambda L, m, a, b, c: L.cross_entropy(a, m.softmax(b, axis=-1)),
    "binary_cross_entropy": lambda L, m, a, b, c: L.binary_cross_entropy(a, m.sigmoid(b)),
    "l1_loss": lambda L, m, a, b, c: L.l1_loss(a, b),
    "mse_loss": lambda L, m, a, b, c: L.mse_loss(a, b, reduction="sum"),
    "nll_loss": lambda L, m, a, b, c: L.nll_loss(a, c),
    "kl_div_loss": lambda L, m, a, b, c: L.kl_div_loss(a, b),
    "smooth_l1_loss": lambda L, m, a, b, c: L.smooth_l1_loss(a, b),
    "hinge_loss": lambda L, m, a, b, c: L.hinge_loss(a, b),
    "huber_loss": lambda L, m, a, b, c: L.huber_loss(a, b),
    "log_cosh_loss": lambda L, m, a, b, c: L.log_cosh_loss(a, b),
    "gaussian_nll_loss": lambda L, m, a, b, c: L.gaussian_nll_loss(a, b, m.abs(b) + 0.1),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses(name, mlx):
    mnn, _ = _mods(mlx)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    c = rng.integers(0, 5, (4,)).astype(np.int32)
    ours = LOSSES[name](nn.losses, mx, mx.array(a), mx.array(b), mx.array(c))
    ref = LOSSES[name](mnn.losses, mlx, mlx.array(a), mlx.array(b), mlx.array(c))
    assert_same(ours, ref, rtol=1e-4, atol=1e-5)


def test_schedules_and_clip(mlx):
    _, mopt = _mods(mlx)
    for name, args in [("exponential_decay", (0.1, 0.9)), ("step_decay", (0.1, 0.5, 3)),
                       ("cosine_decay", (0.1, 10)), ("linear_schedule", (0.0, 1.0, 5))]:
        f, g = getattr(optim, name)(*args), getattr(mopt, name)(*args)
        for s in [0, 1, 4, 12]:
            assert float(f(mx.array(s))) == pytest.approx(float(g(mlx.array(s))), rel=1e-5)
    grads = {"a": mx.array([3.0, 4.0]), "b": [mx.array([12.0])]}
    clipped, norm = optim.clip_grad_norm(grads, 1.0)
    assert float(norm) == pytest.approx(13.0)
    assert float(mx.sum(mx.square(clipped["a"])) + mx.sum(mx.square(clipped["b"][0]))) == pytest.approx(1.0, rel=1e-4)


def test_init(mlx):
    w = mx.zeros((4, 3))
    assert nn.init.constant(2.0)(w).tolist() == [[2.0] * 3] * 4
    assert nn.init.identity()(mx.zeros((2, 2))).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    for name in ["normal", "uniform", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform"]:
        assert getattr(nn.init, name)()(w).shape == (4, 3)


def test_utils_trees():
    t = {"a": [1, {"b": 2}], "c": (3, 4)}
    flat = tree_flatten(t)
    assert flat == [("a.0", 1), ("a.1.b", 2), ("c.0", 3), ("c.1", 4)]
    assert tree_unflatten([("a.0", 1), ("a.1.b", 2)]) == {"a": [1, {"b": 2}]}
    assert tree_map(lambda x: x * 2, t) == {"a": [2, {"b": 4}], "c": (6, 8)}
    from mlxr.utils import tree_reduce, tree_map_with_path
    assert tree_reduce(lambda a, b: a + b, t, 0) == 10
    assert tree_map_with_path(lambda p, x: p, t) == {"a": ["a.0", {"b": "a.1.b"}], "c": ("c.0", "c.1")}


def test_mlx_alias(tmp_path):
    import subprocess
    import sys
    code = ("import mlxr; mlxr.alias_mlx(); import mlx.core as mx; import mlx.nn as nn; "
            "assert mx.__name__ == 'mlxr.core', mx.__name__; print(mx.array([1,2]) + 1)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "array([2, 3], dtype=int32)" in r.stdout


SEQ = {
    "RNN": (lambda n: n.RNN(3, 5), lambda l, x: l(x)),
    "GRU": (lambda n: n.GRU(3, 5), lambda l, x: l(x)),
    "LSTM": (lambda n: n.LSTM(3, 5), lambda l, x: l(x)),
    "TransformerEncoder": (lambda n: n.TransformerEncoder(2, 8, 2, mlp_dims=16), lambda l, x: l(x, None)),
    "TransformerEncoder_post": (lambda n: n.TransformerEncoder(1, 8, 2, norm_first=False), lambda l, x: l(x, None)),
    "Transformer": (lambda n: n.Transformer(8, 2, 1, 1, mlp_dims=16), lambda l, x: l(x, x, None, None, None)),
}


@pytest.mark.parametrize("name", sorted(SEQ))
def test_sequence_layers(name, mlx):
    """Same parameters (copied from MLX's layer by name), same outputs."""
    mnn, _ = _mods(mlx)
    make, call = SEQ[name]
    dims = 3 if name in ("RNN", "GRU", "LSTM") else 8
    x = np.random.default_rng(11).standard_normal((2, 4, dims)).astype(np.float32)
    ref = make(mnn)
    ours = make(nn)
    import mlx.utils as mu
    ref_params = mu.tree_flatten(ref.parameters())
    assert sorted(k for k, _ in tree_flatten(ours.parameters())) == sorted(k for k, _ in ref_params)
    ours.load_weights([(k, mx.array(np.array(v))) for k, v in ref_params])
    out, rout = call(ours, mx.array(x)), call(ref, mlx.array(x))
    assert_same(out if isinstance(out, mx.array) else list(out),
                rout if isinstance(rout, mlx.array) else list(rout), rtol=1e-4, atol=1e-5)


def test_init_orthogonal_sparse():
    q = nn.init.orthogonal()(mx.zeros((5, 3)))
    np.testing.assert_allclose(np.array(q.T @ q), np.eye(3), atol=1e-5)
    q = nn.init.orthogonal(gain=2.0)(mx.zeros((3, 5)))
    np.testing.assert_allclose(np.array(q @ q.T), 4 * np.eye(3), atol=1e-4)
    s = nn.init.sparse(0.5)(mx.zeros((4, 6)))
    assert (np.array(s) == 0).sum(axis=1).tolist() == [3, 3, 3, 3]
