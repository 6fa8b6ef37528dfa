"""Recurrent layers ``RNN``, ``GRU`` and ``LSTM`` over (N, L, D) or (L, D) inputs, with
MLX's parameter names and initialisation (``U(-1/sqrt(H), 1/sqrt(H))``)."""

import math

import mlxr.core as mx
from .base import Module


def _uniform(hidden_size, shape):
    scale = 1.0 / math.sqrt(hidden_size)
    return mx.random.uniform(low=-scale, high=scale, shape=shape)


class RNN(Module):
    """Elman RNN: ``h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b)``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity=None):
        super().__init__()
        self.nonlinearity = nonlinearity or mx.tanh
        if not callable(self.nonlinearity):
            raise ValueError(f"Nonlinearity must be callable. Current value: {nonlinearity}.")
        self.hidden_size = hidden_size
        self.Wxh = _uniform(hidden_size, (hidden_size, input_size))
        self.Whh = _uniform(hidden_size, (hidden_size, hidden_size))
        self.bias = _uniform(hidden_size, (hidden_size,)) if bias else None

    def __call__(self, x, hidden=None):
        if self.bias is not None:
            x = mx.addmm(self.bias, x, self.Wxh.T)
        else:
            x = x @ self.Wxh.T
        outs = []
        for t in range(x.shape[-2]):
            h = x[..., t, :]
            if hidden is not None:
                h = h + hidden @ self.Whh.T
            hidden = self.nonlinearity(h)
            outs.append(hidden)
        return mx.stack(outs, axis=-2)


class GRU(Module):
    """Gated recurrent unit (reset, update and new gates, PyTorch's formulation)."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.Wx = _uniform(hidden_size, (3 * hidden_size, input_size))
        self.Wh = _uniform(hidden_size, (3 * hidden_size, hidden_size))
        self.b = _uniform(hidden_size, (3 * hidden_size,)) if bias else None
        self.bhn = _uniform(hidden_size, (hidden_size,)) if bias else None

    def __call__(self, x, hidden=None):
        H = self.hidden_size
        if self.b is not None:
            x = mx.addmm(self.b, x, self.Wx.T)
        else:
            x = x @ self.Wx.T
        outs = []
        for t in range(x.shape[-2]):
            xt = x[..., t, :]
            x_rz, x_n = xt[..., :-H], xt[..., -H:]
            if hidden is not None:
                hp = hidden @ self.Wh.T
                h_rz, h_n = hp[..., :-H], hp[..., -H:]
                if self.bhn is not None:
                    h_n = h_n + self.bhn
                x_rz = x_rz + h_rz
            rz = mx.sigmoid(x_rz)
            r, z = mx.split(rz, 2, axis=-1)
            n = x_n
            if hidden is not None:
                n = n + r * h_n
            elif self.bhn is not None:
                # h_{-1} = 0: only the hidden bias is gated by r.
                n = n + r * self.bhn
            n = mx.tanh(n)
            hidden = (1 - z) * n + z * hidden if hidden is not None else (1 - z) * n
            outs.append(hidden)
        return mx.stack(outs, axis=-2)


class LSTM(Module):
    """Long short-term memory; returns ``(hidden states, cell states)``."""

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        self.hidden_size = hidden_size
        self.Wx = _uniform(hidden_size, (4 * hidden_size, input_size))
        self.Wh = _uniform(hidden_size, (4 * hidden_size, hidden_size))
        self.bias = _uniform(hidden_size, (4 * hidden_size,)) if bias else None

    def __call__(self, x, hidden=None, cell=None):
        if self.bias is not None:
            x = mx.addmm(self.bias, x, self.Wx.T)
        else:
            x = x @ self.Wx.T
        hs, cs = [], []
        for t in range(x.shape[-2]):
            ifgo = x[..., t, :]
            if hidden is not None:
                ifgo = ifgo + hidden @ self.Wh.T
            i, f, g, o = mx.split(ifgo, 4, axis=-1)
            i, f, g, o = mx.sigmoid(i), mx.sigmoid(f), mx.tanh(g), mx.sigmoid(o)
            cell = f * cell + i * g if cell is not None else i * g
            hidden = o * mx.tanh(cell)
            hs.append(hidden)
            cs.append(cell)
        return mx.stack(hs, axis=-2), mx.stack(cs, axis=-2)
