"""The layers of ``mlxr.nn``."""

from .activations import *  # noqa: F401,F403
from .base import Module  # noqa: F401
from .containers import Sequential  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .linear import Bilinear, Embedding, Identity, Linear  # noqa: F401
from .normalization import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, RMSNorm  # noqa: F401
from .positional_encoding import RoPE, SinusoidalPositionalEncoding  # noqa: F401
from .transformer import MultiHeadAttention  # noqa: F401
from .convolution import (  # noqa: F401
    Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
)
from .pooling import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d  # noqa: F401
from .dropout import Dropout2d, Dropout3d  # noqa: F401
from .recurrent import GRU, LSTM, RNN  # noqa: F401
from .transformer_layers import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)
from .upsample import ALiBi, Upsample  # noqa: F401
from . import distributed  # noqa: F401
from .distributed import (  # noqa: F401
    AllToShardedLinear, FullyShardedModule, QuantizedAllToShardedLinear,
    QuantizedShardedToAllLinear, ShardedToAllLinear, fully_shard, shard_inplace, shard_linear,
)
from .quantized import QQLinear, QuantizedEmbedding, QuantizedLinear, quantize  # noqa: F401
from . import convolution_transpose, embedding  # noqa: F401
