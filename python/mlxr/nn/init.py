"""``mlxr.nn.init``: initializers returning functions ``array -> new array`` of the same
shape (``init(dtype=...)(a)``)."""

import math

import mlxr.core as mx


def constant(value, dtype=mx.float32):
    """Fill with ``value``."""
    return lambda a: mx.full(a.shape, value, dtype=dtype)


def normal(mean=0.0, std=1.0, dtype=mx.float32):
    """Samples of ``N(mean, std**2)``."""
    return lambda a: mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)


def uniform(low=0.0, high=1.0, dtype=mx.float32):
    """Samples of ``U(low, high)``."""
    return lambda a: mx.random.uniform(low, high, a.shape, dtype=dtype)


def identity(dtype=mx.float32):
    """The identity matrix (square 2-d arrays)."""
    def init(a):
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"The input array must be a square matrix but got shape {a.shape}.")
        return mx.eye(n=a.shape[0], dtype=dtype)
    return init


def _fans(a):
    if a.ndim < 2:
        raise ValueError(f"Glorot / He initialization requires at least 2 dimensional input but input with {a.ndim} dimensions.")
    fan_in = a.shape[-1]
    fan_out = a.shape[0]
    if a.ndim > 2:
        receptive = math.prod(a.shape[1:-1])
        fan_in *= receptive
        fan_out *= receptive
    return fan_in, fan_out


def glorot_normal(dtype=mx.float32):
    """Glorot (Xavier) normal initialisation."""
    def init(a, gain=1.0):
        fan_in, fan_out = _fans(a)
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
        return mx.random.normal(shape=a.shape, dtype=dtype) * std
    return init


def glorot_uniform(dtype=mx.float32):
    """Glorot (Xavier) uniform initialisation."""
    def init(a, gain=1.0):
        fan_in, fan_out = _fans(a)
        limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)
    return init


def he_normal(dtype=mx.float32):
    """He (Kaiming) normal initialisation."""
    def init(a, mode="fan_in", gain=1.0):
        fan_in, fan_out = _fans(a)
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
        if fan is None:
            raise ValueError(f"Invalid mode: {mode}. Valid modes are: fan_in, fan_out")
        std = gain / math.sqrt(fan)
        return mx.random.normal(shape=a.shape, dtype=dtype) * std
    return init


def he_uniform(dtype=mx.float32):
    """He (Kaiming) uniform initialisation."""
    def init(a, mode="fan_in", gain=1.0):
        fan_in, fan_out = _fans(a)
        fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
        if fan is None:
            raise ValueError(f"Invalid mode: {mode}. Valid modes are: fan_in, fan_out")
        limit = gain * math.sqrt(3.0 / fan)
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)
    return init


def orthogonal(gain=1.0, dtype=mx.float32):
    """A (semi-)orthogonal matrix from the QR factorisation of a normal sample, scaled by
    ``gain``."""
    def init(a):
        if a.ndim != 2:
            raise ValueError(f"Orthogonal initialization requires a 2D array but got a {a.ndim}D array.")
        rows, cols = a.shape
        n = max(rows, cols)
        rmat = mx.random.normal(shape=(n, n))
        q, r = mx.linalg.qr(rmat, stream=mx.cpu)
        d = mx.diag(r)
        q = q * mx.sign(d)
        q = q[:rows, :cols] if rows >= cols else q[:cols, :rows].T
        return (gain * q).astype(dtype)
    return init


def sparse(sparsity, mean=0.0, std=1.0, dtype=mx.float32):
    """A normal sample with ``ceil(sparsity * columns)`` zeros in each row."""
    def init(a):
        if a.ndim != 2:
            raise ValueError(f"Only tensors with 2 dimensions are supported, got {a.ndim}.")
        rows, cols = a.shape
        num_zeros = int(math.ceil(sparsity * cols))
        order = mx.argsort(mx.random.uniform(shape=a.shape), axis=1)
        a = mx.random.normal(shape=a.shape, scale=std, loc=mean, dtype=dtype)
        return mx.where(order < num_zeros, mx.zeros_like(a), a)
    return init
