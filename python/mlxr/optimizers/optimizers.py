"""Optimizers with MLX's update rules. An optimizer keeps a ``state`` tree (its step,
learning rate and per-parameter state) and ``update(model, gradients)`` applies one
step to a model's parameters."""

import math

import mlxr.core as mx
from mlxr.nn import Module  # noqa: F401
from mlxr.utils import (  # noqa: F401
    tree_flatten, tree_map, tree_merge, tree_reduce, tree_unflatten,
)


class Optimizer:
    """Base class: subclasses implement ``init_single(parameter, state)`` and
    ``apply_single(gradient, parameter, state) -> new parameter``."""

    def __init__(self, schedulers=None):
        self._initialized = False
        self._state = {"step": mx.array(0, mx.uint64)}
        self._schedulers = {k: v for k, v in (schedulers or {}).items()}

    def update(self, model, gradients):
        """Apply one step to ``model``'s parameters."""
        model.update(self.apply_gradients(gradients, model))

    def init(self, parameters):
        """Create the state of every parameter of the tree (done on first use)."""

        def build(params, state):
            if isinstance(params, (list, tuple)):
                state = list(state) if isinstance(state, (list, tuple)) else []
                for i, p in enumerate(params):
                    if i >= len(state):
                        state.append(build(p, {}))
                    else:
                        state[i] = build(p, state[i])
                return state
            if isinstance(params, dict):
                state = dict(state) if isinstance(state, dict) else {}
                for k, p in params.items():
                    state[k] = build(p, state.get(k, {}))
                return state
            if isinstance(params, mx.array):
                if not state:
                    state = {}
                    self.init_single(params, state)
                return state
            return state

        merged = build(parameters, {k: v for k, v in self._state.items()
                                    if k not in ("step", "learning_rate") and k not in self._schedulers})
        for k, v in merged.items():
            self._state[k] = v
        self._initialized = True

    def init_single(self, parameter, state):
        raise NotImplementedError

    def apply_single(self, gradient, parameter, state):
        raise NotImplementedError

    def apply_gradients(self, gradients, parameters):
        """New parameters from ``gradients`` (a subtree of ``parameters``)."""
        if not self._initialized:
            self.init(gradients)
        for name, sched in self._schedulers.items():
            self._state[name] = sched(self.step)
        self._state["step"] = self.step + 1

        def walk(g, p, s):
            if isinstance(g, dict):
                return {k: walk(g[k], p[k], s[k]) for k in g}
            if isinstance(g, (list, tuple)):
                return [walk(gi, p[i], s[i]) for i, gi in enumerate(g)]
            if isinstance(g, mx.array):
                return self.apply_single(g, p, s)
            return g

        return walk(gradients, parameters, self._state)

    @property
    def state(self):
        """The state tree."""
        return self._state

    @state.setter
    def state(self, state):
        self._initialized = False
        self._state = state

    @property
    def step(self):
        """The number of steps taken."""
        return self._state["step"]

    @property
    def learning_rate(self):
        """The learning rate (an array)."""
        return self._state["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self._state["learning_rate"] = mx.array(learning_rate)

    def _maybe_schedule(self, name, param):
        if callable(param):
            self._schedulers[name] = param
            parameter = param(self.step)
        else:
            parameter = mx.array(param)
        self._state[name] = parameter


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, weight decay, dampening and
    Nesterov momentum."""

    def __init__(self, learning_rate, momentum=0.0, weight_decay=0.0, dampening=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening.")
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dampening = dampening
        self.nesterov = nesterov

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        if self.momentum <= 0:
            return parameter - self.learning_rate.astype(gradient.dtype) * gradient
        v = self.momentum * state.get("v")
        if self.dampening > 0:
            v = v + (1 - self.dampening) * gradient
        else:
            v = v + gradient
        if self.nesterov:
            update = gradient + self.momentum * v
        else:
            update = v
        state["v"] = v
        return parameter - self.learning_rate.astype(gradient.dtype) * update


class RMSprop(Optimizer):
    """RMSprop."""

    def __init__(self, learning_rate, alpha=0.99, eps=1e-8):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.alpha = alpha
        self.eps = eps
        if self.alpha < 0.0:
            raise ValueError(f"RMSprop alpha should be >=0, {self.alpha} was provided instead")
        if self.eps < 0.0:
            raise ValueError(f"RMSprop epsilon should be >0, {self.eps} was provided instead")

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        v = state["v"]
        v = self.alpha * v + (1 - self.alpha) * mx.square(gradient)
        state["v"] = v
        return parameter - lr * gradient / (mx.sqrt(v) + self.eps)


class Adagrad(Optimizer):
    """Adagrad."""

    def __init__(self, learning_rate, eps=1e-8):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.eps = eps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        v = state["v"] + mx.square(gradient)
        state["v"] = v
        return parameter - lr * gradient / (mx.sqrt(v) + self.eps)


class AdaDelta(Optimizer):
    """AdaDelta."""

    def __init__(self, learning_rate, rho=0.9, eps=1e-6):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.rho = rho
        self.eps = eps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)
        state["u"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        rho, eps = self.rho, self.eps
        v, u = state["v"], state["u"]
        v = rho * v + (1 - rho) * mx.square(gradient)
        d = mx.sqrt(u + eps) / mx.sqrt(v + eps) * gradient
        u = rho * u + (1 - rho) * mx.square(d)
        state["v"] = v
        state["u"] = u
        return parameter - lr * d


class Adam(Optimizer):
    """Adam (``bias_correction`` off by default, as in MLX)."""

    def __init__(self, learning_rate, betas=[0.9, 0.999], eps=1e-8, bias_correction=False):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas = betas
        self.eps = eps
        self.bias_correction = bias_correction

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        eps = self.eps
        m = b1 * state["m"] + (1 - b1) * gradient
        v = b2 * state["v"] + (1 - b2) * mx.square(gradient)
        state["m"] = m
        state["v"] = v
        if self.bias_correction:
            step = self.step.astype(mx.float32)
            c1 = (lr / (1 - b1**step)).astype(gradient.dtype)
            c2 = mx.rsqrt(1 - b2**step).astype(gradient.dtype)
            numerator = c1 * m
            denominator = mx.sqrt(v) * c2 + eps
            return parameter - numerator / denominator
        return parameter - lr * m / (mx.sqrt(v) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay."""

    def __init__(self, learning_rate, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.01,
                 bias_correction=False):
        super().__init__(learning_rate=learning_rate, betas=betas, eps=eps,
                         bias_correction=bias_correction)
        self.weight_decay = weight_decay

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        return super().apply_single(gradient, parameter * (1 - lr * self.weight_decay), state)


class Adamax(Adam):
    """Adamax (the infinity-norm variant of Adam)."""

    def __init__(self, learning_rate, betas=[0.9, 0.999], eps=1e-8):
        super().__init__(learning_rate, betas, eps)
        if not 0.0 <= eps:
            raise ValueError(f"Epsilon value should be >=0, {self.eps} was provided instead")

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)
        state["v"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        eps = self.eps
        m = b1 * state["m"] + (1 - b1) * gradient
        v = mx.maximum(b2 * state["v"], mx.abs(gradient))
        state["m"] = m
        state["v"] = v
        return parameter - lr * m / (v + eps)


class Lion(Optimizer):
    """Lion (sign updates of interpolated momentum)."""

    def __init__(self, learning_rate, betas=[0.9, 0.99], weight_decay=0.0):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas = betas
        self.weight_decay = weight_decay

    def init_single(self, parameter, state):
        state["m"] = mx.zeros_like(parameter)

    def apply_single(self, gradient, parameter, state):
        lr = self.learning_rate.astype(gradient.dtype)
        b1, b2 = self.betas
        m = state["m"]
        c = b1 * m + (1 - b1) * gradient
        state["m"] = b2 * m + (1 - b2) * gradient
        if self.weight_decay > 0:
            parameter = (1 - lr * self.weight_decay) * parameter
        return parameter - lr * mx.sign(c)


class Muon(Optimizer):
    """Muon (MomentUm Orthogonalized by Newton-Schulz): SGD momentum (Nesterov by
    default) whose update, for parameters with two or more axes, is flattened to
    ``(shape[0], -1)`` and replaced by an approximately orthogonal matrix from a quintic
    Newton-Schulz iteration; the learning rate of such a parameter is scaled by
    ``sqrt(max(1, shape[-2] / shape[-1]))``. 0-d and 1-d parameters take the plain
    momentum update (MLX advises another optimizer for them, e.g. ``AdamW``)."""

    def __init__(self, learning_rate, momentum=0.95, weight_decay=0.01, nesterov=True,
                 ns_steps=5):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.ns_steps = ns_steps

    def init_single(self, parameter, state):
        state["v"] = mx.zeros_like(parameter)

    @staticmethod
    def _newton_schulz5(x, steps):
        """``U V^T`` of the 2-d ``x = U S V^T``, approximately: ``x`` scaled to unit
        Frobenius norm, then ``steps`` iterations ``X <- a X + (b A + c A A) X`` with
        ``A = X X^T``, on the wide orientation."""
        if x.ndim != 2:
            raise ValueError(
                f"Expected a 2D array for Newton-Schulz iteration, got shape {x.shape} instead.")
        a, b, c = 3.4445, -4.7750, 2.0315
        tall = x.shape[0] > x.shape[1]
        if tall:
            x = x.T
        x = x / (mx.sqrt(mx.sum(mx.square(x), keepdims=True)) + 1e-7)
        for _ in range(steps):
            gram = x @ x.T
            poly = mx.addmm(b * gram, gram, gram, alpha=c, beta=1.0)
            x = mx.addmm(a * x, poly, x, alpha=1.0, beta=1.0)
        return x.T if tall else x

    def apply_single(self, gradient, parameter, state):
        if self.weight_decay != 0:
            gradient = gradient + self.weight_decay * parameter
        v = self.momentum * state["v"] + (1 - self.momentum) * gradient
        state["v"] = v
        if self.nesterov:
            update = gradient * (1 - self.momentum) + v * self.momentum
        else:
            update = v
        lr = self.learning_rate.astype(gradient.dtype)
        if update.ndim >= 2:
            shape = update.shape
            flat = update.reshape(shape[0], -1) if update.ndim > 2 else update
            update = self._newton_schulz5(flat, self.ns_steps).reshape(shape)
            lr = lr * max(1.0, shape[-2] / shape[-1]) ** 0.5
        return parameter - lr * update


def clip_grad_norm(grads, max_norm):
    """Scale ``grads`` so that their global L2 norm is at most ``max_norm``; returns
    ``(clipped grads, total norm)``."""
    from mlxr.utils import tree_flatten

    norm_squared = [mx.sum(mx.square(g)) for _, g in tree_flatten(grads)]
    total_norm = mx.sqrt(sum(norm_squared[1:], norm_squared[0])) if norm_squared else mx.array(0.0)
    normalizer = mx.minimum(max_norm / (total_norm + 1e-6), 1.0)
    clipped = tree_map(lambda g: g * normalizer, grads)
    return clipped, total_norm


class Adafactor(Optimizer):
    """Adafactor: factored second moments for matrices (row and column means), relative
    step sizes and update clipping."""

    def __init__(self, learning_rate=None, eps=(1e-30, 1e-3), clip_threshold=1.0,
                 decay_rate=-0.8, beta_1=None, weight_decay=0.0, scale_parameter=True,
                 relative_step=True, warmup_init=False):
        super().__init__()
        if learning_rate is not None:
            self._maybe_schedule("learning_rate", learning_rate)
        self.eps = eps
        self.clip_threshold = clip_threshold
        self.decay_rate = decay_rate
        self.beta_1 = beta_1
        self.weight_decay = weight_decay
        self.scale_parameter = scale_parameter
        self.relative_step = relative_step
        self.warmup_init = warmup_init

    def init_single(self, parameter, state):
        if parameter.ndim >= 2:
            shape = parameter.shape
            dtype = parameter.dtype
            state["exp_avg_sq_row"] = mx.zeros(shape[:-1], dtype=dtype)
            state["exp_avg_sq_col"] = mx.zeros(shape[:-2] + shape[-1:], dtype=dtype)
        else:
            state["exp_avg_sq"] = mx.zeros_like(parameter)
        if self.beta_1 is not None:
            state["exp_avg"] = mx.zeros_like(parameter)

    def _compute_rms(self, inputs):
        return mx.sqrt(mx.mean(mx.square(inputs)))

    def _compute_learning_rate(self, step, parameter_rms):
        if self.relative_step:
            min_step = 1e-6 * step if self.warmup_init else 1e-2
            relative_step_size = mx.minimum(min_step, mx.rsqrt(step))
        else:
            relative_step_size = self.learning_rate
        relative_step_size = relative_step_size.astype(parameter_rms.dtype)
        parameter_scale = 1.0
        if self.scale_parameter:
            parameter_scale = mx.maximum(self.eps[1], parameter_rms)
        return parameter_scale * relative_step_size

    def _approximate_exp_moving_avg(self, exp_avg_sq_row, exp_avg_sq_col):
        r_factor = mx.rsqrt(exp_avg_sq_row / mx.mean(exp_avg_sq_row, axis=-1, keepdims=True))
        c_factor = mx.rsqrt(exp_avg_sq_col)
        return mx.matmul(mx.expand_dims(r_factor, axis=-1), mx.expand_dims(c_factor, axis=0))

    def apply_single(self, gradient, parameter, state):
        if gradient.dtype != parameter.dtype:
            gradient = gradient.astype(parameter.dtype)
        step = self.step.astype(mx.float32)
        use_first_moment = self.beta_1 is not None
        factored = gradient.ndim >= 2
        parameter_rms = self._compute_rms(parameter)
        learning_rate = self._compute_learning_rate(step, parameter_rms)
        beta_2 = 1.0 - (step**self.decay_rate).astype(parameter_rms.dtype)
        update = mx.square(gradient) + self.eps[0]
        if factored:
            exp_avg_sq_row = state["exp_avg_sq_row"]
            exp_avg_sq_col = state["exp_avg_sq_col"]
            exp_avg_sq_row = beta_2 * exp_avg_sq_row + (1 - beta_2) * mx.mean(update, axis=-1)
            exp_avg_sq_col = beta_2 * exp_avg_sq_col + (1 - beta_2) * mx.mean(update, axis=-2)
            state["exp_avg_sq_row"] = exp_avg_sq_row
            state["exp_avg_sq_col"] = exp_avg_sq_col
            update = self._approximate_exp_moving_avg(exp_avg_sq_row, exp_avg_sq_col)
            update = update * gradient
        else:
            exp_avg_sq = state["exp_avg_sq"]
            exp_avg_sq = beta_2 * exp_avg_sq + (1 - beta_2) * update
            state["exp_avg_sq"] = exp_avg_sq
            update = mx.rsqrt(exp_avg_sq) * gradient
        update = update / mx.maximum(1.0, self._compute_rms(update) / self.clip_threshold)
        update = learning_rate * update
        if use_first_moment:
            exp_avg = state["exp_avg"]
            exp_avg = self.beta_1 * exp_avg + (1 - self.beta_1) * update
            state["exp_avg"] = exp_avg
            update = exp_avg
        if self.weight_decay != 0:
            parameter = parameter + parameter * (-self.weight_decay * learning_rate)
        return parameter - update


class MultiOptimizer(Optimizer):
    """Route parameters to optimizers: ``filters[i](path, gradient)`` selects those of
    ``optimizers[i]``; the last optimizer takes the rest."""

    def __init__(self, optimizers, filters=[]):
        super().__init__()
        self._state = {}
        if len(filters) != len(optimizers) - 1:
            raise ValueError(f"Given {len(filters)} filters but {len(optimizers) - 1} needed.")
        self.optimizers = optimizers
        self.filters = list(filters) + [lambda *args, **kwargs: True]

    def _split_dictionary(self, gradients):
        from mlxr.utils import tree_flatten, tree_unflatten
        if len(self.optimizers) == 1:
            return [gradients]
        parts = [[] for _ in range(len(self.optimizers))]
        for k, g in tree_flatten(gradients):
            for i, fn in enumerate(self.filters):
                if fn(k, g):
                    parts[i].append((k, g))
                    break
        return [tree_unflatten(p) for p in parts]

    def init(self, parameters):
        for o, p in zip(self.optimizers, self._split_dictionary(parameters)):
            o.init(p)

    def apply_gradients(self, gradients, parameters):
        tree = {}
        for o, g in zip(self.optimizers, self._split_dictionary(gradients)):
            tree = tree_merge(tree, o.apply_gradients(g, parameters))
        return tree

    @property
    def state(self):
        return {"states": [o.state for o in self.optimizers]}

    @state.setter
    def state(self, state):
        for o, s in zip(self.optimizers, state["states"]):
            o.state = s

    @property
    def learning_rate(self):
        return self.optimizers[0].learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.optimizers[0].learning_rate = learning_rate
