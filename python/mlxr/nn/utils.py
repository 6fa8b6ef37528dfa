"""``mlxr.nn.utils``: gradient checkpointing of modules and the ``value_and_grad`` of a
model's trainable parameters."""

import mlxr.core as mx


def value_and_grad(model, fn):
    """``fn(*args)``'s value and its gradient with respect to ``model``'s trainable
    parameters (a tree like ``model.trainable_parameters()``)."""

    def inner(params, *args, **kwargs):
        model.update(params)
        return fn(*args, **kwargs)

    vg = mx.value_and_grad(inner)

    def wrapped(*args, **kwargs):
        params = model.trainable_parameters()
        try:
            return vg(params, *args, **kwargs)
        finally:
            model.update(params)

    return wrapped


def checkpoint(module, fn=None):
    """Call ``module`` (or ``fn``) with its parameters checkpointed: intermediates are
    recomputed in the backward pass."""
    if fn is None:
        fn = module.__call__

    def inner(params, *args, **kwargs):
        module.update(params)
        return fn(*args, **kwargs)

    cp = mx.checkpoint(inner)

    def wrapped(*args, **kwargs):
        return cp(module.trainable_parameters(), *args, **kwargs)

    return wrapped


def average_gradients(gradients, group=None, all_reduce_size=32 * 1024**2,
                      communication_stream=None):
    """Average the gradient tree ``gradients`` over the processes of ``group`` (the world
    group when ``None``); every process must pass a tree of the same structure.

    Consecutive gradients of one dtype are flattened and concatenated into buckets of at
    least ``all_reduce_size`` bytes (the last one may be smaller), so that each bucket is
    one ``all_sum``; ``all_reduce_size <= 0`` sums each gradient on its own.
    ``communication_stream`` is the stream of the collectives. With one process the
    gradients are returned unchanged."""
    from mlxr.utils import tree_flatten, tree_map, tree_unflatten

    group = group if group is not None else mx.distributed.init()
    n = group.size()
    if n == 1:
        return gradients

    def reduce(x):
        return mx.distributed.all_sum(x, group=group, stream=communication_stream) / n

    if all_reduce_size <= 0:
        return tree_map(reduce, gradients)
    flat = tree_flatten(gradients)
    if not flat:
        return gradients

    buckets, current, nbytes = [], [], 0
    for i, (_, g) in enumerate(flat):
        if current and g.dtype != flat[current[-1]][1].dtype:
            buckets.append(current)
            current, nbytes = [], 0
        current.append(i)
        nbytes += g.nbytes
        if nbytes >= all_reduce_size:
            buckets.append(current)
            current, nbytes = [], 0
    if current:
        buckets.append(current)

    out = [None] * len(flat)
    for bucket in buckets:
        if len(bucket) == 1:
            key, g = flat[bucket[0]]
            out[bucket[0]] = (key, reduce(g))
            continue
        total = reduce(mx.concatenate([flat[i][1].reshape(-1) for i in bucket]))
        offsets, pos = [], 0
        for i in bucket[:-1]:
            pos += flat[i][1].size
            offsets.append(pos)
        for i, part in zip(bucket, mx.split(total, offsets)):
            key, g = flat[i]
            out[i] = (key, part.reshape(g.shape))
    return tree_unflatten(out)
