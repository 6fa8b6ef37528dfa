"""Shared fixtures: ``mx`` is mlxr.core, ``mlx`` is MLX itself (the reference), and
``check`` compares an mlxr result with MLX's (values, shape and dtype)."""

import numpy as np
import pytest

import mlxr.core as mx

try:
    import mlx.core as mlx_core
except ImportError:  # pragma: no cover
    mlx_core = None


@pytest.fixture
def mlx():
    if mlx_core is None:
        pytest.skip("MLX is not installed")
    return mlx_core


def dn(d):
    """A dtype's name (``float32``) for MLX's and mlxr's dtypes."""
    return repr(d).split(".")[-1]


def to_np(a):
    if isinstance(a, (list, tuple)):
        return [to_np(x) for x in a]
    if dn(a.dtype) == "bfloat16":
        a = a.astype(mx.float32 if isinstance(a, mx.array) else mlx_core.float32)
    return np.array(a)


def assert_same(ours, ref, rtol=1e-5, atol=1e-6):
    """``ours`` (mlxr) equals ``ref`` (MLX or NumPy) in shape, dtype name and values."""
    if isinstance(ref, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(ref)
        for o, r in zip(ours, ref):
            assert_same(o, r, rtol, atol)
        return
    assert tuple(ours.shape) == tuple(ref.shape), (ours.shape, ref.shape)
    ref_name = str(ref.dtype) if isinstance(ref, np.ndarray) else dn(ref.dtype)
    if not isinstance(ref, np.ndarray):
        assert dn(ours.dtype) == ref_name, (ours.dtype, ref.dtype)
    o, r = to_np(ours), to_np(ref)
    if o.dtype.kind in "fc":
        np.testing.assert_allclose(o, r, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(o, r)
