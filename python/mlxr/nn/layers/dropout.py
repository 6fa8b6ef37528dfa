"""``Dropout``: zero elements with probability ``p`` in training mode."""

import mlxr.core as mx
from .base import Module


class Dropout(Module):
    """Randomly zero a fraction ``p`` of the elements and scale the rest by
    ``1 / (1 - p)`` (only in training mode)."""

    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError(f"The dropout probability {p} is not in [0, 1)")
        self._p_1 = 1 - p

    def _extra_repr(self):
        return f"p={1 - self._p_1}"

    def __call__(self, x):
        if self._p_1 == 1 or not self.training:
            return x
        mask = mx.random.bernoulli(self._p_1, x.shape)
        return (mask * x) * (1 / self._p_1)
