"""Activation functions (``nn.relu``, ``nn.gelu``, ...) and their module classes
(``nn.ReLU``, ``nn.GELU``, ...), with MLX's definitions."""

import math

import mlxr.core as mx
from .base import Module


def sigmoid(x):
    return mx.sigmoid(x)


def relu(x):
    return mx.maximum(x, 0)


def relu2(x):
    return mx.square(mx.maximum(x, 0))


def relu6(x):
    return mx.minimum(mx.maximum(x, 0), 6.0)


def leaky_relu(x, negative_slope=0.01):
    return mx.maximum(negative_slope * x, x)


def log_softmax(x, axis=-1):
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    return mx.where(x > 0, x, alpha * (mx.exp(x) - 1))


def softmax(x, axis=-1):
    return mx.softmax(x, axis=axis)


def softplus(x):
    return mx.logaddexp(x, 0)


def softsign(x):
    return mx.divide(x, 1 + mx.abs(x))


def softshrink(x, lambd=0.5):
    return mx.where(mx.abs(x) > lambd, x - mx.sign(x) * lambd, 0)


def celu(x, alpha=1.0):
    return mx.maximum(x, 0.0) + alpha * (mx.exp(mx.minimum(x, 0.0) / alpha) - 1)


def silu(x):
    return x * mx.sigmoid(x)


def log_sigmoid(x):
    return -softplus(-x)


def gelu(x):
    return x * (1 + mx.erf(x / math.sqrt(2))) / 2


def gelu_approx(x):
    return 0.5 * x * (1 + mx.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_fast_approx(x):
    return x * mx.sigmoid(1.702 * x)


def glu(x, axis=-1):
    a, b = mx.split(x, indices_or_sections=2, axis=axis)
    return a * mx.sigmoid(b)


def step(x, threshold=0.0):
    return mx.where(x > threshold, 1, 0)


def selu(x):
    return elu(x, 1.67326) * 1.0507


def prelu(x, alpha):
    return mx.maximum(0, x) + alpha * mx.minimum(0, x)


def mish(x):
    return x * mx.tanh(softplus(x))


def hardswish(x):
    max_x_3 = mx.maximum(x + 3, 0)
    return x * mx.minimum(max_x_3, 6) / 6


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    return mx.minimum(mx.maximum(x, min_val), max_val)


def hard_shrink(x, lambd=0.5):
    return mx.where(mx.abs(x) > lambd, x, 0)


def tanh(x):
    return mx.tanh(x)


def _module(fn, name, params=()):
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        values = dict(zip([p for p, _ in params], args))
        values.update(kwargs)
        for p, default in params:
            object.__setattr__(self, "_" + p, values.get(p, default))

    def __call__(self, x):
        return fn(x, **{p: getattr(self, "_" + p) for p, _ in params})

    return type(name, (Module,), {"__init__": __init__, "__call__": __call__,
                                  "__doc__": f"The module form of ``{fn.__name__}``."})


Sigmoid = _module(sigmoid, "Sigmoid")
ReLU = _module(relu, "ReLU")
ReLU2 = _module(relu2, "ReLU2")
ReLU6 = _module(relu6, "ReLU6")
LeakyReLU = _module(leaky_relu, "LeakyReLU", [("negative_slope", 0.01)])
ELU = _module(elu, "ELU", [("alpha", 1.0)])
Softmax = _module(softmax, "Softmax")
Softplus = _module(softplus, "Softplus")
Softsign = _module(softsign, "Softsign")
Softshrink = _module(softshrink, "Softshrink", [("lambd", 0.5)])
CELU = _module(celu, "CELU", [("alpha", 1.0)])
SiLU = _module(silu, "SiLU")
LogSoftmax = _module(log_softmax, "LogSoftmax")
LogSigmoid = _module(log_sigmoid, "LogSigmoid")
GLU = _module(glu, "GLU", [("axis", -1)])
SELU = _module(selu, "SELU")
Mish = _module(mish, "Mish")
Hardswish = _module(hardswish, "Hardswish")
HardTanh = _module(hard_tanh, "HardTanh")
HardShrink = _module(hard_shrink, "HardShrink")
Tanh = _module(tanh, "Tanh")
Step = _module(step, "Step", [("threshold", 0.0)])


class GELU(Module):
    """GELU with ``approx`` in ``"none"``, ``"precise"``/``"tanh"``, ``"fast"``."""

    def __init__(self, approx="none"):
        super().__init__()
        if approx == "none":
            self._act = gelu
        elif approx in ("precise", "tanh"):
            self._act = gelu_approx
        elif approx == "fast":
            self._act = gelu_fast_approx
        else:
            raise ValueError(f"The approximation should be in ['none', 'precise', 'tanh', 'fast'] but '{approx}' was given")

    def __call__(self, x):
        return self._act(x)


class PReLU(Module):
    """Parametric ReLU with a learned slope."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.weight = mx.full([num_parameters], init)

    def __call__(self, x):
        return prelu(x, self.weight)


def softmin(x, axis=-1):
    return mx.softmax(-x, axis=axis)


Softmin = _module(softmin, "Softmin")
