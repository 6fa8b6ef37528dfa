"""``mlxr.optimizers``: MLX's optimizers and learning-rate schedules in Python over
``mlxr.core``."""

from .optimizers import *  # noqa: F401,F403
from .optimizers import (  # noqa: F401
    Optimizer, SGD, RMSprop, Adagrad, AdaDelta, Adam, AdamW, Adamax, Lion, Adafactor,
    Muon, MultiOptimizer, clip_grad_norm,
)
from .schedulers import (  # noqa: F401
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay,
)
