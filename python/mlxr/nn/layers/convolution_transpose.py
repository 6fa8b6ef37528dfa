"""``mlxr.nn.layers.convolution_transpose`` (MLX's ``mlx.nn.layers.convolution_transpose``,
also reachable as ``mlxr.nn.convolution_transpose``): the transposed convolution layers.
They are defined in :mod:`.convolution`; this module gives them MLX's import path."""

from .convolution import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: F401

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
