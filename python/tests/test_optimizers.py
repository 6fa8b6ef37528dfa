"""``mlxr.optimizers`` against ``mlx.optimizers``: every name MLX exports exists, and Muon
takes MLX's steps on 1-d, 2-d (wide and tall) and 3-d parameters."""

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.optimizers as optim
from mlxr.utils import tree_map

mlx_core = pytest.importorskip("mlx.core")
mopt = pytest.importorskip("mlx.optimizers")
from mlx.utils import tree_map as mlx_tree_map  # noqa: E402


def test_exports_match_mlx():
    ours = {n for n in dir(optim) if not n.startswith("_")}
    theirs = {n for n in dir(mopt) if not n.startswith("_")}
    # typing names MLX's module happens to import are not part of its API
    theirs -= {"Callable", "List", "Optional", "Tuple", "Union"}
    assert theirs - ours == set()
    for n in theirs:
        if n[0].isupper() and n not in ("Module",):
            assert issubclass(getattr(optim, n), optim.Optimizer) or n == "Optimizer", n


def _params(rng):
    return {
        "w": rng.uniform(-1, 1, (3, 4)).astype(np.float32),
        "layer": {"b": rng.uniform(-1, 1, (4,)).astype(np.float32)},
        "k": rng.uniform(-1, 1, (2, 3, 4)).astype(np.float32),
        "t": rng.uniform(-1, 1, (5, 3)).astype(np.float32),
    }


def _train(core, opt_mod, tmap, make, p0, steps=10):
    p = tmap(lambda a: core.array(a), p0)
    opt = make(opt_mod)
    for s in range(steps):
        g = tmap(lambda a: core.sin(a * (s + 1)) + 0.1, p)
        p = opt.apply_gradients(g, p)
        core.eval(p, opt.state)
    return p, opt


@pytest.mark.parametrize(
    "make",
    [
        lambda o: o.Muon(0.02),
        lambda o: o.Muon(0.05, momentum=0.9, weight_decay=0.0, nesterov=False, ns_steps=3),
        lambda o: o.Muon(o.cosine_decay(0.1, 6, 0.01), weight_decay=0.1),
    ],
)
def test_muon_matches_mlx(make):
    p0 = _params(np.random.default_rng(0))
    ours, o1 = _train(mx, optim, tree_map, make, p0)
    ref, o2 = _train(mlx_core, mopt, mlx_tree_map, make, p0)
    flat = lambda t: {"w": t["w"], "b": t["layer"]["b"], "k": t["k"], "t": t["t"]}  # noqa: E731
    for k, v in flat(ours).items():
        np.testing.assert_allclose(np.array(v), np.array(flat(ref)[k]), rtol=1e-4, atol=2e-5,
                                   err_msg=k)
    np.testing.assert_allclose(np.array(o1.state["k"]["v"]), np.array(o2.state["k"]["v"]),
                               rtol=1e-4, atol=2e-5)
    assert int(o1.step.item()) == int(o2.step.item()) == 10
    np.testing.assert_allclose(o1.learning_rate.item(), o2.learning_rate.item(), rtol=1e-6)


def test_muon_defaults_and_module_update():
    o = optim.Muon(0.01)
    assert (o.momentum, o.weight_decay, o.nesterov, o.ns_steps) == (0.95, 0.01, True, 5)
    import mlxr.nn as nn

    model = nn.Linear(4, 3)
    before = np.array(model.weight)
    grads = tree_map(lambda a: mx.ones_like(a), model.trainable_parameters())
    o.update(model, grads)
    mx.eval(model.parameters())
    assert not np.allclose(np.array(model.weight), before)
