"""Bad input raises MLX's Python exception types with a message, never crashes."""

import pytest

import mlxr.core as mx


@pytest.mark.parametrize("fn,exc", [
    (lambda: mx.array([1, 2]) + mx.array([1, 2, 3]), ValueError),
    (lambda: mx.reshape(mx.zeros((2, 3)), (4, 2)), ValueError),
    (lambda: mx.sum(mx.zeros((2,)), axis=3), ValueError),
    (lambda: mx.matmul(mx.zeros((2, 3)), mx.zeros((2, 3))), ValueError),
    (lambda: mx.array([1.0]) & mx.array([2.0]), ValueError),
    (lambda: mx.zeros((2,))[mx.array([0.5])], ValueError),
    (lambda: mx.load("/nonexistent/file.npy"), RuntimeError),
    (lambda: mx.array([[1, 2], [3]]), ValueError),
    (lambda: mx.array("text"), (TypeError, ValueError)),
    (lambda: mx.zeros((2,)).item(), ValueError),
    (lambda: mx.concatenate([mx.zeros((2, 3)), mx.zeros((3, 2))], axis=0), ValueError),
    (lambda: mx.transpose(mx.zeros((2, 3)), (0, 0)), ValueError),
    (lambda: mx.random.uniform(shape=(-1,)), ValueError),
    (lambda: mx.set_default_device(mx.gpu), (RuntimeError, ValueError)),
    (lambda: mx.zeros((2,)).astype("float32"), TypeError),
    (lambda: mx.split(mx.zeros((5,)), 2), ValueError),
])
def test_errors(fn, exc):
    with pytest.raises(exc) as e:
        mx.eval(fn())
    assert str(e.value)


def test_devices_and_memory(tmp_path):
    assert mx.default_device() == mx.Device(mx.cpu)
    assert repr(mx.default_device()) == "Device(cpu, 0)"
    s = mx.new_stream(mx.cpu)
    with mx.stream(s):
        y = mx.ones((3,)) + 1
    assert y.tolist() == [2.0, 2.0, 2.0]
    assert (mx.add(mx.ones((2,)), 1, stream=mx.cpu)).tolist() == [2.0, 2.0]
    mx.synchronize()
    assert isinstance(mx.get_active_memory(), int) and isinstance(mx.get_peak_memory(), int)
    mx.reset_peak_memory()
    mx.clear_cache()
    assert mx.metal.is_available() is False
    assert mx.cuda.is_available() in (False, True)


def test_io_roundtrip(tmp_path, mlx):
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    p = str(tmp_path / "a.npy")
    mx.save(p, a)
    assert mx.load(p).tolist() == a.tolist()
    assert mlx.load(p).tolist() == a.tolist()
    mx.savez(str(tmp_path / "b.npz"), a, w=a.astype(mx.int32))
    d = mx.load(str(tmp_path / "b.npz"))
    assert sorted(d) == ["arr_0", "w"] and d["w"].dtype == mx.int32
    st = str(tmp_path / "c.safetensors")
    mx.save_safetensors(st, {"x": a, "y": a.astype(mx.bfloat16)}, metadata={"k": "v"})
    arrays, meta = mx.load(st, return_metadata=True)
    assert meta == {"k": "v"} and arrays["y"].dtype == mx.bfloat16
    ref, ref_meta = mlx.load(st, return_metadata=True)
    assert ref_meta == {"k": "v"} and ref["x"].tolist() == a.tolist()


def test_io_file_objects(mlx):
    import io
    a = mx.array([[1.0, 2.0], [3.0, 4.0]])
    f = io.BytesIO()
    mx.save(f, a)
    f.seek(0)
    assert mx.load(f, format="npy").tolist() == a.tolist()
    f = io.BytesIO()
    mx.savez(f, x=a)
    f.seek(0)
    assert mx.load(f, format="npz")["x"].tolist() == a.tolist()
    f = io.BytesIO()
    mx.save_safetensors(f, {"x": a}, metadata={"m": "1"})
    f.seek(0)
    arrays, meta = mx.load(f, format="safetensors", return_metadata=True)
    assert arrays["x"].tolist() == a.tolist() and meta == {"m": "1"}
    with pytest.raises(ValueError):
        mx.load(io.BytesIO(b"junk"))
