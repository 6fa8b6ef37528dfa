"""The array class: construction, conversion, properties, operators with weak scalars,
indexing and updates, compared with MLX and NumPy."""

import pickle
import copy

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same, dn

DTYPES = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
          "int64", "float16", "bfloat16", "float32", "float64", "complex64"]


@pytest.mark.parametrize("val", [1, 2**40, 1.5, True, 1 + 2j, [1, 2, 3], [1.0, 2], [True, False],
                                 [[1, 2], [3, 4]], [[True, 2]], [], [[]], [1, 2.5j]])
def test_construction_matches_mlx(val, mlx):
    a, b = mx.array(val), mlx.array(val)
    assert a.shape == b.shape and dn(a.dtype) == dn(b.dtype)
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("dt", DTYPES)
def test_dtypes_roundtrip(dt, mlx):
    vals = [[0, 1, 2], [3, 4, 5]]
    a = mx.array(vals, getattr(mx, dt))
    b = mlx.array(vals, getattr(mlx, dt))
    assert a.dtype == getattr(mx, dt)
    assert a.itemsize == b.itemsize and a.nbytes == b.nbytes and a.size == 6 and a.ndim == 2
    assert a.tolist() == b.tolist()
    assert repr(a) == repr(b)
    assert repr(getattr(mx, dt)) == repr(getattr(mlx, dt))


@pytest.mark.parametrize("npdt", ["bool", "uint8", "int16", "int32", "int64", "float16",
                                  "float32", "float64", "complex64", "complex128"])
def test_from_numpy(npdt, mlx):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 4)) * 10).astype(npdt)
    a, b = mx.array(x), mlx.array(x)
    assert dn(a.dtype) == dn(b.dtype)
    np.testing.assert_array_equal(np.array(a), np.array(b))
    # Non-contiguous NumPy input.
    xt = x.T[::2]
    np.testing.assert_array_equal(np.array(mx.array(xt)), np.array(mlx.array(xt)))


def test_numpy_back_and_dtype_arg():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.array(x)
    y = np.array(a)
    assert y.dtype == np.float32 and np.array_equal(x, y)
    assert np.array(a.T).tolist() == x.T.tolist()
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    assert mx.array(x, mx.int32).dtype == mx.int32
    assert mx.array([1, 2], mx.float64).dtype == mx.float64
    b = mx.array([1.5, 2.5], mx.bfloat16)
    assert np.array(b).tolist() == [1.5, 2.5]


def test_item_tolist_scalars():
    assert mx.array(3).item() == 3 and isinstance(mx.array(3).item(), int)
    assert mx.array(2.5).item() == 2.5
    assert mx.array(True).item() is True
    assert mx.array(1 + 2j).item() == 1 + 2j
    assert mx.array([[1, 2]]).tolist() == [[1, 2]]
    with pytest.raises(ValueError):
        mx.array([1, 2]).item()
    assert float(mx.array(2.0)) == 2.0 and int(mx.array(7)) == 7
    assert bool(mx.array(1)) and not bool(mx.array(0))
    with pytest.raises(ValueError):
        bool(mx.array([1, 2]))


def test_len_iter_hash():
    a = mx.array([[1, 2], [3, 4], [5, 6]])
    assert len(a) == 3
    assert [r.tolist() for r in a] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError):
        len(mx.array(1))
    assert isinstance(hash(a), int)
    d = {a: 1}
    assert d[a] == 1


def test_properties(mlx):
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    a, b = mx.array(x), mlx.array(x)
    assert a.shape == b.shape == (2, 3, 4)
    assert_same(a.T, b.T)
    assert_same(a.reshape(6, 4), b.reshape(6, 4))
    assert_same(a.reshape((4, -1)), b.reshape((4, -1)))
    assert_same(a.transpose(1, 0, 2), b.transpose(1, 0, 2))
    assert_same(a.transpose(), b.transpose())
    assert_same(a.astype(mx.float16), b.astype(mlx.float16))
    assert_same(a.sum(axis=1), b.sum(axis=1))
    assert_same(a.mean(axis=(0, 2), keepdims=True), b.mean(axis=(0, 2), keepdims=True))
    assert_same(a.max(), b.max())
    assert_same(a.argmax(axis=-1), b.argmax(axis=-1))
    assert_same(a.flatten(), b.flatten())
    assert_same(a.swapaxes(0, 2), b.swapaxes(0, 2))
    assert_same(a[None].squeeze(0), b[None].squeeze(0))
    assert_same(a.var(ddof=1), b.var(ddof=1))
    assert_same(a.cumsum(axis=1), b.cumsum(axis=1))
    assert_same(a.exp(), b.exp())
    assert_same(a.mT, b.mT)
    assert_same(a.split(2, axis=2), b.split(2, axis=2))


SCALARS = [2, 2.5, True, -1]
BIN_OPS = ["__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
           "__pow__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__lt__", "__le__",
           "__gt__", "__ge__", "__eq__", "__ne__"]


@pytest.mark.parametrize("op", BIN_OPS)
@pytest.mark.parametrize("dt", ["float16", "bfloat16", "float32", "int8", "int32", "uint8", "bool_"])
@pytest.mark.parametrize("s", SCALARS)
def test_operators_weak_scalars(op, dt, s, mlx):
    vals = [[1, 2, 3], [4, 5, 6]]
    a = mx.array(vals).astype(getattr(mx, dt))
    b = mlx.array(vals).astype(getattr(mlx, dt))
    try:
        ref = getattr(b, op)(s)
        if ref is NotImplemented:
            raise TypeError
        ref = ref.astype(ref.dtype)
        mlx.eval(ref)
    except (ValueError, TypeError):
        with pytest.raises((ValueError, TypeError)):
            r = getattr(a, op)(s)
            if r is NotImplemented:
                raise TypeError
            mx.eval(r)
        return
    ours = getattr(a, op)(s)
    assert dn(ours.dtype) == dn(ref.dtype)
    assert_same(ours, ref, rtol=1e-2 if dt in ("float16", "bfloat16") else 1e-5)


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__", "__and__", "__or__",
                                "__xor__", "__lshift__", "__rshift__", "__mod__"])
def test_array_array_operators(op, mlx):
    rng = np.random.default_rng(2)
    x = rng.integers(1, 8, (3, 3)).astype(np.int32)
    y = rng.integers(1, 4, (3, 3)).astype(np.int32)
    assert_same(getattr(mx.array(x), op)(mx.array(y).T), getattr(mlx.array(x), op)(mlx.array(y).T))
    assert_same(-mx.array(x), -mlx.array(x))
    assert_same(~mx.array(x), ~mlx.array(x))
    assert_same(abs(mx.array(-x)), abs(mlx.array(-x)))


def test_integer_matmul_is_an_error_as_in_mlx(mlx):
    with pytest.raises(ValueError):
        mlx.eval(mlx.array([[1, 2]]) @ mlx.array([[1], [2]]))
    with pytest.raises(ValueError):
        mx.eval(mx.array([[1, 2]]) @ mx.array([[1], [2]]))


def test_weak_typing_examples():
    assert (mx.array([1], mx.float16) * 2.0).dtype == mx.float16
    assert (2.0 * mx.array([1], mx.float16)).dtype == mx.float16
    assert (mx.array([1], mx.int8) + 1).dtype == mx.int8
    assert (mx.array([1], mx.int8) + 1.5).dtype == mx.float32
    assert (mx.array([True]) + 1).dtype == mx.int32
    with pytest.raises(ValueError):
        mx.eval(mx.array([1], mx.uint8) + 300)


INDICES = [
    0, -1, slice(None), slice(1, None), slice(None, None, -1), slice(3, 0, -2),
    (0, 1), (slice(None), 1), (Ellipsis, 0), (None, 0), (0, None, slice(1, 3)),
    (slice(None), None, Ellipsis), ([0, 2],), ([[0, 1], [2, 3]], 1), (slice(None), [1, 0, 1]),
    ([0, 1], slice(None), [2, 3]), (0, [1, 2], [0, 1]), (Ellipsis, [0, 0]),
]


@pytest.mark.parametrize("idx", INDICES)
def test_getitem(idx, mlx):
    x = np.arange(4 * 5 * 6).reshape(4, 5, 6).astype(np.float32)
    a, b = mx.array(x), mlx.array(x)

    def conv(i, mod):
        if isinstance(i, tuple):
            return tuple(conv(j, mod) for j in i)
        if isinstance(i, list):
            return mod.array(i)
        return i

    assert_same(a[conv(idx, mx)], b[conv(idx, mlx)])
    # Same index on a transposed (non-contiguous) view.
    assert_same(a.transpose(1, 0, 2)[conv(idx, mx)], b.transpose(1, 0, 2)[conv(idx, mlx)])


@pytest.mark.parametrize("idx", [0, (1, 2), slice(1, 3), (slice(None), 0), (mx.array([0, 2]),)])
def test_setitem(idx, mlx):
    x = np.arange(12).reshape(3, 4).astype(np.float32)
    a, b = mx.array(x), mlx.array(x)
    bidx = tuple(mlx.array(np.array(i)) if isinstance(i, mx.array) else i for i in idx) \
        if isinstance(idx, tuple) else idx
    a[idx] = 7.5
    b[bidx] = 7.5
    assert_same(a, b)


def test_at_updates(mlx):
    x = np.zeros((5,), np.float32)
    idx = [0, 1, 1, 3]
    for m in ["add", "subtract", "multiply", "maximum", "minimum"]:
        ours = getattr(mx.array(x + 2).at[mx.array(idx)], m)(3.0)
        ref = getattr(mlx.array(x + 2).at[mlx.array(idx)], m)(3.0)
        assert_same(ours, ref)


def test_copy_pickle():
    a = mx.array([[1.0, 2.0]])
    assert copy.copy(a).tolist() == a.tolist()
    assert copy.deepcopy(a).tolist() == a.tolist()
    b = pickle.loads(pickle.dumps(a))
    assert b.tolist() == a.tolist() and b.dtype == a.dtype


def test_empty_arrays(mlx):
    a, b = mx.zeros((0, 3)), mlx.zeros((0, 3))
    assert_same(a.sum(axis=0), b.sum(axis=0))
    assert_same(a + 1, b + 1)
    assert a.tolist() == b.tolist() == []
    assert np.array(a).shape == (0, 3)


def test_finfo_iinfo(mlx):
    for d in ["float16", "bfloat16", "float32"]:
        assert mx.finfo(getattr(mx, d)).max == pytest.approx(mlx.finfo(getattr(mlx, d)).max, rel=1e-6)
        assert mx.finfo(getattr(mx, d)).eps == pytest.approx(mlx.finfo(getattr(mlx, d)).eps, rel=1e-6)
    for d in ["int8", "uint16", "int64"]:
        assert mx.iinfo(getattr(mx, d)).max == mlx.iinfo(getattr(mlx, d)).max
        assert mx.iinfo(getattr(mx, d)).min == mlx.iinfo(getattr(mlx, d)).min
    assert mx.issubdtype(mx.float16, mx.floating) and not mx.issubdtype(mx.int8, mx.floating)
    assert mx.issubdtype(mx.uint8, mx.integer) and mx.issubdtype(mx.integer, mx.number)


def test_inplace_operators_update_the_object(mlx):
    for m in (mx, mlx):
        a = m.array([1.0, 2.0])
        b = a
        a += 1
        a *= 2
        assert a is b and b.tolist() == [4.0, 6.0]
    c = mx.array([1], mx.int8)
    c += 1
    assert c.dtype == mx.int8


@pytest.mark.parametrize("dt", ["bool_", "uint8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64"])
def test_buffer_protocol(dt):
    a = mx.array([[1, 0, 3], [4, 5, 6]], getattr(mx, dt)).T
    m = memoryview(a)
    assert m.shape == (3, 2) and m.readonly and m.itemsize == a.itemsize
    np.testing.assert_array_equal(np.asarray(m), np.array(a))
    with pytest.raises(BufferError):
        memoryview(mx.array([1.0], mx.bfloat16))


def test_from_mlx_array_and_scalars(mlx):
    b = mlx.array([[1.5, 2.0]], mlx.float16)
    a = mx.array(b)
    assert a.dtype == mx.float16 and a.tolist() == [[1.5, 2.0]]
    assert mx.array(np.float32(2.5)).dtype == mx.float32
    assert mx.array(np.int64(3)).dtype == mx.int64
    assert mx.array([mx.array([1, 2]), mx.array([3, 4])]).tolist() == [[1, 2], [3, 4]]


def test_format_real_imag(mlx):
    a, b = mx.array([1 + 2j, 3 - 1j]), mlx.array([1 + 2j, 3 - 1j])
    assert_same(a.real, b.real)
    assert_same(a.imag, b.imag)
    assert f"{mx.array(2.0):.2f}" == f"{mlx.array(2.0):.2f}" == "2.00"
    assert f"{mx.array([1, 2])}" == f"{mlx.array([1, 2])}"
