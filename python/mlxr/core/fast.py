"""``mlxr.core.fast``: MLX's fused ops (``rms_norm``, ``layer_norm``, ``rope``,
``scaled_dot_product_attention``), composed from ordinary ops with the same results."""

import math

from mlxr import _core as mx


def rms_norm(x, weight, eps, *, stream=None):
    """``x / sqrt(mean(x**2, -1) + eps) * weight``, computed in float32."""
    xf = x.astype(mx.float32) if x.dtype != mx.float32 else x
    y = xf * mx.rsqrt(mx.mean(mx.square(xf), axis=-1, keepdims=True) + eps)
    y = y.astype(x.dtype)
    return y * weight if weight is not None else y


def layer_norm(x, weight, bias, eps, *, stream=None):
    """Normalise the last axis to zero mean and unit variance, then scale and shift."""
    xf = x.astype(mx.float32) if x.dtype != mx.float32 else x
    mean = mx.mean(xf, axis=-1, keepdims=True)
    var = mx.var(xf, axis=-1, keepdims=True)
    y = ((xf - mean) * mx.rsqrt(var + eps)).astype(x.dtype)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def rope(a, dims, *, traditional, base, scale, offset, freqs=None, stream=None):
    """Rotary positional encoding of the first ``dims`` features of the last axis."""
    shape = a.shape
    n = shape[-2]
    half = dims // 2
    if freqs is None:
        inv = mx.exp(-mx.arange(0, half, dtype=mx.float32) * (math.log(base) / half))
    else:
        inv = 1.0 / freqs
    pos = (mx.arange(n, dtype=mx.float32) + offset) * scale
    theta = pos[:, None] * inv[None, :]
    cos, sin = mx.cos(theta), mx.sin(theta)
    x = a[..., :dims].astype(mx.float32)
    if traditional:
        x1 = x[..., 0::2]
        x2 = x[..., 1::2]
        r1 = x1 * cos - x2 * sin
        r2 = x1 * sin + x2 * cos
        rot = mx.reshape(mx.stack([r1, r2], axis=-1), x.shape)
    else:
        x1 = x[..., :half]
        x2 = x[..., half:dims]
        rot = mx.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)
    rot = rot.astype(a.dtype)
    if dims < shape[-1]:
        rot = mx.concatenate([rot, a[..., dims:]], axis=-1)
    return rot


def scaled_dot_product_attention(q, k, v, *, scale, mask=None, sinks=None, stream=None):
    """``softmax(q @ k.T * scale + mask) @ v`` with grouped-query heads; ``mask`` may be
    an additive array, a boolean array or ``"causal"``."""
    n_q, n_kv = q.shape[-3], k.shape[-3]
    if n_q != n_kv:
        rep = n_q // n_kv
        k = mx.repeat(k, rep, axis=-3)
        v = mx.repeat(v, rep, axis=-3)
    scores = (q * scale) @ mx.swapaxes(k, -1, -2)
    if isinstance(mask, str):
        if mask != "causal":
            raise ValueError(f"[scaled_dot_product_attention] invalid mask {mask!r}")
        L, S = scores.shape[-2], scores.shape[-1]
        qi = mx.arange(S - L, S)[:, None]
        ki = mx.arange(S)[None, :]
        scores = mx.where(qi >= ki, scores, mx.array(-math.inf, scores.dtype))
    elif mask is not None:
        if mask.dtype == mx.bool_:
            scores = mx.where(mask, scores, mx.array(-math.inf, scores.dtype))
        else:
            scores = scores + mask
    w = mx.softmax(scores.astype(mx.float32), axis=-1, precise=True).astype(q.dtype)
    return w @ v
