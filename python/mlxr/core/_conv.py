"""Convolutions (``conv1d``, ``conv2d``, ``conv3d``, ``conv_general``) with MLX's
channels-last layout: the input's windows are gathered by one strided view
(``as_strided``, differentiable) and contracted with the weight by a matmul per group."""

import math

from mlxr import _core

__all__ = ["conv1d", "conv2d", "conv3d", "conv_general", "_windows"]


def _tuple(v, n, name):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) != n:
        raise ValueError(f"[conv] {name} must have {n} entries, got {v}")
    return v


def _windows(x, kernel, stride, dilation):
    """The sliding windows of the padded ``x`` (N, *spatial, C) as a view of shape
    (N, *out, *kernel, C)."""
    x = _core.contiguous(x)
    n, *spatial, c = x.shape
    d = len(spatial)
    row = [1] * (d + 2)
    for i in range(d + 1, 0, -1):
        row[i - 1] = row[i] * x.shape[i]
    out = []
    for i in range(d):
        span = dilation[i] * (kernel[i] - 1) + 1
        if spatial[i] < span:
            raise ValueError(
                f"[conv] the (padded) input size {spatial[i]} along spatial axis {i} is smaller "
                f"than the dilated kernel size {span}")
        out.append((spatial[i] - span) // stride[i] + 1)
    shape = [n] + out + list(kernel) + [c]
    strides = ([row[0]] + [stride[i] * row[i + 1] for i in range(d)]
               + [dilation[i] * row[i + 1] for i in range(d)] + [1])
    return _core.as_strided(x, shape, strides, 0)


def conv_general(input, weight, /, stride=1, padding=0, kernel_dilation=1, input_dilation=1,
                 groups=1, flip=False, *, stream=None):
    """N-d convolution: ``input`` (N, *spatial, C_in), ``weight`` (C_out, *kernel,
    C_in / groups); ``padding`` is an int, one int per axis, or a pair (low, high) of
    sequences."""
    d = input.ndim - 2
    if d < 1 or weight.ndim != input.ndim:
        raise ValueError(
            f"[conv] input of shape {input.shape} and weight of shape {weight.shape} must both "
            "have the layout (N, *spatial, C) with at least one spatial axis")
    stride = _tuple(stride, d, "stride")
    kd = _tuple(kernel_dilation, d, "kernel_dilation")
    idil = _tuple(input_dilation, d, "input_dilation")
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and not isinstance(padding[0], int):
        lo, hi = _tuple(padding[0], d, "padding"), _tuple(padding[1], d, "padding")
    else:
        lo = hi = _tuple(padding, d, "padding")
    c_in = input.shape[-1]
    c_out = weight.shape[0]
    if c_in % groups or c_out % groups or weight.shape[-1] * groups != c_in:
        raise ValueError(
            f"[conv] expected weight of shape (C_out, *kernel, {c_in // max(groups, 1)}) with "
            f"C_out divisible by groups={groups}, got input {input.shape} and weight {weight.shape}")
    if flip:
        weight = _core.flip(weight, axis=list(range(1, d + 1)))
    x = input
    if any(v != 1 for v in idil):
        # Dilate the input: insert (dil - 1) zeros between elements of each spatial axis.
        for i, dil in enumerate(idil):
            if dil == 1:
                continue
            ax = i + 1
            n_ax = x.shape[ax]
            x = _core.expand_dims(x, ax + 1)
            pad = [(0, 0)] * x.ndim
            pad[ax + 1] = (0, dil - 1)
            x = _core.pad(x, pad)
            shape = list(x.shape)
            shape[ax:ax + 2] = [n_ax * dil]
            x = _core.reshape(x, shape)
            x = _core.split(x, [(n_ax - 1) * dil + 1], axis=ax)[0]
    pads = [(0, 0)] + [(max(l, 0), max(h, 0)) for l, h in zip(lo, hi)] + [(0, 0)]
    if any(p != (0, 0) for p in pads):
        x = _core.pad(x, pads)
    # Negative padding crops.
    if any(l < 0 or h < 0 for l, h in zip(lo, hi)):
        idx = [slice(None)]
        for i, (l, h) in enumerate(zip(lo, hi)):
            idx.append(slice(-l if l < 0 else 0, h if h < 0 else None))
        x = x[tuple(idx)]
    kernel = weight.shape[1:-1]
    win = _windows(x, kernel, stride, kd)
    n = win.shape[0]
    out_sp = win.shape[1:1 + d]
    kprod = math.prod(kernel)
    cg = c_in // groups
    og = c_out // groups
    outs = []
    for g in range(groups):
        wg = win if groups == 1 else win[..., g * cg:(g + 1) * cg]
        p = _core.reshape(wg, (n * math.prod(out_sp), kprod * cg))
        w = weight if groups == 1 else weight[g * og:(g + 1) * og]
        w = _core.reshape(w, (og, kprod * cg))
        outs.append(_core.matmul(p, _core.transpose(w)))
    y = outs[0] if groups == 1 else _core.concatenate(outs, axis=-1)
    return _core.reshape(y, (n, *out_sp, c_out))


def conv1d(input, weight, /, stride=1, padding=0, dilation=1, groups=1, *, stream=None):
    """1-d convolution: input (N, L, C_in), weight (C_out, K, C_in / groups)."""
    if input.ndim != 3:
        raise ValueError(f"[conv1d] Input must be 3-dimensional (N, L, C), got shape {input.shape}")
    return conv_general(input, weight, stride, padding, dilation, 1, groups)


def conv2d(input, weight, /, stride=1, padding=0, dilation=1, groups=1, *, stream=None):
    """2-d convolution: input (N, H, W, C_in), weight (C_out, KH, KW, C_in / groups)."""
    if input.ndim != 4:
        raise ValueError(f"[conv2d] Input must be 4-dimensional (N, H, W, C), got shape {input.shape}")
    return conv_general(input, weight, stride, padding, dilation, 1, groups)


def conv3d(input, weight, /, stride=1, padding=0, dilation=1, groups=1, *, stream=None):
    """3-d convolution: input (N, D, H, W, C_in), weight (C_out, KD, KH, KW, C_in / groups)."""
    if input.ndim != 5:
        raise ValueError(f"[conv3d] Input must be 5-dimensional, got shape {input.shape}")
    return conv_general(input, weight, stride, padding, dilation, 1, groups)


def _conv_transpose(input, weight, stride, padding, dilation, output_padding, groups, d):
    stride = _tuple(stride, d, "stride")
    padding = _tuple(padding, d, "padding")
    dilation = _tuple(dilation, d, "dilation")
    output_padding = _tuple(output_padding, d, "output_padding")
    kernel = weight.shape[1:-1]
    lo = [dil * (k - 1) - p for dil, k, p in zip(dilation, kernel, padding)]
    hi = [l + op for l, op in zip(lo, output_padding)]
    return conv_general(input, weight, 1, (lo, hi), dilation, stride, groups, flip=True)


def conv_transpose1d(input, weight, /, stride=1, padding=0, dilation=1, output_padding=0,
                     groups=1, *, stream=None):
    """1-d transposed convolution: input (N, L, C_in), weight (C_out, K, C_in / groups)."""
    return _conv_transpose(input, weight, stride, padding, dilation, output_padding, groups, 1)


def conv_transpose2d(input, weight, /, stride=1, padding=0, dilation=1, output_padding=0,
                     groups=1, *, stream=None):
    """2-d transposed convolution: input (N, H, W, C_in), weight (C_out, KH, KW, C_in / groups)."""
    return _conv_transpose(input, weight, stride, padding, dilation, output_padding, groups, 2)


def conv_transpose3d(input, weight, /, stride=1, padding=0, dilation=1, output_padding=0,
                     groups=1, *, stream=None):
    """3-d transposed convolution."""
    return _conv_transpose(input, weight, stride, padding, dilation, output_padding, groups, 3)


__all__ += ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
