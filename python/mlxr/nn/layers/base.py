"""``Module``: the base class of layers. As in MLX, a module is a ``dict``: arrays, lists,
dicts and child modules set as attributes are stored as its items, so the parameters
form a tree (``module.parameters()``) with dotted paths (``"layers.0.weight"``)."""

import textwrap

import mlxr.core as mx
from mlxr.utils import tree_flatten, tree_unflatten


def _is_container(v):
    return isinstance(v, (dict, list, tuple))


class Module(dict):
    """Base class for building neural networks with mlxr.

    Arrays (and lists/dicts of them) assigned as attributes are parameters; modules
    assigned as attributes are children. Keys starting with ``_`` are not parameters."""

    __call__: callable

    def __init__(self):
        self._no_grad = set()
        self._training = True

    @property
    def training(self):
        """Whether the module is in training mode."""
        return self._training

    @property
    def state(self):
        """The module's items (itself)."""
        return self

    def _extra_repr(self):
        return ""

    def __repr__(self):
        children = self.children()
        value = f"{type(self).__name__}({self._extra_repr()}"
        for k, v in children.items():
            value += "\n"
            value += textwrap.indent(f"({k}): {repr(v)}", prefix="  ")
        if children:
            value += "\n"
        value += ")"
        return value

    def __getattr__(self, key):
        if key in self:
            return self[key]
        raise AttributeError(f"{type(self)!r} object has no attribute {key!r}")

    def __setattr__(self, key, val):
        if isinstance(val, (mx.array, dict, list, tuple)):
            if key in self.__dict__:
                object.__delattr__(self, key)
            self[key] = val
        else:
            if key in self:
                del self[key]
            object.__setattr__(self, key, val)

    def __delattr__(self, name):
        if name in self:
            del self[name]
        else:
            object.__delattr__(self, name)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    # --- traversal -------------------------------------------------------------------

    @staticmethod
    def valid_child_filter(module, key, value):
        """Children: modules, and containers that may hold modules."""
        return isinstance(value, (dict, list))

    @staticmethod
    def valid_parameter_filter(module, key, value):
        """Parameters: arrays and containers of them, not under keys starting with ``_``."""
        return isinstance(value, (dict, list, mx.array)) and not key.startswith("_")

    @staticmethod
    def trainable_parameter_filter(module, key, value):
        """Parameters that are not frozen."""
        return Module.valid_parameter_filter(module, key, value) and key not in module._no_grad

    def filter_and_map(self, filter_fn, map_fn=None, is_leaf_fn=None):
        """The tree of items ``(module, key, value)`` accepted by ``filter_fn``, descending
        into child modules, dicts and lists, with ``map_fn`` applied to the leaves
        (``is_leaf_fn(module, key, value)`` decides where to stop)."""
        map_fn = map_fn or (lambda x: x)
        if is_leaf_fn is None:
            def is_leaf_fn(m, k, v):
                return not isinstance(v, (Module, dict, list))

        def visit(owner, key, value):
            if is_leaf_fn(owner, key, value):
                return map_fn(value)
            if isinstance(value, Module):
                return {k: visit(value, k, v) for k, v in value.items() if filter_fn(value, k, v)}
            if isinstance(value, dict):
                out = {}
                for k, v in value.items():
                    path = f"{key}.{k}"
                    out[k] = visit(owner, path, v) if filter_fn(owner, path, v) else {}
                return out
            if isinstance(value, list):
                out = []
                for i, v in enumerate(value):
                    path = f"{key}.{i}"
                    out.append(visit(owner, path, v) if filter_fn(owner, path, v) else {})
                return out
            raise RuntimeError("Unexpected leaf found while traversing the module")

        return {k: visit(self, k, v) for k, v in self.items() if filter_fn(self, k, v)}

    def parameters(self):
        """All parameters (arrays) as a tree of dicts and lists."""
        return self.filter_and_map(self.valid_parameter_filter)

    def trainable_parameters(self):
        """The parameters that are not frozen."""
        return self.filter_and_map(self.trainable_parameter_filter)

    def children(self):
        """The direct child modules (also those inside lists and dicts)."""
        return self.filter_and_map(
            self.valid_child_filter,
            is_leaf_fn=lambda m, k, v: isinstance(v, Module),
        )

    def leaf_modules(self):
        """The modules without child modules."""

        def _is_leaf_module(m, k, v):
            return isinstance(v, Module) and len(tree_flatten(v.children())) == 0

        return self.filter_and_map(self.valid_child_filter, is_leaf_fn=_is_leaf_module)

    def named_modules(self):
        """``(dotted name, module)`` for every module, children first, this one last
        (with name ``""``)."""
        stack = [("", self)]
        out = []
        while stack:
            prefix, m = stack.pop()
            out.append((prefix, m))
            for k, v in tree_flatten(m.children(), is_leaf=lambda x: isinstance(x, Module)):
                if isinstance(v, Module):
                    stack.append((f"{prefix}.{k}" if prefix else k, v))
        return list(reversed(out))

    def modules(self):
        """Every module (see :meth:`named_modules`)."""
        return [m for _, m in self.named_modules()]

    # --- updates ---------------------------------------------------------------------

    def update(self, parameters, strict=True):
        """Replace parameters with those of the tree ``parameters`` (a subset of the
        structure of :meth:`parameters`)."""

        def apply(dst, params, path):
            if isinstance(params, dict):
                for k, new in params.items():
                    p = f"{path}.{k}" if path else k
                    if k in dst:
                        cur = dst[k]
                        if isinstance(new, mx.array):
                            if strict and not isinstance(cur, mx.array):
                                raise ValueError(f"Received invalid type: {type(new).__name__} for {p}")
                            dst[k] = new
                        elif isinstance(cur, (dict, list)):
                            apply(cur, new, p)
                        elif strict and new:
                            raise ValueError(f"Received invalid type: {type(new).__name__} for {p}")
                    elif strict:
                        raise ValueError(f'Module does not have parameter named "{p}".')
            elif isinstance(params, list):
                for i, new in enumerate(params):
                    p = f"{path}.{i}"
                    if i >= len(dst):
                        if strict:
                            raise ValueError(f'Module does not have parameter named "{p}".')
                        continue
                    cur = dst[i]
                    if isinstance(new, mx.array):
                        dst[i] = new
                    elif isinstance(cur, (dict, list)):
                        apply(cur, new, p)
            else:
                raise ValueError(f"Received invalid type: {type(params).__name__}")

        apply(self, parameters, "")
        return self

    def update_modules(self, modules, strict=True):
        """Replace child modules with those of the tree ``modules``."""

        def apply(dst, mods, path):
            items = mods.items() if isinstance(mods, dict) else enumerate(mods)
            for k, new in items:
                p = f"{path}.{k}" if path else str(k)
                has = (k in dst) if isinstance(dst, dict) else (k < len(dst))
                if not has:
                    if strict:
                        raise ValueError(f'Module does not have sub-module named "{p}".')
                    continue
                cur = dst[k]
                if isinstance(new, Module):
                    dst[k] = new
                elif isinstance(new, (dict, list)) and isinstance(cur, (dict, list)):
                    apply(cur, new, p)
                elif strict:
                    raise ValueError(f"Received invalid type: {type(new).__name__}.")

        apply(self, modules, "")
        return self

    def apply(self, map_fn, filter_fn=None):
        """Map every parameter accepted by ``filter_fn`` through ``map_fn`` in place."""
        filter_fn = filter_fn or Module.valid_parameter_filter
        self.update(self.filter_and_map(filter_fn, map_fn))
        return self

    def apply_to_modules(self, apply_fn):
        """Call ``apply_fn(name, module)`` for every module."""
        for name, m in self.named_modules():
            apply_fn(name, m)
        return self

    def freeze(self, *, recurse=True, keys=None, strict=False):
        """Exclude parameters from :meth:`trainable_parameters` (all, or ``keys``)."""

        def f(_, m):
            local = keys
            if local is None:
                local = [k for k, _ in tree_flatten(m.filter_and_map(
                    lambda mm, k, v: not isinstance(v, Module) and Module.valid_parameter_filter(mm, k, v)))]
            elif isinstance(local, str):
                local = [local]
            if strict:
                for k in local:
                    if k not in m:
                        raise KeyError(f"Module doesn't contain member {k}.")
            m._no_grad.update(local)

        if recurse:
            self.apply_to_modules(f)
        else:
            f("", self)
        return self

    def unfreeze(self, *, recurse=True, keys=None, strict=False):
        """Make parameters trainable again (all, or ``keys``)."""

        def f(_, m):
            if keys is None:
                m._no_grad.clear()
            else:
                local = [keys] if isinstance(keys, str) else keys
                if strict:
                    for k in local:
                        if k not in m:
                            raise KeyError(f"Module doesn't contain member {k}.")
                m._no_grad.difference_update(local)

        if recurse:
            self.apply_to_modules(f)
        else:
            f("", self)
        return self

    def train(self, mode=True):
        """Set training mode (``False``: evaluation mode) on every module."""

        self.apply_to_modules(lambda _, m: m._set_training_mode(mode))
        return self

    def _set_training_mode(self, mode):
        """Hook run on every module by :meth:`train` (layers such as ``QQLinear`` change
        their parameters with the mode)."""
        self._training = mode

    def eval(self):
        """Set evaluation mode."""
        return self.train(False)

    def set_dtype(self, dtype, predicate=None):
        """Convert floating-point parameters to ``dtype``."""
        predicate = predicate or (lambda d: mx.issubdtype(d, mx.floating))
        self.apply(lambda x: x.astype(dtype) if predicate(x.dtype) else x)

    # --- weights files ---------------------------------------------------------------

    def load_weights(self, file_or_weights, strict=True):
        """Load parameters from a ``.safetensors``/``.npz`` file or a list of
        ``(dotted name, array)`` pairs."""
        weights = file_or_weights
        if isinstance(weights, str) or hasattr(weights, "__fspath__"):
            weights = list(mx.load(weights).items())
        if strict:
            new = dict(weights)
            cur = dict(tree_flatten(self.parameters()))
            extras = new.keys() - cur.keys()
            if extras:
                raise ValueError(f"Received parameters not in model: {' '.join(sorted(extras))}.")
            missing = cur.keys() - new.keys()
            if missing:
                raise ValueError(f"Missing parameters: {' '.join(sorted(missing))}.")
            for k, v in cur.items():
                w = new[k]
                if not isinstance(w, mx.array):
                    raise ValueError(f"Expected mx.array but received {type(w)} for parameter {k}")
                if v.shape != w.shape:
                    raise ValueError(f"Expected shape {v.shape} but received shape {w.shape} for parameter {k}")
        if weights:
            self.update(tree_unflatten(weights), strict=False)
        return self

    def save_weights(self, file):
        """Save the parameters to ``.safetensors`` or ``.npz`` with dotted names."""
        params = dict(tree_flatten(self.parameters()))
        file = str(file)
        if file.endswith(".npz"):
            mx.savez(file, **params)
        elif file.endswith(".safetensors"):
            mx.save_safetensors(file, params)
        else:
            raise ValueError("Unsupported file extension. Use '.npz' or '.safetensors'.")
