"""Convolutions (forward and gradients) and the conv/pooling layers against MLX."""

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn
from conftest import assert_same

rng = np.random.default_rng(8)

CONVS = [
    ("conv1d", (2, 9, 4), (6, 3, 4), dict()),
    ("conv1d", (2, 9, 4), (6, 3, 2), dict(stride=2, padding=1, dilation=2, groups=2)),
    ("conv2d", (1, 7, 6, 3), (5, 3, 2, 3), dict()),
    ("conv2d", (2, 8, 8, 4), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2), groups=2)),
    ("conv3d", (1, 5, 5, 4, 2), (3, 2, 2, 2, 2), dict(padding=1)),
    ("conv_transpose1d", (2, 5, 4), (3, 3, 4), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (1, 4, 5, 3), (2, 3, 3, 3), dict(stride=2, padding=1)),
]


@pytest.mark.parametrize("case", range(len(CONVS)))
def test_conv_forward_and_grad(case, mlx):
    name, xs, ws, kw = CONVS[case]
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    ours = getattr(mx, name)(mx.array(x), mx.array(w), **kw)
    ref = getattr(mlx, name)(mlx.array(x), mlx.array(w), **kw)
    assert_same(ours, ref, rtol=1e-4, atol=1e-4)

    def loss(m):
        return lambda a, b: m.sum(m.sin(getattr(m, name)(a, b, **kw)))

    g1 = mx.grad(loss(mx), argnums=(0, 1))(mx.array(x), mx.array(w))
    g2 = mlx.grad(loss(mlx), argnums=(0, 1))(mlx.array(x), mlx.array(w))
    assert_same(list(g1), list(g2), rtol=1e-3, atol=1e-3)


LAYERS = {
    "Conv1d": (lambda n: n.Conv1d(4, 6, 3, stride=2, padding=1), (2, 9, 4)),
    "Conv2d": (lambda n: n.Conv2d(3, 5, (3, 2), padding=1), (2, 6, 7, 3)),
    "ConvTranspose1d": (lambda n: n.ConvTranspose1d(4, 3, 3, stride=2), (2, 5, 4)),
    "MaxPool1d": (lambda n: n.MaxPool1d(2), (2, 8, 3)),
    "AvgPool1d": (lambda n: n.AvgPool1d(3, stride=2, padding=1), (2, 8, 3)),
    "MaxPool2d": (lambda n: n.MaxPool2d(2, stride=2), (2, 6, 6, 3)),
    "AvgPool2d": (lambda n: n.AvgPool2d((2, 3), stride=1), (1, 5, 6, 2)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_conv_pool_layers(name, mlx):
    import mlx.nn as mnn

    make, shape = LAYERS[name]
    x = rng.standard_normal(shape).astype(np.float32)
    mx.random.seed(4)
    mlx.random.seed(4)
    a, b = make(nn), make(mnn)
    assert_same(a(mx.array(x)), b(mlx.array(x)), rtol=1e-4, atol=1e-4)
