"""Transformations of Python functions over pytrees, compared with MLX."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

rng = np.random.default_rng(5)
A = rng.standard_normal((3, 4)).astype(np.float32)
B = rng.standard_normal((4,)).astype(np.float32)


def loss_tree(m):
    def f(params, x):
        h = m.tanh(x @ params["w"][0]) * params["w"][1]
        return m.sum(h * params["b"]["c"]) + m.sum(m.square(params["b"]["d"]))
    return f


def tree(m):
    return {"w": [m.array(A.T[:, :3]), m.array(B[:3])], "b": {"c": m.array(B[1:]), "d": m.array(A[0])}}


def test_grad_of_tree(mlx):
    x = A[:2]
    ours = mx.grad(loss_tree(mx))(tree(mx), mx.array(x))
    ref = mlx.grad(loss_tree(mlx))(tree(mlx), mlx.array(x))
    assert_same(ours["w"], ref["w"])
    assert_same(ours["b"]["c"], ref["b"]["c"])
    assert_same(ours["b"]["d"], ref["b"]["d"])


def test_value_and_grad_argnums_aux(mlx):
    def f(m):
        def g(x, y, z):
            return m.sum(x * y * z), (x + y, "aux")
        return g
    args = (A, A + 1, B)
    (v1, aux1), g1 = mx.value_and_grad(f(mx), argnums=(0, 2))(*[mx.array(a) for a in args])
    (v2, aux2), g2 = mlx.value_and_grad(f(mlx), argnums=(0, 2))(*[mlx.array(a) for a in args])
    assert_same(v1, v2)
    assert_same(aux1[0], aux2[0]) and aux1[1] == "aux"
    assert_same(list(g1), list(g2))


def test_value_and_grad_argnames(mlx):
    def f(m):
        def g(x, *, y):
            return m.sum(m.sin(x) * y)
        return g
    v1, (p1, k1) = mx.value_and_grad(f(mx), argnums=0, argnames="y")(mx.array(A), y=mx.array(B))
    v2, (p2, k2) = mlx.value_and_grad(f(mlx), argnums=0, argnames="y")(mlx.array(A), y=mlx.array(B))
    assert_same(v1, v2)
    assert_same(p1, p2)
    assert_same(k1["y"], k2["y"])


def test_grad_of_grad(mlx):
    def f(m):
        inner = m.grad(lambda y: m.sum(m.sin(y) * y))
        return m.grad(lambda x: m.sum(inner(x) * x))
    assert_same(f(mx)(mx.array(B)), f(mlx)(mlx.array(B)))


def test_vjp_jvp(mlx):
    def f(m):
        return lambda x, y: [m.exp(x) * y, m.sum(x)]
    o1, v1 = mx.vjp(f(mx), [mx.array(A), mx.array(B)], [mx.ones((3, 4)), mx.array(2.0)])
    o2, v2 = mlx.vjp(f(mlx), [mlx.array(A), mlx.array(B)], [mlx.ones((3, 4)), mlx.array(2.0)])
    assert_same(o1, o2)
    assert_same(v1, v2)
    o1, t1 = mx.jvp(f(mx), [mx.array(A), mx.array(B)], [mx.ones((3, 4)), mx.ones((4,))])
    o2, t2 = mlx.jvp(f(mlx), [mlx.array(A), mlx.array(B)], [mlx.ones((3, 4)), mlx.ones((4,))])
    assert_same(o1, o2)
    assert_same(t1, t2)


@pytest.mark.parametrize("in_axes,out_axes", [(0, 0), ((1, None), 0), ((0, None), 1), ({"a": 0, "b": None}, 0)])
def test_vmap_trees(in_axes, out_axes, mlx):
    def f(m):
        if isinstance(in_axes, dict):
            return lambda d: d["a"] * d["b"] + 1
        return lambda x, y: m.sum(x * y, axis=-1, keepdims=True) if y.ndim else x
    if isinstance(in_axes, dict):
        # A dict prefix of in_axes (MLX 0.32 rejects None inside it): compare with a loop.
        ours = mx.vmap(f(mx), in_axes=(in_axes,), out_axes=out_axes)({"a": mx.array(A), "b": mx.array(B)})
        ref = mlx.stack([mlx.array(A)[i] * mlx.array(B) + 1 for i in range(A.shape[0])])
    elif in_axes == 0:
        ours = mx.vmap(f(mx))(mx.array(A), mx.array(A))
        ref = mlx.vmap(f(mlx))(mlx.array(A), mlx.array(A))
    else:
        x = A.T if in_axes[0] == 1 else A
        ours = mx.vmap(f(mx), in_axes=in_axes, out_axes=out_axes)(mx.array(x), mx.array(B))
        ref = mlx.vmap(f(mlx), in_axes=in_axes, out_axes=out_axes)(mlx.array(x), mlx.array(B))
    assert_same(ours, ref)


def test_vmap_tuple_output(mlx):
    ours = mx.vmap(lambda x: (x * 2, {"s": mx.sum(x)}))(mx.array(A))
    ref = mlx.vmap(lambda x: (x * 2, {"s": mlx.sum(x)}))(mlx.array(A))
    assert_same(ours[0], ref[0])
    assert_same(ours[1]["s"], ref[1]["s"])


def test_checkpoint(mlx):
    def f(m):
        return m.checkpoint(lambda x, y: m.sin(x) * y)
    g1 = mx.grad(lambda x, y: mx.sum(f(mx)(x, y)))(mx.array(A), mx.array(B))
    g2 = mlx.grad(lambda x, y: mlx.sum(f(mlx)(x, y)))(mlx.array(A), mlx.array(B))
    assert_same(g1, g2)


def test_custom_function(mlx):
    def make(m):
        @m.custom_function
        def f(x, y):
            return m.exp(x) * y

        @f.vjp
        def f_vjp(primals, cotangent, output):
            x, y = primals
            return cotangent * 2.0, cotangent * 3.0

        @f.jvp
        def f_jvp(primals, tangents):
            x, y = primals
            tx, ty = tangents
            return tx * 5.0

        return f

    f1, f2 = make(mx), make(mlx)
    assert_same(f1(mx.array(B), mx.array(B)), f2(mlx.array(B), mlx.array(B)))
    g1 = mx.grad(lambda x, y: mx.sum(f1(x, y)), argnums=(0, 1))(mx.array(B), mx.array(B))
    g2 = mlx.grad(lambda x, y: mlx.sum(f2(x, y)), argnums=(0, 1))(mlx.array(B), mlx.array(B))
    assert_same(list(g1), list(g2))
    _, t1 = mx.jvp(lambda x, y: f1(x, y), [mx.array(B), mx.array(B)], [mx.ones((4,)), mx.ones((4,))])
    _, t2 = mlx.jvp(lambda x, y: f2(x, y), [mlx.array(B), mlx.array(B)], [mlx.ones((4,)), mlx.ones((4,))])
    assert_same(t1, t2)


def test_compile_eval_stop_gradient(mlx):
    f = mx.compile(lambda x: mx.exp(x) + 1)
    y = f(mx.array(B))
    mx.eval(y, {"a": [y]})
    mx.async_eval(y)
    assert_same(y, mlx.exp(mlx.array(B)) + 1)
    g = mx.grad(lambda x: mx.sum(mx.stop_gradient(x) * x))(mx.array(B))
    assert_same(g, mlx.array(B))


def test_callback_exception_propagates():
    class Boom(Exception):
        pass

    def f(x):
        raise Boom("inside")

    with pytest.raises(Boom):
        mx.grad(f)(mx.array(1.0))
    with pytest.raises(ValueError):
        mx.grad(lambda x: x)(mx.array([1.0, 2.0]))
