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


def average_gradients(gradients, group=None, all_reduce_size=32 * 1024**2, communication_type=None,
                      communication_stream=None):
    """Average gradients over the processes of a distributed group; with a single
    process (mlxr has no distributed backend yet) the gradients are returned as is."""
    return gradients
