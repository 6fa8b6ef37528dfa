"""``mlxr.nn.layers.embedding`` (MLX's ``mlx.nn.layers.embedding``, also reachable as
``mlxr.nn.embedding``): the embedding layers. They are defined in :mod:`.linear` and
:mod:`.quantized`; this module gives them MLX's import path."""

from .linear import Embedding  # noqa: F401
from .quantized import QuantizedEmbedding  # noqa: F401

__all__ = ["Embedding", "QuantizedEmbedding"]
