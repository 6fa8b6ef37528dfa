"""Max and average pooling over (N, *spatial, C) inputs (``MaxPool1d``, ``AvgPool2d``,
...), from strided windows of the padded input."""

import math

import mlxr.core as mx
from mlxr.core._conv import _windows
from .base import Module


def _tuple(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


class _Pool(Module):
    _d = 1
    _max = True

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self._kernel = _tuple(kernel_size, self._d)
        self._stride = _tuple(stride, self._d) if stride is not None else self._kernel
        self._padding = _tuple(padding, self._d)

    def __call__(self, x):
        if any(self._padding):
            pad = [(0, 0)] + [(p, p) for p in self._padding] + [(0, 0)]
            value = -math.inf if self._max else 0
            if self._max and not mx.issubdtype(x.dtype, mx.floating):
                value = mx.iinfo(x.dtype).min
            x = mx.pad(x, pad, constant_values=value)
        w = _windows(x, self._kernel, self._stride, (1,) * self._d)
        axes = tuple(range(1 + self._d, 1 + 2 * self._d))
        return mx.max(w, axis=axes) if self._max else mx.mean(w, axis=axes)


def _pool(name, d, is_max):
    return type(name, (_Pool,), {"_d": d, "_max": is_max,
                                 "__doc__": f"{'Max' if is_max else 'Average'} pooling over {d} spatial axes."})


MaxPool1d = _pool("MaxPool1d", 1, True)
MaxPool2d = _pool("MaxPool2d", 2, True)
MaxPool3d = _pool("MaxPool3d", 3, True)
AvgPool1d = _pool("AvgPool1d", 1, False)
AvgPool2d = _pool("AvgPool2d", 2, False)
AvgPool3d = _pool("AvgPool3d", 3, False)
