"""``mlxr.nn``: MLX's neural network package (modules, layers, losses, initializers)
written in Python over ``mlxr.core``."""

from . import init, losses  # noqa: F401
from .layers import *  # noqa: F401,F403
from .layers.base import Module  # noqa: F401
from .utils import average_gradients, checkpoint, value_and_grad  # noqa: F401
