"""``Identity``, ``Linear``, ``Bilinear`` and ``Embedding`` with MLX's initialisation."""

import math

import mlxr.core as mx
from .base import Module


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def __call__(self, x):
        return x


class Linear(Module):
    """``y = x @ weight.T + bias``; weights and bias drawn from
    ``U(-1/sqrt(input_dims), 1/sqrt(input_dims))``."""

    def __init__(self, input_dims, output_dims, bias=True):
        super().__init__()
        scale = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(low=-scale, high=scale, shape=(output_dims, input_dims))
        if bias:
            self.bias = mx.random.uniform(low=-scale, high=scale, shape=(output_dims,))

    def _extra_repr(self):
        return f"input_dims={self.weight.shape[1]}, output_dims={self.weight.shape[0]}, bias={'bias' in self}"

    def __call__(self, x):
        if "bias" in self:
            return mx.addmm(self["bias"], x, self["weight"].T)
        return x @ self["weight"].T


class Bilinear(Module):
    """``y = x1 @ W @ x2 + b`` for each output feature."""

    def __init__(self, input1_dims, input2_dims, output_dims, bias=True):
        super().__init__()
        scale = math.sqrt(1.0 / input1_dims)
        self.weight = mx.random.uniform(low=-scale, high=scale, shape=(output_dims, input2_dims, input1_dims))
        if bias:
            self.bias = mx.random.uniform(low=-scale, high=scale, shape=(output_dims,))

    def __call__(self, x1, x2):
        out, in2, in1 = self.weight.shape
        xshape = x1.shape[:-1]
        x1 = x1.reshape(-1, in1)
        x2 = x2.reshape(-1, 1, in2)
        w = self.weight.reshape(out * in2, in1)
        y = x1 @ w.T
        y = y.reshape(-1, out, in2).swapaxes(-2, -1)
        y = x2 @ y
        y = y.squeeze(1)
        if "bias" in self:
            y = y + self.bias
        return y.reshape(*xshape, out)


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``dims``, drawn from
    ``N(0, 1/dims)``."""

    def __init__(self, num_embeddings, dims):
        super().__init__()
        scale = math.sqrt(1 / dims)
        self.weight = mx.random.normal(shape=(num_embeddings, dims), scale=scale)

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

    def __call__(self, x):
        return self.weight[x]

    def as_linear(self, x):
        """Use the table as the weight of a linear layer (tied output projection)."""
        return x @ self.weight.T
