"""``mlxr.nn.layers.distributed``: tensor-parallel linear layers over
``mlxr.core.distributed`` with MLX's API (``mlx.nn.layers.distributed``).

- :class:`AllToShardedLinear` holds a block of the output features: every process reads the
  whole input and produces its own slice of the output; the input's gradient is summed over
  the group (:func:`sum_gradients`).
- :class:`ShardedToAllLinear` holds a block of the input features: every process reads its
  slice of the input and the partial products are summed over the group, so every process
  ends with the whole output.
- :class:`QuantizedAllToShardedLinear` / :class:`QuantizedShardedToAllLinear` are their
  quantized (frozen) equivalents.
- :func:`shard_linear` turns a :class:`~mlxr.nn.Linear` (or
  :class:`~mlxr.nn.QuantizedLinear`) into one of them, and :func:`shard_inplace` shards any
  module's parameters in place.
- :class:`FullyShardedModule` (made by :func:`fully_shard`) keeps only this process's
  shard (along axis 0) of every parameter of a module and gathers them for the forward
  pass; the gradients are reduce-scattered back to the shards.

``segments`` describes fused weights (e.g. 3 for a fused QKV projection, or fractions of the
axis): each segment is split among the processes separately, so every process keeps the
matching rows of every segment."""

import math
from functools import lru_cache

import mlxr.core as mx
from mlxr.utils import tree_flatten, tree_map_with_path, tree_unflatten

from .base import Module
from .linear import Linear
from .quantized import QuantizedLinear


@lru_cache
def sum_gradients(group):
    """A function that is the identity in the forward pass and sums the cotangent over
    ``group`` in the backward pass (the identity itself for a group of one process)."""
    if group.size() == 1:
        return lambda x: x

    @mx.custom_function
    def identity(x):
        return x

    @identity.vjp
    def identity(x, cotangent, output):
        return mx.distributed.all_sum(cotangent, group=group)

    return identity


def _group(group):
    return group if group is not None else mx.distributed.init()


def _pieces(weight, segments, axis):
    """``weight`` cut along ``axis`` into ``segments``: a count, split points, or split
    points given as fractions of the axis."""
    if isinstance(segments, int):
        return mx.split(weight, segments, axis=axis)
    points = list(segments)
    if points and not isinstance(points[0], int):
        size = weight.shape[axis]
        points = [int(f * size) for f in points]
    return mx.split(weight, points, axis=axis)


def _shard_tree(parameters, predicate, group):
    """A copy of ``parameters`` where each array for which ``predicate(path, array)``
    names an axis (``axis`` or ``(axis, segments)``) keeps only this process's block of
    every segment along that axis."""
    group = _group(group)
    n, rank = group.size(), group.rank()

    def shard(path, w):
        if not isinstance(w, mx.array):
            return w
        spec = predicate(path, w)
        if spec is None:
            return w
        if isinstance(spec, int):
            axis, segments = spec, 1
        elif isinstance(spec, tuple):
            axis, segments = spec
        else:
            raise ValueError("The sharding function should return int or tuple[int, list]")
        mine = [mx.split(part, n, axis=axis)[rank] for part in _pieces(w, segments, axis)]
        return mx.contiguous(mx.concatenate(mine, axis=axis))

    return tree_map_with_path(shard, parameters)


def _output_sharding(segments):
    """Shard a linear layer's outputs: the weight's row axis and the bias."""

    def predicate(path, w):
        if path.endswith("bias"):
            return -1, segments
        return max(w.ndim - 2, 0), segments

    return predicate


def _input_sharding(segments):
    """Shard a linear layer's inputs: the weight's column axis (the bias is kept whole)."""

    def predicate(path, w):
        if path.endswith("bias"):
            return None
        return -1, segments

    return predicate


_SHARDINGS = {"all-to-sharded": _output_sharding, "sharded-to-all": _input_sharding}


def _predicate(sharding, segments):
    if sharding not in _SHARDINGS:
        raise ValueError(
            f"Sharding type sharding={sharding!r} not supported, choose one of "
            "'all-to-sharded' or 'sharded-to-all'"
        )
    return _SHARDINGS[sharding](segments)


def shard_inplace(module, sharding, *, segments=1, group=None):
    """Replace ``module``'s parameters by this process's shards. ``sharding`` is
    ``"all-to-sharded"``, ``"sharded-to-all"`` or a callable ``(path, weight)`` returning
    the axis (or ``(axis, segments)``, or ``None`` to keep the weight whole). The module's
    forward pass is unchanged, so it must do the communication itself."""
    if isinstance(sharding, str):
        sharding = _predicate(sharding, segments)
    module.update(_shard_tree(module.parameters(), sharding, group))


def shard_linear(module, sharding, *, segments=1, group=None):
    """A new sharded layer (``"all-to-sharded"``: :class:`AllToShardedLinear`,
    ``"sharded-to-all"``: :class:`ShardedToAllLinear`, or their quantized versions for a
    :class:`~mlxr.nn.QuantizedLinear`) holding this process's shard of ``module``'s
    parameters; ``module`` is not changed."""
    _predicate(sharding, segments)
    to_sharded = sharding == "all-to-sharded"
    if isinstance(module, QuantizedLinear):
        cls = QuantizedAllToShardedLinear if to_sharded else QuantizedShardedToAllLinear
        return cls.from_quantized_linear(module, segments=segments, group=group)
    if not isinstance(module, Linear):
        raise ValueError(
            "shard_linear: mlxr shards Linear and QuantizedLinear layers only, not "
            f"{type(module).__name__}"
        )
    cls = AllToShardedLinear if to_sharded else ShardedToAllLinear
    return cls.from_linear(module, segments=segments, group=group)


def _uniform(scale, shape):
    return mx.random.uniform(low=-scale, high=scale, shape=shape)


class AllToShardedLinear(Module):
    """A linear layer whose output features are split over the processes of ``group``:
    each process computes ``output_dims / size`` of them from the whole input. Gradients
    with respect to the input are summed over the group."""

    def __init__(self, input_dims, output_dims, bias=True, group=None):
        super().__init__()
        self.group = _group(group)
        n = self.group.size()
        if output_dims % n != 0:
            raise ValueError(f"Cannot shard the output of size {output_dims} across {n} devices.")
        scale = math.sqrt(1.0 / input_dims)
        self.weight = _uniform(scale, (output_dims // n, input_dims))
        if bias:
            self.bias = _uniform(scale, (output_dims // n,))

    def _extra_repr(self):
        rows, cols = self.weight.shape
        return (f"input_dims={cols}, output_dims={rows * self.group.size()}, "
                f"bias={'bias' in self}")

    def __call__(self, x):
        x = sum_gradients(self.group)(x)
        if "bias" in self:
            return mx.addmm(self["bias"], x, self["weight"].T)
        return x @ self["weight"].T

    @classmethod
    def from_linear(cls, linear_layer, *, segments=1, group=None):
        """This process's shard of ``linear_layer`` (split along its outputs)."""
        group = _group(group)
        out_dims, in_dims = linear_layer.weight.shape
        layer = cls(in_dims, out_dims, "bias" in linear_layer, group)
        layer.update(_shard_tree(linear_layer.parameters(), _output_sharding(segments), group))
        return layer


class ShardedToAllLinear(Module):
    """A linear layer whose input features are split over the processes of ``group``:
    each process multiplies its slice of the input by its block of the weight and the
    partial results are summed over the group (then the bias is added), so every process
    gets the whole output."""

    def __init__(self, input_dims, output_dims, bias=True, group=None):
        super().__init__()
        self.group = _group(group)
        n = self.group.size()
        if input_dims % n != 0:
            raise ValueError(
                f"The input of size {input_dims} cannot be sharded across {n} devices.")
        scale = math.sqrt(1.0 / input_dims)
        self.weight = _uniform(scale, (output_dims, input_dims // n))
        if bias:
            self.bias = _uniform(scale, (output_dims,))

    def _extra_repr(self):
        rows, cols = self.weight.shape
        return (f"input_dims={cols * self.group.size()}, output_dims={rows}, "
                f"bias={'bias' in self}")

    def __call__(self, x):
        y = mx.distributed.all_sum(x @ self["weight"].T, group=self.group)
        if "bias" in self:
            y = y + self["bias"]
        return y

    @classmethod
    def from_linear(cls, linear_layer, *, segments=1, group=None):
        """This process's shard of ``linear_layer`` (split along its inputs)."""
        group = _group(group)
        out_dims, in_dims = linear_layer.weight.shape
        layer = cls(in_dims, out_dims, "bias" in linear_layer, group)
        layer.update(_shard_tree(linear_layer.parameters(), _input_sharding(segments), group))
        return layer


class _QuantizedSharded(Module):
    """What the two quantized sharded linear layers share: a frozen quantized weight
    (``weight``, ``scales`` and, affine mode, ``biases``) and an optional bias."""

    def _init_quantized(self, rows, cols, bias, bias_rows, group_size, bits, mode, group):
        self.group = _group(group)
        self.group_size, self.bits, self.mode = group_size, bits, mode
        scale = math.sqrt(1.0 / cols)
        q = mx.quantize(_uniform(scale, (rows, cols)), group_size, bits, mode=mode)
        self.weight, self.scales = q[0], q[1]
        if len(q) > 2:
            self.biases = q[2]
        if bias:
            self.bias = mx.zeros((bias_rows,))
        self.freeze()

    def unfreeze(self, *args, **kwargs):
        """Wrap unfreeze so that we unfreeze any layers we might contain but
        our parameters will remain frozen."""
        super().unfreeze(*args, **kwargs)
        self.freeze(recurse=False)

    def _product(self, x):
        return mx.quantized_matmul(
            x, self["weight"], scales=self["scales"], biases=self.get("biases"),
            transpose=True, group_size=self.group_size, bits=self.bits, mode=self.mode,
        )

    def _dims(self):
        rows, cols = self.weight.shape
        return rows, cols * 32 // self.bits

    def _repr(self, in_dims, out_dims):
        return (f"input_dims={in_dims}, output_dims={out_dims}, bias={'bias' in self}, "
                f"group_size={self.group_size}, bits={self.bits}, mode={self.mode}")

    @classmethod
    def _from(cls, ql, predicate, group):
        group = _group(group)
        out_dims, in_dims = ql.weight.shape[0], ql.weight.shape[1] * 32 // ql.bits
        layer = cls(in_dims, out_dims, "bias" in ql, ql.group_size, ql.bits, ql.mode, group)
        layer.update(_shard_tree(ql.parameters(), predicate, group))
        layer.freeze()
        return layer


class QuantizedAllToShardedLinear(_QuantizedSharded):
    """Each member of the group applies part of the affine transformation with
    a quantized matrix such that the result is sharded across the group.

    It is the quantized equivalent of :class:`mlx.nn.AllToShardedLinear`.
    Similar to :class:`mlx.nn.QuantizedLinear` its parameters are frozen and
    will not be included in any gradient computation.

    Args:
        input_dims (int): The dimensionality of the input features.
        output_dims (int): The dimensionality of the output features.
        bias (bool, optional): If set to ``False`` then the layer will not use
            a bias. Default: ``True``.
        group_size (int, optional): The group size to use for the quantized
            weight. See :func:`~mlx.core.quantize`. Default: ``64``.
        bits (int, optional): The bit width to use for the quantized weight.
            See :func:`~mlx.core.quantize`. Default: ``4``.
        mode (str, optional): The quantization method to use (see
            :func:`~mlx.core.quantize`). Default: ``"affine"``.
        group (mx.distributed.Group, optional): The sharding will happen across
            this group. If not set then the global group is used. Default is
            ``None``.
    """

    def __init__(self, input_dims, output_dims, bias=True, group_size=64, bits=4,
                 mode="affine", group=None):
        super().__init__()
        n = _group(group).size()
        if output_dims % n != 0:
            raise ValueError(f"Cannot shard the output of size {output_dims} across {n} devices.")
        self._init_quantized(output_dims // n, input_dims, bias, output_dims // n,
                             group_size, bits, mode, group)

    def _extra_repr(self):
        rows, cols = self._dims()
        return self._repr(cols, rows * self.group.size())

    def __call__(self, x):
        x = sum_gradients(self.group)(x)
        x = self._product(x)
        if "bias" in self:
            x = x + self["bias"]
        return x

    @classmethod
    def from_quantized_linear(cls, quantized_linear_layer, *, segments=1, group=None):
        """This process's shard of ``quantized_linear_layer`` (split along its outputs)."""
        return cls._from(quantized_linear_layer, _output_sharding(segments), group)


class QuantizedShardedToAllLinear(_QuantizedSharded):
    """Each member of the group applies part of the affine transformation using
    the quantized matrix and then aggregates the results.

    All nodes will have the same exact result after this layer.

    It is the quantized equivalent of :class:`mlx.nn.ShardedToAllLinear`.
    Similar to :class:`mlx.nn.QuantizedLinear` its parameters are frozen and
    will not be included in any gradient computation.

    Args:
        input_dims (int): The dimensionality of the input features.
        output_dims (int): The dimensionality of the output features.
        bias (bool, optional): If set to ``False`` then the layer will not use
            a bias. Default: ``True``.
        group_size (int, optional): The group size to use for the quantized
            weight. See :func:`~mlx.core.quantize`. Default: ``64``.
        bits (int, optional): The bit width to use for the quantized weight.
            See :func:`~mlx.core.quantize`. Default: ``4``.
        mode (str, optional): The quantization method to use (see
            :func:`~mlx.core.quantize`). Default: ``"affine"``.
        group (mx.distributed.Group, optional): The sharding will happen across
            this group. If not set then the global group is used. Default is
            ``None``.
    """

    def __init__(self, input_dims, output_dims, bias=True, group_size=64, bits=4,
                 mode="affine", group=None):
        super().__init__()
        n = _group(group).size()
        if input_dims % n != 0:
            raise ValueError(
                f"The input of size {input_dims} cannot be sharded across {n} devices.")
        self._init_quantized(output_dims, input_dims // n, bias, output_dims,
                             group_size, bits, mode, group)

    def _extra_repr(self):
        rows, cols = self._dims()
        return self._repr(cols * self.group.size(), rows)

    def __call__(self, x):
        x = mx.distributed.all_sum(self._product(x), group=self.group)
        if "bias" in self:
            x = x + self["bias"]
        return x

    @classmethod
    def from_quantized_linear(cls, quantized_linear_layer, *, segments=1, group=None):
        """This process's shard of ``quantized_linear_layer`` (split along its inputs)."""
        return cls._from(quantized_linear_layer, _input_sharding(segments), group)


def _make_gather(group, compute_dtype):
    """The forward pass's view of a shard: the whole parameter gathered over ``group``
    (axis 0), its gradient summed and scattered back; floating parameters cast to
    ``compute_dtype`` when given."""
    n = group.size()

    if n == 1:
        def gather(p):
            return p
    else:
        @mx.custom_function
        def gather(p):
            return mx.distributed.all_gather(p, group=group)

        @gather.vjp
        def gather(p, cotangent, output):
            return mx.distributed.sum_scatter(cotangent, group=group)

    def gather_cast(p):
        full = gather(p)
        if compute_dtype is not None and mx.issubdtype(full.dtype, mx.floating):
            full = full.astype(compute_dtype)
        return full

    return gather_cast


class FullyShardedModule(Module):
    """Wrap a module so each member of the group holds only a shard of its
    parameters.

    The full parameters are gathered for the forward pass and the gradients
    are reduce-scattered in the backward pass, so during training
    each member of the group stores and updates only its own shard.

    Every parameter is sharded along axis 0, so each parameter's size along
    that axis must be divisible by the size of ``group``.

    Use :func:`~mlx.nn.layers.distributed.fully_shard` to wrap a module.

    Args:
        module (mlx.nn.Module): The module whose parameters will be sharded.
        group (mlx.core.distributed.Group, optional): The group to shard
            across. If not set, the global group is used. Default: ``None``.
        compute_dtype (mlx.core.Dtype, optional): If set, the gathered
            parameters are cast to this dtype for the forward pass.
            Default: ``None``.
    """

    def __init__(self, module, group=None, compute_dtype=None):
        super().__init__()
        group = _group(group)
        n, rank = group.size(), group.rank()
        flat = tree_flatten(module.parameters())
        for path, p in flat:
            if p.ndim == 0 or p.shape[0] % n != 0:
                raise ValueError(
                    f"Cannot shard the parameter '{path}' with shape {tuple(p.shape)} "
                    f"along axis 0 across {n} devices."
                )
        if n > 1:
            module.update(tree_unflatten(
                [(path, mx.contiguous(mx.split(p, n, axis=0)[rank])) for path, p in flat]))
        self.module = module
        object.__setattr__(self, "_paths", [path for path, _ in flat])
        self._gather_fn = _make_gather(group, compute_dtype)

    def _extra_repr(self):
        return f"num_sharded_params={len(self._paths)}"

    def _run(self, fn, args, kwargs):
        shards = self.module.parameters()
        flat = dict(tree_flatten(shards))
        full = [(path, self._gather_fn(flat[path])) for path in self._paths if path in flat]
        self.module.update(tree_unflatten(full))
        try:
            return fn(*args, **kwargs)
        finally:
            self.module.update(shards)

    def __call__(self, *args, **kwargs):
        return self._run(self.module, args, kwargs)

    def as_linear(self, *args, **kwargs):
        """The wrapped module's ``as_linear`` (e.g. a tied embedding's output projection)
        with the full parameters."""
        return self._run(self.module.as_linear, args, kwargs)


def fully_shard(module, *, group=None, compute_dtype=None):
    """Wrap ``module`` in a :class:`FullyShardedModule`.

    Args:
        module (mlx.nn.Module): The module to wrap.
        group (mlx.core.distributed.Group, optional): The group to shard
            across. If not set, the global group is used. Default: ``None``.
        compute_dtype (mlx.core.Dtype, optional): If set, the gathered
            parameters are cast to this dtype for the forward pass.
            Default: ``None``.

    Returns:
        The wrapped :class:`FullyShardedModule`, or ``module`` unchanged.
    """
    group = _group(group)
    if group.size() == 1:
        return module
    return FullyShardedModule(module, group=group, compute_dtype=compute_dtype)
