"""``mlxr.core.fft``: discrete Fourier transforms with MLX's signatures, computed by the
Rust core's ``FFT`` primitive (O(n log n) for every length through ``rustfft``; lazy and
differentiable, vjp/jvp/vmap as MLX defines them). On a GPU stream the primitive runs its
CPU kernel (a cuFFT path is future work)."""

from mlxr import _core as mx

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
           "irfft2", "rfftn", "irfftn", "fftshift", "ifftshift"]


def _one(a, n, axis, real, inverse, stream):
    return mx._fftn(a, None if n is None else [n], [axis], real, inverse, stream=stream)


def _many(a, s, axes, real, inverse, stream):
    return mx._fftn(a, None if s is None else list(s), None if axes is None else list(axes),
                    real, inverse, stream=stream)


def fft(a, n=None, axis=-1, stream=None):
    """One-dimensional discrete Fourier transform."""
    return _one(a, n, axis, False, False, stream)


def ifft(a, n=None, axis=-1, stream=None):
    """One-dimensional inverse discrete Fourier transform."""
    return _one(a, n, axis, False, True, stream)


def fft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional discrete Fourier transform."""
    return _many(a, s, axes, False, False, stream)


def ifft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional inverse discrete Fourier transform."""
    return _many(a, s, axes, False, True, stream)


def fftn(a, s=None, axes=None, stream=None):
    """N-dimensional discrete Fourier transform."""
    return _many(a, s, axes, False, False, stream)


def ifftn(a, s=None, axes=None, stream=None):
    """N-dimensional inverse discrete Fourier transform."""
    return _many(a, s, axes, False, True, stream)


def rfft(a, n=None, axis=-1, stream=None):
    """Discrete Fourier transform of a real signal: the ``n // 2 + 1`` non-negative
    frequencies."""
    return _one(a, n, axis, True, False, stream)


def irfft(a, n=None, axis=-1, stream=None):
    """Inverse of :func:`rfft` (``n`` defaults to ``2 * (a.shape[axis] - 1)``)."""
    return _one(a, n, axis, True, True, stream)


def rfft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional real FFT."""
    return _many(a, s, axes, True, False, stream)


def irfft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional inverse real FFT."""
    return _many(a, s, axes, True, True, stream)


def rfftn(a, s=None, axes=None, stream=None):
    """N-dimensional real FFT: real FFT of the last axis, complex FFTs of the others."""
    return _many(a, s, axes, True, False, stream)


def irfftn(a, s=None, axes=None, stream=None):
    """Inverse of :func:`rfftn`."""
    return _many(a, s, axes, True, True, stream)


def fftshift(a, axes=None, stream=None):
    """Move the zero frequency to the centre."""
    return mx._fftshift(a, None if axes is None else list(axes), False, stream=stream)


def ifftshift(a, axes=None, stream=None):
    """Inverse of :func:`fftshift`."""
    return mx._fftshift(a, None if axes is None else list(axes), True, stream=stream)
