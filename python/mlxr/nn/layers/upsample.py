"""``Upsample``: nearest-neighbour and (multi)linear upsampling of the spatial axes of
(N, *spatial, C) inputs, and ``ALiBi`` attention biases."""

import math

import mlxr.core as mx
from .base import Module


def _nearest_indices(n, scale):
    m = int(n * scale)
    return mx.clip(mx.floor(mx.arange(m, dtype=mx.float32) / scale), 0, n - 1).astype(mx.int32)


def _linear_positions(n, scale, align_corners):
    m = int(n * scale)
    i = mx.arange(m, dtype=mx.float32)
    if align_corners:
        x = i * ((n - 1) / (m - 1)) if m > 1 else mx.zeros((m,))
    else:
        x = (i + 0.5) / scale - 0.5
    x = mx.clip(x, 0, n - 1)
    lo = mx.floor(x)
    hi = mx.minimum(lo + 1, n - 1)
    return lo.astype(mx.int32), hi.astype(mx.int32), x - lo


def upsample_nearest(x, scale_factor):
    """Nearest-neighbour upsampling by per-axis ``scale_factor``."""
    for ax, s in enumerate(scale_factor, start=1):
        x = mx.take(x, _nearest_indices(x.shape[ax], s), axis=ax)
    return x


def upsample_linear(x, scale_factor, align_corners=False):
    """Separable linear interpolation along each spatial axis."""
    for ax, s in enumerate(scale_factor, start=1):
        lo, hi, w = _linear_positions(x.shape[ax], s, align_corners)
        shape = [1] * x.ndim
        shape[ax] = w.shape[0]
        w = w.reshape(shape).astype(x.dtype)
        x = mx.take(x, lo, axis=ax) * (1 - w) + mx.take(x, hi, axis=ax) * w
    return x


class Upsample(Module):
    """Upsample the spatial axes by ``scale_factor`` with ``mode`` ``"nearest"`` or
    ``"linear"``."""

    def __init__(self, scale_factor, mode="nearest", align_corners=False):
        super().__init__()
        if mode not in ("nearest", "linear"):
            raise ValueError(f"[Upsample] Got unsupported upsampling algorithm: {mode}")
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners

    def __call__(self, x):
        d = x.ndim - 2
        if d <= 0:
            raise ValueError(f"[Upsample] The input should have at least 1 spatial dimension, got {x.shape}")
        s = self.scale_factor
        s = tuple(s) if isinstance(s, (list, tuple)) else (s,) * d
        if self.mode == "nearest":
            return upsample_nearest(x, s)
        return upsample_linear(x, s, self.align_corners)


class ALiBi(Module):
    """Attention with linear biases: adds ``-slope_h * |i - j|`` to attention scores."""

    @staticmethod
    def create_alibi_matrix(q_sequence_length, k_sequence_length, num_heads, offset, dtype=mx.float32):
        x1 = mx.arange(offset, q_sequence_length)
        x2 = mx.arange(0, k_sequence_length)
        distance = -mx.abs(mx.expand_dims(x1[:, None] - x2[None, :], axis=(0, 1)))
        slopes = ALiBi.create_alibi_slope(num_heads)
        return (distance * slopes).astype(dtype)

    @staticmethod
    def create_alibi_slope(num_heads):
        x = (2**8) ** (1.0 / num_heads)
        out = mx.power(x, -mx.arange(1, num_heads + 1))
        return mx.expand_dims(out, axis=(-1, -2))

    def __call__(self, attention_scores, offset=0, mask=None):
        mask_ = self.create_alibi_matrix(
            attention_scores.shape[-2] + offset, attention_scores.shape[-1],
            attention_scores.shape[1], offset, attention_scores.dtype)
        if mask is not None:
            mask_ = mask_ + mask
        return attention_scores + mask_
