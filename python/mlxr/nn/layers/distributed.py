"""``mlxr.nn.layers.distributed``: tensor-parallel linear layers over
``mlxr.core.distributed`` with MLX's API (``mlx.nn.layers.distributed``).

- :class:`AllToShardedLinear` holds a block of the output features: every process reads the
  whole input and produces its own slice of the output; the input's gradient is summed over
  the group (:func:`sum_gradients`).
- :class:`ShardedToAllLinear` holds a block of the input features: every process reads its
  slice of the input and the partial products are summed over the group, so every process
  ends with the whole output.
- :func:`shard_linear` turns a :class:`~mlxr.nn.Linear` into one of them, and
  :func:`shard_inplace` shards any module's parameters in place.

``segments`` describes fused weights (e.g. 3 for a fused QKV projection, or fractions of the
axis): each segment is split among the processes separately, so every process keeps the
matching rows of every segment."""

import math
from functools import lru_cache

import mlxr.core as mx
from mlxr.utils import tree_map_with_path

from .base import Module
from .linear import Linear


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
    ``"sharded-to-all"``: :class:`ShardedToAllLinear`) holding this process's shard of
    the :class:`~mlxr.nn.Linear` ``module``'s parameters; ``module`` is not changed."""
    _predicate(sharding, segments)
    if not isinstance(module, Linear):
        raise ValueError(
            f"shard_linear: mlxr shards Linear layers only, not {type(module).__name__}"
        )
    cls = AllToShardedLinear if sharding == "all-to-sharded" else ShardedToAllLinear
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
