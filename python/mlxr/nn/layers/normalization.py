"""``LayerNorm`` and ``RMSNorm``."""

import mlxr.core as mx
from .base import Module


class LayerNorm(Module):
    """Normalise the last axis to zero mean and unit variance, then scale and shift."""

    def __init__(self, dims, eps=1e-5, affine=True, bias=True):
        super().__init__()
        if affine:
            self.weight = mx.ones((dims,))
            if bias:
                self.bias = mx.zeros((dims,))
        self.eps = eps
        self.dims = dims

    def _extra_repr(self):
        return f"{self.dims}, eps={self.eps}, affine={'weight' in self}"

    def __call__(self, x):
        weight = self["weight"] if "weight" in self else None
        bias = self["bias"] if "bias" in self else None
        return mx.fast.layer_norm(x, weight, bias, self.eps)


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last axis."""

    def __init__(self, dims, eps=1e-5):
        super().__init__()
        self.weight = mx.ones((dims,))
        self.eps = eps

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, eps={self.eps}"

    def __call__(self, x):
        return mx.fast.rms_norm(x, self["weight"], self.eps)


class InstanceNorm(Module):
    """Normalise each sample's features over its spatial axes (all but the first and
    last)."""

    def __init__(self, dims, eps=1e-5, affine=False):
        super().__init__()
        if affine:
            self.weight = mx.ones((dims,))
            self.bias = mx.zeros((dims,))
        self.dims = dims
        self.eps = eps

    def __call__(self, x):
        axes = tuple(range(1, x.ndim - 1))
        mean = mx.mean(x, axis=axes, keepdims=True)
        var = mx.var(x, axis=axes, keepdims=True)
        x = (x - mean) * mx.rsqrt(var + self.eps)
        return (self.weight * x + self.bias) if "weight" in self else x


class GroupNorm(Module):
    """Normalise groups of features (``num_groups`` of the last axis) over the spatial
    axes; ``pytorch_compatible`` groups contiguous features as PyTorch does."""

    def __init__(self, num_groups, dims, eps=1e-5, affine=True, pytorch_compatible=False):
        super().__init__()
        if affine:
            self.bias = mx.zeros((dims,))
            self.weight = mx.ones((dims,))
        self.num_groups = num_groups
        self.dims = dims
        self.eps = eps
        self.pytorch_compatible = pytorch_compatible

    def _pytorch_group_norm(self, x):
        num_groups = self.num_groups
        batch, *rest, dims = x.shape
        group_size = dims // num_groups
        x = x.reshape(batch, -1, num_groups, group_size)
        x = x.transpose(0, 2, 1, 3).reshape(batch, num_groups, -1)
        x = mx.fast.layer_norm(x, None, None, eps=self.eps)
        x = x.reshape(batch, num_groups, -1, group_size)
        return x.transpose(0, 2, 1, 3).reshape(batch, *rest, dims)

    def _group_norm(self, x):
        num_groups = self.num_groups
        batch, *rest, dims = x.shape
        x = x.reshape(batch, -1, num_groups)
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        x = (x - mean) * mx.rsqrt(var + self.eps)
        return x.reshape(batch, *rest, dims)

    def __call__(self, x):
        f = self._pytorch_group_norm if self.pytorch_compatible else self._group_norm
        x = f(x)
        return (self.weight * x + self.bias) if "weight" in self else x


class BatchNorm(Module):
    """Batch normalisation over all axes but the last, with running statistics (frozen
    parameters ``running_mean``/``running_var``) used in evaluation mode."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = mx.ones((num_features,))
            self.bias = mx.zeros((num_features,))
        if track_running_stats:
            self.running_mean = mx.zeros((num_features,))
            self.running_var = mx.ones((num_features,))
            self.freeze(keys=["running_mean", "running_var"], recurse=False)

    def unfreeze(self, *args, **kwargs):
        super().unfreeze(*args, **kwargs)
        self.freeze(keys=["running_mean", "running_var"], recurse=False)

    def _calc_stats(self, x):
        axes = tuple(range(0, x.ndim - 1))
        return mx.mean(x, axis=axes), mx.var(x, axis=axes)

    def __call__(self, x):
        if self.training or not self.track_running_stats:
            mean, var = self._calc_stats(x)
            if self.training and self.track_running_stats:
                mu = self.momentum
                self.running_mean = (1 - mu) * self.running_mean + mu * mean
                n = x.size // x.shape[-1]
                unbiased = var * (n / max(n - 1, 1))
                self.running_var = (1 - mu) * self.running_var + mu * unbiased
        elif self.track_running_stats:
            mean = self.running_mean
            var = self.running_var
        x = (x - mean) * mx.rsqrt(var + self.eps)
        return (self.weight * x + self.bias) if "weight" in self else x
