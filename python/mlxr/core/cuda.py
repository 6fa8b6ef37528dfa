"""``mlxr.core.cuda``: whether the CUDA backend can be used on this machine."""

from mlxr._core import _gpu_is_available


def is_available():
    """True when mlxr was built with CUDA and a usable NVIDIA GPU is present."""
    return _gpu_is_available()
