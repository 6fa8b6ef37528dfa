"""``mx.compile``: compiled functions equal the uncompiled ones and MLX's compiled ones;
the Python function runs once per argument structure and shapes (constants in the key,
retrace on new shapes, shapeless reuse); captured state through ``inputs``/``outputs``
(a training step with model and optimizer state, ``mx.random.state``); the global switch;
errors."""

from functools import partial

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn
import mlxr.optimizers as optim
from conftest import assert_same

rng = np.random.default_rng(11)


def R(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def attention(m):
    def f(q, k, v, scale):
        s = (q @ m.swapaxes(k, -1, -2)) * scale
        p = m.softmax(s, axis=-1)
        return {"out": p @ v, "p": p, "max": m.max(s, axis=-1), "lse": m.logsumexp(s, axis=-1)}
    return f


def test_compiled_equals_uncompiled_and_mlx(mlx):
    q, k, v = R(2, 4, 8), R(2, 6, 8), R(2, 6, 8)
    ours_c = mx.compile(attention(mx))
    ref_c = mlx.compile(attention(mlx))
    for _ in range(2):
        a = [mx.array(x) for x in (q, k, v)]
        b = [mlx.array(x) for x in (q, k, v)]
        got = ours_c(*a, 0.25)
        plain = attention(mx)(*a, 0.25)
        ref = ref_c(*b, 0.25)
        for key in ref:
            assert_same(got[key], ref[key])
            np.testing.assert_array_equal(np.array(got[key]), np.array(plain[key]))
        q = q + 1


def test_reductions_and_indexing(mlx):
    def f(m):
        def g(x, idx):
            return [m.sum(x, axis=0), m.mean(x), m.argmax(x, axis=1), x[idx] * 2, x[1::2, -1],
                    m.take_along_axis(x, m.argsort(x, axis=1), axis=1)]
        return g
    x, idx = R(5, 3), np.array([4, 0, 4, 1], np.int32)
    got = mx.compile(f(mx))(mx.array(x), mx.array(idx))
    ref = mlx.compile(f(mlx))(mlx.array(x), mlx.array(idx))
    assert_same(got, ref)


def test_called_once_for_repeated_calls():
    calls = []

    def f(x, y):
        calls.append(1)
        return mx.tanh(x + y) * 2

    cf = mx.compile(f)
    for i in range(5):
        x, y = R(3, 2), R(3, 2)
        np.testing.assert_allclose(np.array(cf(mx.array(x), mx.array(y))),
                                   np.tanh(x + y) * 2, rtol=1e-6, atol=1e-6)
    assert len(calls) == 1
    cf(mx.array(R(4, 2)), mx.array(R(4, 2)))
    assert len(calls) == 2, "a new shape traces again"
    cf(mx.array(R(3, 2)), mx.array(R(3, 2)))
    assert len(calls) == 2, "the first shape is still cached"


def test_constants_are_part_of_the_key(mlx):
    def f(m, calls):
        def g(x, n, mode="add", scale=None):
            calls.append(1)
            y = x * n
            if scale is not None:
                y = y * scale
            return y + 1 if mode == "add" else y - 1
        return g

    ours = []
    cf = mx.compile(f(mx, ours))
    rf = mlx.compile(f(mlx, []))
    x = R(3)
    for n, mode, scale in [(2, "add", None), (2, "add", None), (3, "add", None),
                           (3.0, "add", None), (3, "sub", None), (3, "sub", 0.5),
                           (2, "add", None)]:
        assert_same(cf(mx.array(x), n, mode=mode, scale=scale),
                    rf(mlx.array(x), n, mode=mode, scale=scale))
    # (2, add), (3, add), (3.0, add) (a float is not an int), (3, sub), (3, sub, 0.5).
    assert len(ours) == 5


def test_shapeless(mlx):
    calls = []

    def f(m):
        def g(x):
            if m is mx:
                calls.append(1)
            return m.exp(x) * x - m.sin(x), m.softmax(x, axis=-1), m.sum(x * x, axis=-1)
        return g

    cf = mx.compile(f(mx), shapeless=True)
    rf = mlx.compile(f(mlx), shapeless=True)
    for shape in [(2, 3), (5, 3), (4, 7)]:
        x = R(*shape)
        assert_same(cf(mx.array(x)), rf(mlx.array(x)))
    assert len(calls) == 1
    calls.clear()
    cf2 = mx.compile(f(mx), shapeless=True)
    for shape in [(2, 3), (5, 3), (4, 7), (3, 3)]:
        cf2(mx.array(R(*shape)))
    assert len(calls) == 1


def test_shapeless_layer_with_captured_bias(mlx):
    w, b = R(3, 4), R(4)
    calls = []

    def f(m):
        W, B = m.array(w), m.array(b)

        def g(x):
            if m is mx:
                calls.append(1)
            return m.maximum(x @ W + B, 0.0)
        return g

    cf = mx.compile(f(mx), shapeless=True)
    rf = mlx.compile(f(mlx), shapeless=True)
    for n in (2, 6, 3):
        x = R(n, 3)
        assert_same(cf(mx.array(x)), rf(mlx.array(x)))
    assert len(calls) == 1


def test_captured_arrays_are_constants(mlx):
    w = R(3)
    holder = {"w": mx.array(w)}
    cf = mx.compile(lambda x: x * holder["w"])
    x = R(3)
    np.testing.assert_allclose(np.array(cf(mx.array(x))), x * w, rtol=1e-6)
    holder["w"] = mx.array(w + 1)  # not seen by the compiled function (as in MLX)
    np.testing.assert_allclose(np.array(cf(mx.array(x))), x * w, rtol=1e-6)


def test_grad_of_compiled_and_compiled_grad(mlx):
    def f(m):
        return lambda x, y: m.sum(m.sin(x) * y)
    x, y = R(4), R(4)
    ref = mlx.grad(mlx.compile(f(mlx)), argnums=(0, 1))(mlx.array(x), mlx.array(y))
    got = mx.grad(mx.compile(f(mx)), argnums=(0, 1))(mx.array(x), mx.array(y))
    assert_same(list(got), list(ref))
    got2 = mx.compile(mx.grad(f(mx), argnums=(0, 1)))(mx.array(x), mx.array(y))
    assert_same(list(got2), list(ref))
    vm = mx.vmap(mx.compile(lambda a, b: a @ mx.exp(b)), in_axes=(0, None))
    a, b = R(5, 2, 3), R(3, 4)
    assert_same(vm(mx.array(a), mx.array(b)),
                mlx.vmap(mlx.compile(lambda a, b: a @ mlx.exp(b)), in_axes=(0, None))(
                    mlx.array(a), mlx.array(b)))


def _mlp(nn_mod):
    class MLP(nn_mod.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn_mod.Linear(4, 8)
            self.l2 = nn_mod.Linear(8, 2)

        def __call__(self, x):
            return self.l2(nn_mod.relu(self.l1(x)))
    return MLP()


def _train(m, nn_mod, opt_mod, compiled, steps, data, weights):
    model = _mlp(nn_mod)
    model.update(weights(m))
    opt = opt_mod.Adam(learning_rate=0.01)

    def loss_fn(model, x, y):
        return m.mean(m.square(model(x) - y))

    loss_and_grad = nn_mod.value_and_grad(model, loss_fn)
    calls = []

    def step(x, y):
        calls.append(1)
        loss, grads = loss_and_grad(model, x, y)
        opt.update(model, grads)
        return loss

    state = [model.state, opt.state]
    if compiled:
        step = partial(m.compile, inputs=state, outputs=state)(step)
    losses = []
    for i in range(steps):
        x, y = data[i]
        loss = step(m.array(x), m.array(y))
        m.eval(state)
        losses.append(loss.item())
    return losses, model, len(calls)


def test_training_step_with_captured_state(mlx):
    import mlx.nn as mlx_nn
    import mlx.optimizers as mlx_optim

    w = {"l1": {"weight": R(8, 4), "bias": R(8)}, "l2": {"weight": R(2, 8), "bias": R(2)}}

    def weights(m):
        return {k: {n: m.array(a) for n, a in v.items()} for k, v in w.items()}

    data = [(R(16, 4), R(16, 2)) for _ in range(6)]
    ours, model, calls = _train(mx, nn, optim, True, 6, data, weights)
    plain, model_p, _ = _train(mx, nn, optim, False, 6, data, weights)
    ref, model_r, _ = _train(mlx, mlx_nn, mlx_optim, True, 6, data, weights)
    np.testing.assert_allclose(ours, plain, rtol=1e-6)
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert ours[-1] < ours[0]
    # The optimizer's state appears on the first step, so the second traces again; then the
    # step is replayed.
    assert calls <= 2
    assert_same(model.l1.weight, model_r.l1.weight, rtol=1e-4, atol=1e-5)
    assert_same(model.l2.bias, model_r.l2.bias, rtol=1e-4, atol=1e-5)


def test_random_state(mlx):
    def f(m):
        return lambda x: x + m.random.uniform(shape=(3,))
    x = np.zeros(3, np.float32)
    # Without the state, the numbers are fixed at trace time (as in MLX).
    cf = mx.compile(f(mx))
    a, b = cf(mx.array(x)), cf(mx.array(x))
    np.testing.assert_array_equal(np.array(a), np.array(b))
    # With it, they follow the global sequence: the same as uncompiled and as MLX.
    st = mx.random.state
    cs = mx.compile(f(mx), inputs=st, outputs=st)
    rs = mlx.compile(f(mlx), inputs=mlx.random.state, outputs=mlx.random.state)
    mx.random.seed(3)
    mlx.random.seed(3)
    got = [cs(mx.array(x)) for _ in range(3)]
    ref = [rs(mlx.array(x)) for _ in range(3)]
    mx.random.seed(3)
    plain = [f(mx)(mx.array(x)) for _ in range(3)]
    for g, r, p in zip(got, ref, plain):
        assert_same(g, r)
        np.testing.assert_array_equal(np.array(g), np.array(p))
    assert not np.array_equal(np.array(got[0]), np.array(got[1]))
    assert len(mx.random.state) == 1 and mx.random.state[0].shape == (2,)


def test_disable_compile():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2

    cf = mx.compile(f)
    mx.disable_compile()
    try:
        cf(mx.array(1.0))
        cf(mx.array(1.0))
        assert len(calls) == 2
    finally:
        mx.enable_compile()
    cf(mx.array(1.0))
    cf(mx.array(1.0))
    assert len(calls) == 3


def test_outputs_with_constants_and_trees(mlx):
    cf = mx.compile(lambda x: {"a": x, "b": [x + 1, "tag", None], "c": (x * 2, 3)})
    out = cf(mx.array(R(2)))
    ref = mlx.compile(lambda x: {"a": x, "b": [x + 1, "tag", None], "c": (x * 2, 3)})(
        mlx.array(np.array(out["a"])))
    assert out["b"][1:] == ref["b"][1:] and out["c"][1] == ref["c"][1]
    assert_same(out["b"][0], ref["b"][0])


def test_errors():
    cf = mx.compile(lambda x, o: x)
    with pytest.raises(ValueError, match="trees of arrays or constants"):
        cf(mx.array(1.0), object())

    def reads(x):
        return x * x.item()
    with pytest.raises(Exception, match="compile"):
        mx.compile(reads)(mx.array(2.0))

    class Boom(Exception):
        pass

    def boom(x):
        raise Boom("inside")
    with pytest.raises(Boom):
        mx.compile(boom)(mx.array(1.0))
