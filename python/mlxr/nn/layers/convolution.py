"""``Conv1d``/``Conv2d``/``Conv3d`` and ``ConvTranspose1d``/``2d``/``3d`` (channels-last,
as MLX)."""

import math

import mlxr.core as mx
from .base import Module


def _tuple(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


class _ConvNd(Module):
    _d = 1
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True):
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError(
                f"The number of input channels ({in_channels}) must be divisible by the number of groups ({groups})")
        k = _tuple(kernel_size, self._d)
        scale = math.sqrt(1 / (in_channels * math.prod(k)))
        self.weight = mx.random.uniform(low=-scale, high=scale,
                                        shape=(out_channels, *k, in_channels // groups))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.padding = padding
        self.dilation = dilation
        self.stride = stride
        self.groups = groups

    def _extra_repr(self):
        return (f"{self.weight.shape[-1] * self.groups}, {self.weight.shape[0]}, "
                f"kernel_size={self.weight.shape[1:-1]}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={'bias' in self}")

    def __call__(self, x):
        y = type(self)._fn(x, self.weight, self.stride, self.padding, self.dilation, self.groups)
        if "bias" in self:
            y = y + self.bias
        return y


class Conv1d(_ConvNd):
    """1-d convolution over (N, L, C) inputs."""

    _d = 1
    _fn = staticmethod(mx.conv1d)


class Conv2d(_ConvNd):
    """2-d convolution over (N, H, W, C) inputs."""

    _d = 2
    _fn = staticmethod(mx.conv2d)


class Conv3d(_ConvNd):
    """3-d convolution over (N, D, H, W, C) inputs."""

    _d = 3
    _fn = staticmethod(mx.conv3d)


class _ConvTransposeNd(Module):
    _d = 1
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 output_padding=0, bias=True):
        super().__init__()
        k = _tuple(kernel_size, self._d)
        scale = math.sqrt(1 / (in_channels * math.prod(k)))
        self.weight = mx.random.uniform(low=-scale, high=scale, shape=(out_channels, *k, in_channels))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.padding = padding
        self.dilation = dilation
        self.stride = stride
        self.output_padding = output_padding

    def __call__(self, x):
        y = type(self)._fn(x, self.weight, self.stride, self.padding, self.dilation,
                           self.output_padding)
        if "bias" in self:
            y = y + self.bias
        return y


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution."""

    _d = 1
    _fn = staticmethod(mx.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution."""

    _d = 2
    _fn = staticmethod(mx.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution."""

    _d = 3
    _fn = staticmethod(mx.conv_transpose3d)
