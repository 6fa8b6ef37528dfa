"""``Sequential``: call layers (or callables) in order."""

from .base import Module


class Sequential(Module):
    """Apply ``modules`` in order; each may be a module or any callable."""

    def __init__(self, *modules):
        super().__init__()
        self.layers = list(modules)

    def __call__(self, x):
        for m in self.layers:
            x = m(x)
        return x
