"""Quantized layers and model quantization (MLX's ``QuantizedLinear``,
``QuantizedEmbedding``, ``QQLinear`` and ``nn.quantize``): weights are held packed with their
scales (and biases), frozen, and the forward pass is ``mx.quantized_matmul`` /
``mx.dequantize``; ``QQLinear`` also quantizes its input (``mx.qqmm``).
``Linear.to_quantized`` and ``Embedding.to_quantized`` are attached here."""

import math

import mlxr.core as mx
from mlxr.utils import tree_map_with_path
from .base import Module
from .linear import Embedding, Linear

_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "mxfp8": (32, 8), "nvfp4": (16, 4)}


def _defaults(group_size, bits, mode):
    g, b = _DEFAULTS.get(mode, (64, 4))
    return (group_size if group_size is not None else g, bits if bits is not None else b)


_QQ_MODES = ("nvfp4", "mxfp8")


def _check_mode(mode):
    if mode not in _DEFAULTS:
        raise ValueError(
            f"Invalid quantization mode '{mode}'. Valid modes are: affine, mxfp4, nvfp4, mxfp8."
        )


def _check_input(quantize_input):
    if quantize_input:
        raise ValueError("Quantized input is not supported.")


def _set_quantized(module, w, group_size, bits, mode):
    q = mx.quantize(w, group_size, bits, mode=mode)
    module.weight = q[0]
    module.scales = q[1]
    if mode == "affine":
        module.biases = q[2]


class QuantizedLinear(Module):
    """``y = x @ dequantize(weight).T + bias`` with the weight quantized in groups of
    ``group_size`` elements to ``bits`` bits (all parameters frozen)."""

    def __init__(self, input_dims, output_dims, bias=True, group_size=None, bits=None,
                 mode="affine"):
        super().__init__()
        self.group_size, self.bits = _defaults(group_size, bits, mode)
        self.mode = mode
        scale = math.sqrt(1 / input_dims)
        w = mx.random.uniform(low=-scale, high=scale, shape=(output_dims, input_dims))
        _set_quantized(self, w, self.group_size, self.bits, mode)
        if bias:
            self.bias = mx.zeros((output_dims,))
        self.freeze()

    def _extra_repr(self):
        out_dims, in_dims = self.weight.shape
        in_dims = in_dims * 32 // self.bits
        return (f"input_dims={in_dims}, output_dims={out_dims}, bias={'bias' in self}, "
                f"group_size={self.group_size}, bits={self.bits}, mode={self.mode}")

    def __call__(self, x):
        x = mx.quantized_matmul(
            x, self["weight"], scales=self["scales"], biases=self.get("biases"),
            transpose=True, group_size=self.group_size, bits=self.bits, mode=self.mode,
        )
        if "bias" in self:
            x = x + self["bias"]
        return x

    @classmethod
    def from_linear(cls, linear_layer, group_size=None, bits=None, mode="affine"):
        """A quantized copy of ``linear_layer``."""
        out_dims, in_dims = linear_layer.weight.shape
        ql = cls(in_dims, out_dims, False, group_size, bits, mode=mode)
        _set_quantized(ql, linear_layer.weight, ql.group_size, ql.bits, mode)
        if "bias" in linear_layer:
            ql.bias = linear_layer.bias
        ql.freeze()
        return ql


class QuantizedEmbedding(Module):
    """An embedding table held quantized; rows are dequantized on lookup."""

    def __init__(self, num_embeddings, dims, group_size=None, bits=None, mode="affine"):
        super().__init__()
        self.group_size, self.bits = _defaults(group_size, bits, mode)
        self.mode = mode
        scale = math.sqrt(1 / dims)
        w = mx.random.normal(shape=(num_embeddings, dims), scale=scale)
        _set_quantized(self, w, self.group_size, self.bits, mode)
        self.num_embeddings = num_embeddings
        self.dims = dims
        self.freeze()

    def _extra_repr(self):
        return (f"{self.num_embeddings}, {self.dims}, group_size={self.group_size}, "
                f"bits={self.bits}, mode={self.mode}")

    def __call__(self, x):
        biases = self.get("biases")
        return mx.dequantize(
            self["weight"][x], scales=self["scales"][x],
            biases=None if biases is None else biases[x],
            group_size=self.group_size, bits=self.bits, mode=self.mode,
        )

    def as_linear(self, x):
        """Use the table as the weight of a linear layer (tied output projection)."""
        return mx.quantized_matmul(
            x, self["weight"], scales=self["scales"], biases=self.get("biases"),
            transpose=True, group_size=self.group_size, bits=self.bits, mode=self.mode,
        )

    @classmethod
    def from_embedding(cls, embedding_layer, group_size=None, bits=None, mode="affine"):
        """A quantized copy of ``embedding_layer``."""
        n, dims = embedding_layer.weight.shape
        ql = cls(n, dims, group_size, bits, mode=mode)
        _set_quantized(ql, embedding_layer.weight, ql.group_size, ql.bits, mode)
        ql.freeze()
        return ql


class QQLinear(Module):
    """Quantizes the input and applies an affine transformation using quantized weights.

    Two use cases are supported:

    1) **Eval**:  The weights are frozen and stored in quantized form together with
       their scales (``self.weight`` is quantized and ``self.scales`` is provided).
    2) **Train**: The weights are stored in higher precision and are quantized on
         the fly during computation so that gradients with respect to the weights
         can be computed.

    To switch between the two cases, use ``layer.eval()`` and ``layer.train()``
    respectively.

    Compared to the :class:`mlx.nn.QuantizedLinear` layer, this layer
    quantizes the input as well and includes weights in gradient computations.

    :obj:`QQLinear` also provides the class method :meth:`from_linear` to
    convert :class:`mlx.nn.Linear` layers to :obj:`QQLinear` layers.

    Note: This layer does not support a bias term yet.

    Args:
        input_dims (int): The dimensionality of the input features.
        output_dims (int): The dimensionality of the output features.
        group_size (Optional[int]): The group size to use for the quantized weight.
            See :func:`~mlx.core.quantize`. Default: ``None``.
        bits (Optional[int]): The bit width to use for the quantized weight.
            See :func:`~mlx.core.quantize`. Default: ``None``.
        mode (Optional[str]): The quantization method to use (see
            :func:`mlx.core.quantize`). Currently, only ``"nvfp4"`` and ``"mxfp8"``
            are supported. Default: ``"nvfp4"``.
    """

    def __init__(self, input_dims, output_dims, group_size=None, bits=None, mode="nvfp4"):
        super().__init__()
        _check_mode(mode)
        self.group_size, self.bits = _defaults(group_size, bits, mode)
        self.mode = mode
        self._quantized = False
        scale = math.sqrt(1 / input_dims)
        self.weight = mx.random.uniform(low=-scale, high=scale,
                                        shape=(output_dims, input_dims))

    def _extra_repr(self):
        out_dims, in_dims = self.weight.shape
        if self._quantized:
            in_dims = in_dims * 32 // self.bits
        return (f"input_dims={in_dims}, output_dims={out_dims}, "
                f"group_size={self.group_size}, bits={self.bits}, mode={self.mode}")

    def quantize(self):
        """Store the weight quantized, with its scales (a no-op when already quantized)."""
        if self._quantized:
            return
        q = mx.quantize(self.weight, self.group_size, self.bits, mode=self.mode)
        if len(q) != 2:
            raise ValueError(
                f"QQLinear cannot hold a weight quantized in mode '{self.mode}': qqmm takes "
                "no biases (use 'nvfp4' or 'mxfp8')."
            )
        self.weight, self.scales = q
        self._quantized = True

    def dequantize(self):
        """Store the weight in higher precision again (``mx.dequantize``'s default dtype)."""
        if not self._quantized:
            return
        self.weight = mx.dequantize(self.weight, self.scales, group_size=self.group_size,
                                    bits=self.bits, mode=self.mode)
        del self["scales"]
        self._quantized = False

    def _set_training_mode(self, mode):
        super()._set_training_mode(mode)
        if mode:
            self.dequantize()
        else:
            self.quantize()

    def __call__(self, x):
        return mx.qqmm(x, self["weight"], scales=self.get("scales"),
                       group_size=self.group_size, bits=self.bits, mode=self.mode)

    @classmethod
    def from_linear(cls, linear_layer, group_size=None, bits=None, mode="nvfp4"):
        """Create a :obj:`QQLinear` layer from a :obj:`Linear` layer."""
        if "bias" in linear_layer:
            raise NotImplementedError("QQLinear does not support bias yet.")
        out_dims, in_dims = linear_layer.weight.shape
        ql = cls(in_dims, out_dims, group_size, bits, mode)
        ql.weight = linear_layer.weight
        return ql


def _linear_to_quantized(self, group_size=None, bits=None, mode="affine", quantize_input=False):
    """A :class:`QuantizedLinear` copy of this layer, or with ``quantize_input`` (modes
    ``"nvfp4"`` and ``"mxfp8"``) a :class:`QQLinear`."""
    if quantize_input:
        if mode not in _QQ_MODES:
            raise ValueError(
                "Quantized activations are only supported for 'nvfp4' and 'mxfp8' modes, "
                f"got {mode}."
            )
        return QQLinear.from_linear(self, group_size, bits, mode)
    return QuantizedLinear.from_linear(self, group_size, bits, mode)


def _embedding_to_quantized(self, group_size=None, bits=None, mode="affine",
                            quantize_input=False):
    """A :class:`QuantizedEmbedding` copy of this layer."""
    _check_input(quantize_input)
    return QuantizedEmbedding.from_embedding(self, group_size, bits, mode)


Linear.to_quantized = _linear_to_quantized
Embedding.to_quantized = _embedding_to_quantized


def quantize(model, group_size=None, bits=None, *, mode="affine", quantize_input=False,
             class_predicate=None):
    """Replace, in place, the leaf modules of ``model`` accepted by
    ``class_predicate(path, module)`` (default: those with ``to_quantized``) by their
    quantized versions. The predicate may return a dict of ``to_quantized`` arguments
    instead of ``True``. With ``quantize_input`` the linear layers become
    :class:`QQLinear` (their inputs are quantized too)."""
    if class_predicate is None:
        def class_predicate(_, m):
            return hasattr(m, "to_quantized")

    def _maybe_quantize(path, m):
        choice = class_predicate(path, m)
        if not choice:
            return m
        if not hasattr(m, "to_quantized"):
            raise ValueError(f"Unable to quantize model of type {type(m)}")
        if isinstance(choice, dict):
            return m.to_quantized(**choice)
        if quantize_input:
            return m.to_quantized(group_size=group_size, bits=bits, mode=mode,
                                  quantize_input=True)
        return m.to_quantized(group_size=group_size, bits=bits, mode=mode)

    leaves = model.leaf_modules()
    leaves = tree_map_with_path(_maybe_quantize, leaves, is_leaf=lambda x: isinstance(x, Module))
    model.update_modules(leaves)
