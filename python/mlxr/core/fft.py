"""``mlxr.core.fft``: discrete Fourier transforms as products with DFT matrices
(complex64 matmuls), so they are lazy and differentiable like any op. The cost is
O(n^2) per transformed axis (no fast FFT kernel yet): fine for the small and medium sizes
of tests and models, slow for long signals."""

import math

import numpy as np

from mlxr import _core as mx

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
           "irfft2", "rfftn", "irfftn", "fftshift", "ifftshift"]


def _dft_matrix(n, inverse):
    k = np.arange(n)
    w = np.exp((2j if inverse else -2j) * np.pi * np.outer(k, k) / n).astype(np.complex64)
    return mx.array(w)


def _resize(x, n, axis):
    """Truncate or zero-pad ``x`` to ``n`` along ``axis``."""
    cur = x.shape[axis]
    if n == cur:
        return x
    if n < cur:
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(0, n)
        return x[tuple(idx)]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, n - cur)
    return mx.pad(x, pad)


def _norm_axis(axis, ndim):
    if axis < -ndim or axis >= ndim:
        raise ValueError(f"[fft] Invalid axis {axis} for array with {ndim} dimensions.")
    return axis % ndim


def _c1(a, n, axis, inverse):
    a = mx.array(a) if not isinstance(a, mx.array) else a
    axis = _norm_axis(axis, a.ndim)
    n = a.shape[axis] if n is None else n
    if n <= 0:
        raise ValueError(f"[fft] Invalid FFT output size {n}.")
    x = _resize(a.astype(mx.complex64), n, axis)
    x = mx.moveaxis(x, axis, -1)
    y = mx.matmul(x, _dft_matrix(n, inverse))
    if inverse:
        y = y * (1.0 / n)
    return mx.moveaxis(y, -1, axis)


def fft(a, n=None, axis=-1, stream=None):
    """One-dimensional discrete Fourier transform."""
    return _c1(a, n, axis, False)


def ifft(a, n=None, axis=-1, stream=None):
    """One-dimensional inverse discrete Fourier transform."""
    return _c1(a, n, axis, True)


def _axes_sizes(a, s, axes, default_axes):
    if axes is None:
        axes = default_axes if default_axes is not None else (
            list(range(-len(s), 0)) if s is not None else list(range(a.ndim)))
    axes = list(axes)
    if s is None:
        s = [a.shape[ax] for ax in axes]
    if len(s) != len(axes):
        raise ValueError("[fftn] Shape and axes have different sizes.")
    return list(s), axes


def fftn(a, s=None, axes=None, stream=None):
    """N-dimensional discrete Fourier transform."""
    s, axes = _axes_sizes(a, s, axes, None)
    for n, ax in zip(s, axes):
        a = _c1(a, n, ax, False)
    return a


def ifftn(a, s=None, axes=None, stream=None):
    """N-dimensional inverse discrete Fourier transform."""
    s, axes = _axes_sizes(a, s, axes, None)
    for n, ax in zip(s, axes):
        a = _c1(a, n, ax, True)
    return a


def fft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional discrete Fourier transform."""
    return fftn(a, s, axes)


def ifft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional inverse discrete Fourier transform."""
    return ifftn(a, s, axes)


def rfft(a, n=None, axis=-1, stream=None):
    """Discrete Fourier transform of a real signal: the ``n // 2 + 1`` non-negative
    frequencies."""
    if a.dtype == mx.complex64:
        a = mx.real(a)
    y = _c1(a, n, axis, False)
    axis = _norm_axis(axis, a.ndim)
    m = y.shape[axis] // 2 + 1
    idx = [slice(None)] * y.ndim
    idx[axis] = slice(0, m)
    return y[tuple(idx)]


def irfft(a, n=None, axis=-1, stream=None):
    """Inverse of :func:`rfft`: a real signal of length ``n`` (default
    ``2 * (a.shape[axis] - 1)``) from its non-negative frequencies."""
    axis = _norm_axis(axis, a.ndim)
    n = 2 * (a.shape[axis] - 1) if n is None else n
    if n <= 0:
        raise ValueError(f"[irfft] Invalid output size {n}.")
    m = n // 2 + 1
    x = _resize(a.astype(mx.complex64), m, axis)
    x = mx.moveaxis(x, axis, -1)
    k = np.arange(m)
    t = np.arange(n)
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    w = (c[:, None] * np.exp(2j * np.pi * np.outer(k, t) / n) / n).astype(np.complex64)
    y = mx.real(mx.matmul(x, mx.array(w)))
    return mx.moveaxis(y, -1, axis)


def rfftn(a, s=None, axes=None, stream=None):
    """N-dimensional real FFT: real FFT of the last axis, complex FFTs of the others."""
    s, axes = _axes_sizes(a, s, axes, None)
    y = rfft(a, s[-1], axes[-1])
    for n, ax in zip(s[:-1], axes[:-1]):
        y = _c1(y, n, ax, False)
    return y


def irfftn(a, s=None, axes=None, stream=None):
    """Inverse of :func:`rfftn`."""
    if axes is None:
        axes = list(range(-len(s), 0)) if s is not None else list(range(a.ndim))
    axes = list(axes)
    if s is None:
        s = [a.shape[ax] for ax in axes[:-1]] + [2 * (a.shape[axes[-1]] - 1)]
    for n, ax in zip(s[:-1], axes[:-1]):
        a = _c1(a, n, ax, True)
    return irfft(a, s[-1], axes[-1])


def rfft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional real FFT."""
    return rfftn(a, s, axes)


def irfft2(a, s=None, axes=[-2, -1], stream=None):
    """Two-dimensional inverse real FFT."""
    return irfftn(a, s, axes)


def fftshift(a, axes=None, stream=None):
    """Move the zero frequency to the centre."""
    axes = list(range(a.ndim)) if axes is None else list(axes)
    return mx.roll(a, [a.shape[ax] // 2 for ax in axes], axes)


def ifftshift(a, axes=None, stream=None):
    """Inverse of :func:`fftshift`."""
    axes = list(range(a.ndim)) if axes is None else list(axes)
    return mx.roll(a, [-(a.shape[ax] // 2) for ax in axes], axes)
