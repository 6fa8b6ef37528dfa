"""``mlxr.core.fast``: MLX's fused ops (``rms_norm``, ``layer_norm``, ``rope``,
``scaled_dot_product_attention``, ``cross_entropy``, ``gated_delta_update``), composed from
ordinary ops with the same results (the last two in the Rust core, ``ops::fast``)."""

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


def cross_entropy(logits, targets, *, stream=None):
    """Cross entropy loss with class indices as targets.

    Computes ``logsumexp(logits, axis=-1) - logits[..., target]`` in a
    fused kernel with accumulation in float32.

    Note: The fused kernel is available on Metal and CUDA. The CPU falls
    back to the unfused version, which reduces in the dtype of the logits.

    Args:
        logits (array): The unnormalized logits. The loss is computed over
          the last axis.
        targets (array): Class indices. The shape should match the shape of
          ``logits`` with the last axis removed. The indices must be in
          ``[0, logits.shape[-1])``.

    Returns:
        array: The per-element loss in float32, with the shape of
        ``targets``.
    """
    return mx._cross_entropy(logits, targets, stream=stream)


def gated_delta_update(q, k, v, gamma, beta, initial_state=None, mask=None, stream=None):
    """Chunked gated delta network forward pass.

    Args:
        q: Queries [B, T, Hk, Dk]
        k: Keys [B, T, Hk, Dk]
        v: Values [B, T, Hv, Dv]
        gamma: Decay rate in linear space [B, T, Hv]
        beta: Delta update rates [B, T, Hv]
        initial_state: Optional initial hidden state [B, T, Hk, Dv]
        mask: Optional
    Returns:
        Tuple of (output [B, T, Hv, Dv], final_state [B, T, Hk, Dv])
    """
    return mx._gated_delta_update(q, k, v, gamma, beta, initial_state, mask, stream=stream)


# --- custom kernels: MLX's entry points; mlxr compiles no user kernel source, so these
# report the back-end as unavailable, as MLX does on a machine without it ---------------


def metal_kernel(name, input_names, output_names, source, header="", ensure_row_contiguous=True,
                 atomic_outputs=False, compile_options=None):
    """A jit-compiled custom Metal kernel defined from a source string.

    mlxr has no Metal back-end: the returned callable raises ``RuntimeError`` when called,
    as MLX does on a machine without Metal.
    """

    def kernel(*args, **kwargs):
        raise RuntimeError("[metal_kernel] No Metal back-end.")

    return kernel


def cuda_kernel(name, input_names, output_names, source, header="", ensure_row_contiguous=True,
                shared_memory=0):
    """A jit-compiled custom CUDA kernel defined from a source string.

    mlxr does not compile user CUDA source: raises ``RuntimeError`` (MLX's message when it
    has no CUDA back-end).
    """
    raise RuntimeError("[cuda_kernel] No CUDA back-end.")


def precompiled_cuda_kernel(*, name, compiled_source, inputs, output_shapes, output_dtypes,
                            scalars, grid, threadgroup, shared_memory=0, init_value=None,
                            ensure_row_contiguous=False, stream=None):
    """Run a precompiled CUDA kernel defined from PTX or cubin.

    mlxr does not load user PTX / cubin: raises ``RuntimeError`` (MLX's message when it
    has no CUDA back-end).
    """
    raise RuntimeError("[cuda_kernel] No CUDA back-end.")
