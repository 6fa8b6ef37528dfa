"""``mlxr.core.fft``: discrete Fourier transforms with MLX's signatures, computed by the
Rust core's ``FFT`` primitive (O(n log n) for every length through ``rustfft``; lazy and
differentiable, vjp/jvp/vmap as MLX defines them). On a GPU stream the primitive runs its
CPU kernel (a cuFFT path is future work). ``fftfreq`` / ``rfftfreq`` and the short-time
transforms ``stft`` / ``istft`` are compositions in the Rust core (``ops::fft``)."""

from mlxr import _core as mx

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
           "irfft2", "rfftn", "irfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq", "stft",
           "istft"]


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


def fftfreq(n, d=1.0, stream=None):
    """Return the discrete Fourier Transform sample frequencies.

    Args:
        n (int): Window length.
        d (float, optional): Sample spacing. The default is ``1.0``.

    Returns:
        array: The sample frequencies as a one-dimensional array of type ``float32``.
    """
    return mx._fftfreq(n, d, False, stream=stream)


def rfftfreq(n, d=1.0, stream=None):
    """Return the discrete Fourier Transform sample frequencies
    for use with :func:`rfft` and :func:`irfft`.

    The returned array contains the non-negative frequency terms
    in the range ``[0, floor(n/2)]``.

    Args:
        n (int): Window length.
        d (float, optional): Sample spacing. The default is ``1.0``.

    Returns:
        array: The sample frequencies as a one-dimensional array of type ``float32``.
    """
    return mx._fftfreq(n, d, True, stream=stream)


def stft(x, n_fft=2048, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", norm="backward", onesided=None, stream=None):
    """Short-Time Fourier Transform.

    Splits the last axis of ``x`` into overlapping frames of length
    ``n_fft``, applies ``window``, and takes the Fourier Transform of each
    frame. The output is always complex with shape ``(..., n_freq, n_frames)``.

    Args:
        x (array): The input array.
        n_fft (int, optional): Size of the Fourier Transform. Default is ``2048``.
        hop_length (int, optional): Samples between frames. Default is ``n_fft // 4``.
        win_length (int, optional): Window size. Default is ``n_fft``.
        window (array, optional): A one-dimensional window, centered and
           zero-padded to ``n_fft``. Default is a rectangular window.
        center (bool, optional): Pad both ends so frames are centered. Default is ``True``.
        pad_mode (str, optional): One of ``"reflect"``, ``"constant"``, or
           ``"edge"``, used when ``center`` is ``True``. Default is ``"reflect"``.
        norm (str, optional): One of ``"backward"``, ``"ortho"``, or
           ``"forward"``. Default is ``"backward"``.
        onesided (bool, optional): Return only non-negative frequencies.
           Default is ``True`` for real input and ``False`` for complex input.

    Returns:
        array: The STFT of ``x``.
    """
    return mx._stft(x, n_fft, hop_length, win_length, window, center, pad_mode, norm,
                    onesided, stream=stream)


def istft(stft_matrix, n_fft=None, hop_length=None, win_length=None, window=None,
          center=True, norm="backward", onesided=None, length=None, stream=None):
    """Inverse Short-Time Fourier Transform.

    Inverts :func:`stft` by overlap-adding the windowed inverse transform
    of each frame, normalized by the squared-window envelope.

    Args:
        stft_matrix (array): The STFT with shape ``(..., n_freq, n_frames)``.
        n_fft (int, optional): Size of the Fourier Transform. Default is
           inferred from ``n_freq`` and ``onesided``. The onesided inference
           is even; pass ``n_fft`` for an odd transform size.
        hop_length (int, optional): Samples between frames. Default is ``n_fft // 4``.
        win_length (int, optional): Window size. Default is ``n_fft``.
        window (array, optional): A one-dimensional window. Default is a
           rectangular window.
        center (bool, optional): Whether the STFT was centered. Default is ``True``.
        norm (str, optional): One of ``"backward"``, ``"ortho"``, or
           ``"forward"``. Default is ``"backward"``.
        onesided (bool, optional): Whether the STFT has only non-negative
           frequencies. Default is ``True``.
        length (int, optional): Trim or zero-pad the output to this length.

    Returns:
        array: The reconstructed signal.
    """
    return mx._istft(stft_matrix, n_fft, hop_length, win_length, window, center, norm,
                     onesided, length, stream=stream)
