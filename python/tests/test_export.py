"""``mx.export_function`` / ``mx.import_function`` / ``mx.exporter``: an imported function
returns what the original returns and what MLX's exported function returns for the same
Python function (elementwise ops, reductions, matmul, indexing, sort, scans, conv, fft,
random with a key, an MLP, captured constants, several outputs); keyword inputs and MLX's
tuple / dict input forms; several traces per file; shapeless import; metadata; the errors
(wrong inputs, bad outputs, corrupt / truncated / missing files, duplicate signatures)."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

rng = np.random.default_rng(5)


def R(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def both(mlx, fun_of, arrays, tmp_path, kw_arrays=None, shapeless=False):
    """Export ``fun_of(module)`` under mlxr and under MLX on the same inputs, import both,
    and check the imported mlxr function against the original and against MLX's."""
    kw_arrays = kw_arrays or {}
    ours_in = [mx.array(a) for a in arrays]
    ours_kw = {k: mx.array(v) for k, v in kw_arrays.items()}
    ref_in = [mlx.array(a) for a in arrays]
    ref_kw = {k: mlx.array(v) for k, v in kw_arrays.items()}
    p_ours, p_ref = str(tmp_path / "ours.mlxfn"), str(tmp_path / "ref.mlxfn")
    mx.export_function(p_ours, fun_of(mx), *ours_in, shapeless=shapeless, **ours_kw)
    mlx.export_function(p_ref, fun_of(mlx), *ref_in, shapeless=shapeless, **ref_kw)
    got = mx.import_function(p_ours)(*ours_in, **ours_kw)
    ref = mlx.import_function(p_ref)(*ref_in, **ref_kw)
    direct = fun_of(mx)(*ours_in, **ours_kw)
    if isinstance(direct, mx.array):
        direct = (direct,)
    assert isinstance(got, tuple)
    assert_same(list(got), list(direct), rtol=0, atol=0)
    assert_same(list(got), list(ref), rtol=1e-4, atol=1e-5)
    return got


def test_elementwise_and_reductions(mlx, tmp_path):
    def fun_of(m):
        def f(x, y):
            a = m.exp(m.sin(x)) * m.tanh(y) + m.maximum(x, 0.1)
            b = m.where(x > y, m.sqrt(m.abs(x)), m.square(y))
            return (a, b, m.sum(a, axis=1), m.max(b, axis=0), m.argmax(a, axis=1),
                    m.logsumexp(a, axis=-1), m.softmax(b, axis=-1), m.mean(x))
        return f
    both(mlx, fun_of, [R(3, 4), R(3, 4)], tmp_path)


def test_matmul_indexing_sort_scan(mlx, tmp_path):
    def fun_of(m):
        def f(x, w, idx):
            h = x @ w
            return [h, m.take(h, idx, axis=0), m.sort(h, axis=-1), m.argsort(x, axis=0),
                    m.cumsum(h, axis=1), m.cumprod(x, axis=0, reverse=True),
                    h[1:, ::2], m.transpose(x).reshape(-1), m.concatenate([x, x], axis=1),
                    m.pad(x, [(1, 0), (0, 2)])]
        return f
    idx = np.array([2, 0, 2], dtype=np.int32)
    both(mlx, fun_of, [R(3, 4), R(4, 5), idx], tmp_path)


def test_scatter_and_put(mlx, tmp_path):
    def fun_of(m):
        def f(x, idx):
            y = x.at[idx].add(1.0)
            z = m.put_along_axis(x, m.argsort(x, axis=1), m.array(2.0), axis=1)
            return y, z
        return f
    both(mlx, fun_of, [R(4, 3), np.array([0, 2, 0], dtype=np.int32)], tmp_path)


def test_conv_and_fft(mlx, tmp_path):
    def fun_of(m):
        def f(x, w, s):
            return m.conv2d(x, w, padding=1), m.abs(m.fft.rfft(s)), m.fft.irfft(m.fft.rfft(s))
        return f
    both(mlx, fun_of, [R(1, 5, 5, 2), R(3, 3, 3, 2), R(2, 8)], tmp_path)


def test_random_with_a_key(tmp_path):
    def f(key, x):
        return x + mx.random.normal(x.shape, key=key), mx.random.uniform(shape=(3,), key=key)
    p = str(tmp_path / "r.mlxfn")
    x = mx.array(R(2, 3))
    mx.export_function(p, f, mx.random.key(0), x)
    g = mx.import_function(p)
    for seed in (0, 3):
        k = mx.random.key(seed)
        assert_same(list(g(k, x)), list(f(k, x)), rtol=0, atol=0)
    assert not np.array_equal(np.array(g(mx.random.key(0), x)[0]),
                              np.array(g(mx.random.key(3), x)[0]))


def test_mlp_and_captured_constants(mlx, tmp_path):
    w1, b1, w2 = R(6, 8), R(8), R(8, 3)

    def fun_of(m):
        W1, B1, W2 = m.array(w1), m.array(b1), m.array(w2)

        def f(x):
            h = m.maximum(x @ W1 + B1, 0)
            return m.softmax(h @ W2, axis=-1)
        return f
    got = both(mlx, fun_of, [R(5, 6)], tmp_path)
    assert got[0].shape == (5, 3)

    # A rebound capture does not change the exported function.
    w = mx.array([1.0, 2.0, 3.0])
    p = str(tmp_path / "c.mlxfn")
    mx.export_function(p, lambda x: x * w, mx.ones(3))
    w = mx.zeros(3)
    assert np.array(mx.import_function(p)(mx.ones(3))[0]).tolist() == [1.0, 2.0, 3.0]


def test_keyword_inputs_and_input_forms(mlx, tmp_path):
    def fun_of(m):
        def f(x, *, w, b):
            return [x @ w + b, m.sum(x)]
        return f
    got = both(mlx, fun_of, [R(2, 3)], tmp_path, kw_arrays={"w": R(3, 4), "b": R(4)})
    p = str(tmp_path / "ours.mlxfn")
    x, w, b = mx.array(R(2, 3)), mx.array(R(3, 4)), mx.array(R(4))
    g = mx.import_function(p)
    direct = fun_of(mx)(x, w=w, b=b)
    assert_same(list(g(x, w=w, b=b)), direct, rtol=0, atol=0)
    assert_same(list(g((x,), {"w": w, "b": b})), direct, rtol=0, atol=0)
    # Exporting with the tuple-and-dict form.
    p2 = str(tmp_path / "forms.mlxfn")
    mx.export_function(p2, fun_of(mx), (x,), {"w": w, "b": b})
    assert_same(list(mx.import_function(p2)(x, w=w, b=b)), direct, rtol=0, atol=0)
    with pytest.raises(ValueError, match="No imported function"):
        g(x, w=w)
    with pytest.raises(ValueError, match="No imported function"):
        g(x, w, b)
    assert len(got) == 2


def test_exporter_several_traces(mlx, tmp_path):
    def fun(*args):
        return sum(args)

    p = str(tmp_path / "e.mlxfn")
    with mx.exporter(p, fun) as ex:
        ex(mx.array(1))
        ex(mx.array(1), mx.array(2))
        ex(mx.array(1), mx.array(2), mx.array(3))
        ex(mx.array([1.0, 2.0]))
        with pytest.raises(RuntimeError, match="same signature"):
            ex(mx.array(7))
    g = mx.import_function(p)
    assert g(mx.array(5))[0].item() == 5
    assert g(mx.array(5), mx.array(6))[0].item() == 11
    assert g(mx.array(5), mx.array(6), mx.array(7))[0].item() == 18
    assert np.array(g(mx.array([3.0, 4.0]))[0]).tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match="No imported function"):
        g(mx.array([1, 2, 3]))

    # The same under MLX, for the record of its behaviour.
    pr = str(tmp_path / "e_ref.mlxfn")
    with mlx.exporter(pr, fun) as ex:
        ex(mlx.array(1))
        ex(mlx.array(1), mlx.array(2))
    gr = mlx.import_function(pr)
    assert gr(mlx.array(5), mlx.array(6))[0].item() == g(mx.array(5), mx.array(6))[0].item()


def test_shapeless(mlx, tmp_path):
    def fun_of(m):
        def f(x, y):
            return m.exp(x) * y + 1
        return f
    p = str(tmp_path / "s.mlxfn")
    mx.export_function(p, fun_of(mx), mx.ones((2, 3)), mx.ones((2, 3)), shapeless=True)
    pr = str(tmp_path / "s_ref.mlxfn")
    mlx.export_function(pr, fun_of(mlx), mlx.ones((2, 3)), mlx.ones((2, 3)), shapeless=True)
    x, y = R(4, 5), R(4, 5)
    got = mx.import_function(p)(mx.array(x), mx.array(y))
    ref = mlx.import_function(pr)(mlx.array(x), mlx.array(y))
    assert_same(got[0], ref[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        mx.import_function(p)(mx.ones((4,)), mx.ones((4,)))
    with pytest.raises(ValueError):
        mx.import_function(p)(mx.ones((4, 5), dtype=mx.int32), mx.ones((4, 5)))


def test_metadata(tmp_path):
    p = str(tmp_path / "m.mlxfn")
    mx.export_function(p, lambda x: x, mx.ones(2), metadata='{"a": 1}')
    fn, meta = mx.import_function(p, return_metadata=True)
    assert meta == '{"a": 1}'
    assert np.array(fn(mx.zeros(2))[0]).tolist() == [0.0, 0.0]


def test_errors(mlx, tmp_path):
    p = str(tmp_path / "a.mlxfn")
    mx.export_function(p, lambda x, y: x + y, mx.ones(3), mx.ones(3))
    g = mx.import_function(p)
    for args in [(mx.ones(3),), (mx.ones(3), mx.ones(2)), (mx.ones(3), mx.ones(3, dtype=mx.int32)),
                 (mx.ones(3), mx.ones(3), mx.ones(3))]:
        with pytest.raises(ValueError, match="No imported function"):
            g(*args)
        ref = [mlx.ones(a.shape, dtype=mlx.int32 if a.dtype == mx.int32 else mlx.float32)
               for a in args]
        mlx.export_function(str(tmp_path / "b.mlxfn"), lambda x, y: x + y, mlx.ones(3),
                            mlx.ones(3))
        with pytest.raises(ValueError):
            mlx.import_function(str(tmp_path / "b.mlxfn"))(*ref)
    # Bad outputs and inputs, as MLX.
    for m in (mx, mlx):
        with pytest.raises(ValueError, match="Outputs can be"):
            m.export_function(str(tmp_path / "o.mlxfn"), lambda x: {"a": x}, m.ones(2))
        with pytest.raises(ValueError, match="Inputs can either"):
            m.export_function(str(tmp_path / "i.mlxfn"), lambda x, y: x, m.ones(2), 1.0)
    # Corrupt, truncated and missing files raise RuntimeError (as MLX).
    data = open(p, "rb").read()
    bad = tmp_path / "bad.mlxfn"
    for content in [b"garbage", data[: len(data) // 2], data[:-1],
                    data[:20] + bytes([data[20] ^ 0xFF]) + data[21:]]:
        bad.write_bytes(content)
        with pytest.raises(RuntimeError):
            mx.import_function(str(bad))
    bad.write_bytes(b"garbage")
    with pytest.raises(RuntimeError):
        mlx.import_function(str(bad))
    with pytest.raises(RuntimeError, match="Failed to open"):
        mx.import_function(str(tmp_path / "missing.mlxfn"))
    # A Python exception inside the exported function propagates unchanged.
    def boom(x):
        raise KeyError("boom")
    with pytest.raises(KeyError):
        mx.export_function(str(tmp_path / "k.mlxfn"), boom, mx.ones(2))
