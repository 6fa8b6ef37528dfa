"""Transformer encoder/decoder layers and stacks (``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``,
``Transformer``) with MLX's structure and parameter names."""

import mlxr.core as mx
from .activations import relu
from .base import Module
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm
from .transformer import MultiHeadAttention


class TransformerEncoderLayer(Module):
    """Self-attention and an MLP, each with a residual connection and layer norm (before
    the block when ``norm_first``)."""

    def __init__(self, dims, num_heads, mlp_dims=None, dropout=0.0, activation=relu, norm_first=True):
        super().__init__()
        mlp_dims = mlp_dims or dims * 4
        self.attention = MultiHeadAttention(dims, num_heads)
        self.ln1 = LayerNorm(dims)
        self.ln2 = LayerNorm(dims)
        self.linear1 = Linear(dims, mlp_dims)
        self.linear2 = Linear(mlp_dims, dims)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.norm_first = norm_first

    def __call__(self, x, mask):
        if self.norm_first:
            y = self.ln1(x)
            y = self.attention(y, y, y, mask)
            x = x + self.dropout1(y)
            y = self.ln2(x)
            y = self.linear2(self.dropout2(self.activation(self.linear1(y))))
            return x + y
        y = self.attention(x, x, x, mask)
        x = self.ln1(x + self.dropout1(y))
        y = self.linear2(self.dropout2(self.activation(self.linear1(x))))
        return self.ln2(x + y)


class TransformerEncoder(Module):
    """A stack of encoder layers followed by a layer norm."""

    def __init__(self, num_layers, dims, num_heads, mlp_dims=None, dropout=0.0,
                 activation=relu, norm_first=True, checkpoint=False):
        super().__init__()
        self.layers = [TransformerEncoderLayer(dims, num_heads, mlp_dims, dropout, activation, norm_first)
                       for _ in range(num_layers)]
        self.ln = LayerNorm(dims)
        self.checkpoint = checkpoint

    def __call__(self, x, mask):
        for layer in self.layers:
            if self.checkpoint:
                from ..utils import checkpoint
                x = checkpoint(layer)(x, mask)
            else:
                x = layer(x, mask)
        return self.ln(x)


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention to ``memory`` and an MLP, with residuals and
    layer norms."""

    def __init__(self, dims, num_heads, mlp_dims=None, dropout=0.0, activation=relu, norm_first=True):
        super().__init__()
        mlp_dims = mlp_dims or dims * 4
        self.self_attention = MultiHeadAttention(dims, num_heads)
        self.cross_attention = MultiHeadAttention(dims, num_heads)
        self.ln1 = LayerNorm(dims)
        self.ln2 = LayerNorm(dims)
        self.ln3 = LayerNorm(dims)
        self.linear1 = Linear(dims, mlp_dims)
        self.linear2 = Linear(mlp_dims, dims)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation
        self.norm_first = norm_first

    def __call__(self, x, memory, x_mask, memory_mask):
        if self.norm_first:
            y = self.ln1(x)
            y = self.self_attention(y, y, y, x_mask)
            x = x + self.dropout1(y)
            y = self.ln2(x)
            y = self.cross_attention(y, memory, memory, memory_mask)
            x = x + self.dropout2(y)
            y = self.ln3(x)
            y = self.linear2(self.dropout3(self.activation(self.linear1(y))))
            return x + y
        y = self.self_attention(x, x, x, x_mask)
        x = self.ln1(x + self.dropout1(y))
        y = self.cross_attention(y, memory, memory, memory_mask)
        x = self.ln2(x + self.dropout2(y))
        y = self.linear2(self.dropout3(self.activation(self.linear1(x))))
        return self.ln3(x + y)


class TransformerDecoder(Module):
    """A stack of decoder layers followed by a layer norm."""

    def __init__(self, num_layers, dims, num_heads, mlp_dims=None, dropout=0.0,
                 activation=relu, norm_first=True, checkpoint=False):
        super().__init__()
        self.layers = [TransformerDecoderLayer(dims, num_heads, mlp_dims, dropout, activation, norm_first)
                       for _ in range(num_layers)]
        self.ln = LayerNorm(dims)
        self.checkpoint = checkpoint

    def __call__(self, x, memory, x_mask, memory_mask):
        for layer in self.layers:
            x = layer(x, memory, x_mask, memory_mask)
        return self.ln(x)


class Transformer(Module):
    """An encoder-decoder transformer."""

    def __init__(self, dims=512, num_heads=8, num_encoder_layers=6, num_decoder_layers=6,
                 mlp_dims=None, dropout=0.0, activation=relu, custom_encoder=None,
                 custom_decoder=None, norm_first=True, checkpoint=False):
        super().__init__()
        self.encoder = custom_encoder or TransformerEncoder(
            num_encoder_layers, dims, num_heads, mlp_dims, dropout, activation, norm_first, checkpoint)
        self.decoder = custom_decoder or TransformerDecoder(
            num_decoder_layers, dims, num_heads, mlp_dims, dropout, activation, norm_first, checkpoint)

    def __call__(self, src, tgt, src_mask, tgt_mask, memory_mask):
        memory = self.encoder(src, src_mask)
        return self.decoder(tgt, memory, tgt_mask, memory_mask)
