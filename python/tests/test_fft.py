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
