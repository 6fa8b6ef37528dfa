"""``mx.fft`` (DFT-matrix products) against MLX, values and gradients."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

rng = np.random.default_rng(12)
R = rng.standard_normal((3, 8)).astype(np.float32)
C = (rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))).astype(np.complex64)

CASES = {
    "fft": lambda m: m.fft.fft(m.array(C)),
    "fft_n": lambda m: m.fft.fft(m.array(R), n=5, axis=0),
    "ifft": lambda m: m.fft.ifft(m.array(C), axis=0),
    "fft2": lambda m: m.fft.fft2(m.array(C)),
    "ifftn": lambda m: m.fft.ifftn(m.array(C)),
    "rfft": lambda m: m.fft.rfft(m.array(R)),
    "rfft_odd": lambda m: m.fft.rfft(m.array(R), n=7),
    "irfft": lambda m: m.fft.irfft(m.fft.rfft(m.array(R))),
    "irfft_n": lambda m: m.fft.irfft(m.array(C), n=9),
    "rfft2": lambda m: m.fft.rfft2(m.array(R)),
    "irfft2": lambda m: m.fft.irfft2(m.fft.rfft2(m.array(R))),
    "rfftn": lambda m: m.fft.rfftn(m.array(R).reshape(2, 3, 4)),
    "fftshift": lambda m: m.fft.fftshift(m.array(R)),
    "ifftshift": lambda m: m.fft.ifftshift(m.array(R), axes=[1]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fft(name, mlx):
    assert_same(CASES[name](mx), CASES[name](mlx), rtol=1e-4, atol=1e-4)


def test_fft_grad(mlx):
    def f(m):
        return lambda x: m.sum(m.abs(m.fft.rfft(x)) ** 2)
    assert_same(mx.grad(f(mx))(mx.array(R)), mlx.grad(f(mlx))(mlx.array(R)), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("n", [1, 7, 97, 1000, 1009, 4096])
def test_fft_lengths_vs_numpy(n):
    """Odd, prime and long lengths (the Rust core's O(n log n) kernel) against NumPy."""
    x = (rng.standard_normal((2, n)) + 1j * rng.standard_normal((2, n))).astype(np.complex64)
    np.testing.assert_allclose(np.array(mx.fft.fft(mx.array(x))), np.fft.fft(x), rtol=1e-4, atol=1e-3)
    r = x.real.copy()
    np.testing.assert_allclose(np.array(mx.fft.rfft(mx.array(r))), np.fft.rfft(r), rtol=1e-4, atol=1e-3)
    if n > 1:
        h = np.fft.rfft(r)
        np.testing.assert_allclose(np.array(mx.fft.irfft(mx.array(h.astype(np.complex64)), n=n)),
                                   np.fft.irfft(h, n=n), rtol=1e-4, atol=1e-4)


def test_fft_vjp_jvp_vmap(mlx):
    """vjp / jvp / vmap of the transforms against MLX."""
    x = C
    g = (rng.standard_normal((4, 7)) + 1j * rng.standard_normal((4, 7))).astype(np.complex64)
    for m_ in (mx, mlx):
        pass
    ours = mx.vjp(lambda a: mx.fft.fft(a, n=7), [mx.array(x)], [mx.array(g)])[1][0]
    ref = mlx.vjp(lambda a: mlx.fft.fft(a, n=7), [mlx.array(x)], [mlx.array(g)])[1][0]
    assert_same(ours, ref, rtol=1e-4, atol=1e-4)
    ours = mx.jvp(lambda a: mx.fft.irfft(a), [mx.array(x)], [mx.array(x)])[1][0]
    ref = mlx.jvp(lambda a: mlx.fft.irfft(a), [mlx.array(x)], [mlx.array(x)])[1][0]
    assert_same(ours, ref, rtol=1e-4, atol=1e-4)
    assert_same(mx.vmap(mx.fft.rfft, in_axes=1)(mx.array(R)),
                mlx.vmap(mlx.fft.rfft, in_axes=1)(mlx.array(R)), rtol=1e-4, atol=1e-4)


def test_fft_errors():
    with pytest.raises(ValueError):
        mx.fft.fft(mx.array(R), n=0)
    with pytest.raises(ValueError):
        mx.fft.fft(mx.array(R), axis=3)
    with pytest.raises(ValueError):
        mx.fft.fftn(mx.array(R), axes=[0, 0])
