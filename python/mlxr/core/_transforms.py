"""Function transformations over Python functions of pytrees (nested lists, tuples and
dicts of arrays): ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``vmap``,
``checkpoint``, ``custom_function``, ``compile``, ``eval``, ``async_eval``.

Each flattens its arguments into a list of arrays, hands the Rust transform a function
over flat lists (which rebuilds the trees and calls the user's function) and rebuilds the
results' trees."""

import functools

from mlxr import _core
from mlxr._core import array

_LEAF = object()


def _flatten(tree):
    """The arrays of ``tree`` in order and a spec to rebuild it with other leaves."""
    leaves = []

    def walk(t):
        if isinstance(t, array):
            leaves.append(t)
            return _LEAF
        if isinstance(t, list):
            return ("list", [walk(x) for x in t])
        if isinstance(t, tuple):
            return ("tuple", type(t), [walk(x) for x in t])
        if isinstance(t, dict):
            return ("dict", [(k, walk(v)) for k, v in t.items()])
        return ("const", t)

    spec = walk(tree)
    return leaves, spec


def _unflatten(spec, leaves):
    it = iter(leaves)

    def build(s):
        if s is _LEAF:
            return next(it)
        kind = s[0]
        if kind == "list":
            return [build(x) for x in s[1]]
        if kind == "tuple":
            items = [build(x) for x in s[2]]
            if s[1] is tuple:
                return tuple(items)
            try:
                return s[1](*items)  # namedtuple
            except TypeError:
                return tuple(items)
        if kind == "dict":
            return {k: build(v) for k, v in s[1]}
        return s[1]

    return build(spec)


def _leaves_with_axes(tree, axes, what):
    """The per-leaf axes of ``tree`` given an ``in_axes``/``out_axes`` prefix tree."""
    out = []

    def walk(t, a):
        if isinstance(t, array):
            if a is not None and not isinstance(a, int):
                raise ValueError(f"[vmap] {what} must be an int or None for an array leaf, got {a!r}")
            out.append(a)
            return
        if isinstance(a, (int, type(None))):
            for leaf in _flatten(t)[0]:
                out.append(a)
            return
        if isinstance(t, (list, tuple)) and isinstance(a, (list, tuple)):
            if len(t) != len(a):
                raise ValueError(
                    f"[vmap] {what} has {len(a)} entries but the tree has {len(t)}")
            for x, y in zip(t, a):
                walk(x, y)
            return
        if isinstance(t, dict) and isinstance(a, dict):
            for k, v in t.items():
                walk(v, a[k])
            return
        raise ValueError(f"[vmap] {what} {a!r} does not match the structure of the arguments")

    walk(tree, axes)
    return out


def _arrays(tree, out):
    """Append the arrays of ``tree`` to ``out`` (a fast walk for ``eval``)."""
    if isinstance(tree, array):
        out.append(tree)
    elif isinstance(tree, (list, tuple)):
        for t in tree:
            _arrays(t, out)
    elif isinstance(tree, dict):
        for t in tree.values():
            _arrays(t, out)
    return out


def eval(*args):
    """Evaluate every array in the arguments (trees, modules, lists ...)."""
    _core._eval(_arrays(args, []))


def async_eval(*args):
    """Start evaluating every array in the arguments."""
    _core._async_eval(_arrays(args, []))


def _argnums(argnums, argnames):
    if isinstance(argnames, str):
        argnames = [argnames]
    argnames = list(argnames)
    if argnums is None:
        argnums = 0 if not argnames else ()
    single = isinstance(argnums, int)
    nums = [argnums] if single else list(argnums)
    if any(n < 0 for n in nums):
        raise ValueError("[grad] Can't compute the gradient of negative argument index.")
    return nums, single, argnames


def value_and_grad(fun, argnums=None, argnames=[]):
    """A function returning ``(fun(*args), gradient)``: the gradient of ``fun``'s output
    (a scalar array, or the first element of a returned tuple/list) with respect to the
    arguments at ``argnums`` (an int gives one tree, a sequence a tuple) and the keyword
    arguments named in ``argnames`` (then the gradient is ``(positional, {name: grad})``)."""
    nums, single, names = _argnums(argnums, argnames)

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        for n in nums:
            if n >= len(args):
                raise ValueError(
                    f"[grad] Can't compute the gradient of argument index {n} because the "
                    f"function is called with only {len(args)} positional arguments.")
        for n in names:
            if n not in kwargs:
                raise ValueError(
                    f"[grad] Can't compute the gradient of keyword argument '{n}' because "
                    "the function is called with the following keyword arguments "
                    f"{list(kwargs)}")
        diff = [args[i] for i in nums] + [kwargs[n] for n in names]
        leaves, spec = _flatten(diff)
        out_spec = [None]

        def flat(xs):
            trees = _unflatten(spec, xs)
            a = list(args)
            kw = dict(kwargs)
            for j, i in enumerate(nums):
                a[i] = trees[j]
            for j, n in enumerate(names):
                kw[n] = trees[len(nums) + j]
            out = fun(*a, **kw)
            if isinstance(out, array):
                if out.ndim != 0:
                    raise ValueError(
                        "[value_and_grad] The return value of the function whose gradient "
                        f"we want to compute should be a scalar array; but {out.shape} "
                        "was returned.")
            elif isinstance(out, (list, tuple)) and len(out) > 0 and isinstance(out[0], array):
                if out[0].ndim != 0:
                    raise ValueError(
                        "[value_and_grad] The return value of the function whose gradient "
                        f"we want to compute should be a scalar array; but {out[0].shape} "
                        "was returned.")
            else:
                raise ValueError(
                    "[value_and_grad] The return value of the function whose gradient we "
                    "want to compute should be either a scalar array or a tuple with the "
                    "first value being a scalar array (Union[array, Tuple[array, Any, ...]]); "
                    f"but {type(out).__name__} was returned.")
            out_leaves, out_spec[0] = _flatten(out)
            return out_leaves

        values, grads = _core._value_and_grad(flat, leaves, list(range(len(leaves))))
        value = _unflatten(out_spec[0], values)
        g = _unflatten(spec, grads)
        pos = g[: len(nums)]
        pos = pos[0] if single else tuple(pos)
        if names:
            return value, (pos, {n: g[len(nums) + j] for j, n in enumerate(names)})
        return value, pos

    return wrapper


def grad(fun, argnums=None, argnames=[]):
    """The gradient of ``fun`` (see :func:`value_and_grad`)."""
    vg = value_and_grad(fun, argnums, argnames)

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    return wrapper


def _as_list(x, what):
    if isinstance(x, array):
        return [x]
    if isinstance(x, (list, tuple)) and all(isinstance(a, array) for a in x):
        return list(x)
    raise ValueError(f"[{what}] expects a list of arrays")


def _call_flat(fun, what):
    def flat(xs):
        out = fun(*xs)
        return _as_list(out, what)

    return flat


def vjp(fun, primals, cotangents):
    """``(outputs, vjps)``: ``fun``'s outputs at ``primals`` and the vector-Jacobian
    products with ``cotangents`` (lists of arrays)."""
    p = _as_list(primals, "vjp")
    c = _as_list(cotangents, "vjp")
    return _core._vjp(_call_flat(fun, "vjp"), p, c)


def jvp(fun, primals, tangents):
    """``(outputs, jvps)``: ``fun``'s outputs at ``primals`` and the Jacobian-vector
    products with ``tangents`` (lists of arrays)."""
    p = _as_list(primals, "jvp")
    t = _as_list(tangents, "jvp")
    return _core._jvp(_call_flat(fun, "jvp"), p, t)


def vmap(fun, in_axes=0, out_axes=0):
    """``fun`` vectorised over the ``in_axes`` of its arguments (a prefix tree of the
    arguments' tuple: an int or None for all, or one entry per argument), its outputs
    stacked along ``out_axes`` (a prefix tree of the output)."""

    @functools.wraps(fun)
    def wrapper(*args):
        a_axes = in_axes
        if isinstance(a_axes, list):
            a_axes = tuple(a_axes)
        if isinstance(a_axes, tuple) and len(args) == 1 and len(a_axes) != 1:
            a_axes = (a_axes,)
        leaves, spec = _flatten(list(args))
        axes = _leaves_with_axes(tuple(args), a_axes, "in_axes")
        out_spec = [None]

        def flat(xs):
            out = fun(*_unflatten(spec, xs))
            ol, out_spec[0] = _flatten(out)
            return ol

        outs = _core._vmap(flat, leaves, axes, [0])
        template = _unflatten(out_spec[0], outs)
        oaxes = _leaves_with_axes(template, out_axes, "out_axes")
        moved = []
        for o, ax in zip(outs, oaxes):
            if ax is None:
                moved.append(o[0])
            elif ax != 0:
                moved.append(_core.moveaxis(o, 0, ax))
            else:
                moved.append(o)
        return _unflatten(out_spec[0], moved)

    return wrapper


def checkpoint(fun):
    """``fun`` whose intermediate values are recomputed in the backward pass instead of
    being kept (trading compute for memory)."""

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        leaves, spec = _flatten((list(args), kwargs))
        out_spec = [None]

        def flat(xs):
            a, kw = _unflatten(spec, xs)
            ol, out_spec[0] = _flatten(fun(*a, **kw))
            return ol

        outs = _core._checkpoint(flat, leaves)
        return _unflatten(out_spec[0], outs)

    return wrapper


class custom_function:
    """A function with custom transformation rules (MLX's ``mx.custom_function``):
    decorate a function, then add rules with ``@f.vjp`` (``(primals, cotangents, outputs)
    -> cotangents of the primals``), ``@f.jvp`` (``(primals, tangents) -> output
    tangents``) and ``@f.vmap`` (``(inputs, axes) -> (outputs, out_axes)``)."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._vjp = None
        self._jvp = None
        self._vmap = None

    def vjp(self, f):
        """Set the vjp rule."""
        self._vjp = f
        return self

    def jvp(self, f):
        """Set the jvp rule."""
        self._jvp = f
        return self

    def vmap(self, f):
        """Set the vmap rule."""
        self._vmap = f
        return self

    def __call__(self, *args, **kwargs):
        leaves, spec = _flatten((list(args), kwargs))
        out_spec = [None]

        def flat(xs):
            a, kw = _unflatten(spec, xs)
            ol, out_spec[0] = _flatten(self._fun(*a, **kw))
            return ol

        def primals_of(xs):
            a, _ = _unflatten(spec, xs)
            return tuple(a) if len(a) != 1 else a[0]

        def outs_of(xs):
            return _unflatten(out_spec[0], xs)

        vjp = jvp = vm = None
        if self._vjp is not None:
            rule = self._vjp

            def vjp(p, c, o):
                g = rule(primals_of(p), outs_of(c), outs_of(o))
                a, kw = _unflatten(spec, p)
                if len(a) == 1:
                    g = (g,)
                gl = _flatten(list(g))[0]
                # Keyword arguments are not differentiated: zero cotangents.
                gl += [_core.zeros_like(x) for x in _flatten(kw)[0]]
                return gl

        if self._jvp is not None:
            rule_j = self._jvp

            def jvp(p, t):
                return _flatten(rule_j(primals_of(p), primals_of(t)))[0]

        if self._vmap is not None:
            rule_v = self._vmap

            def vm(xs, axes):
                a, _ = _unflatten(spec, xs)
                o, oa = rule_v(tuple(a) if len(a) != 1 else a[0], tuple(axes) if len(axes) != 1 else axes[0])
                ol, out_spec[0] = _flatten(o)
                if isinstance(oa, (int, type(None))):
                    oa = [oa] * len(ol)
                return ol, list(oa)

        f = _core._CustomFunction(flat, vjp, jvp, vm)
        outs = f(leaves)
        return _unflatten(out_spec[0], outs)


_CONST_TYPES = (type(None), bool, int, float, str)


def _spec_key(spec):
    """A hashable form of a ``_flatten`` spec: the tree structure and its non-array
    constants (with their types, so ``1`` and ``True`` differ), the cache key of
    ``compile``."""
    if spec is _LEAF:
        return "a"
    kind = spec[0]
    if kind == "list":
        return ("l", tuple(_spec_key(x) for x in spec[1]))
    if kind == "tuple":
        return ("t", spec[1], tuple(_spec_key(x) for x in spec[2]))
    if kind == "dict":
        return ("d", tuple((k, _spec_key(v)) for k, v in spec[1]))
    v = spec[1]
    if not isinstance(v, _CONST_TYPES):
        raise ValueError(
            "[compile] Function arguments must be trees of arrays or constants (floats, "
            f"ints, strings, or None), but received type {type(v).__module__}.{type(v).__name__}.")
    return ("c", type(v), v)


def _state_slots(tree):
    """Where the arrays of a captured-state tree live, in ``_flatten``'s order: a
    ``(container, key)`` per array (``(None, array)`` for one that cannot be replaced, e.g.
    inside a tuple)."""
    slots = []

    def walk(t):
        if isinstance(t, array):
            slots.append((None, t))
        elif isinstance(t, list):
            for i, x in enumerate(t):
                slots.append((t, i)) if isinstance(x, array) else walk(x)
        elif isinstance(t, tuple):
            for x in t:
                walk(x)
        elif isinstance(t, dict):
            for k, x in t.items():
                slots.append((t, k)) if isinstance(x, array) else walk(x)

    walk(tree)
    return slots


def _read_slots(slots):
    return [k if c is None else c[k] for c, k in slots]


def _write_slots(slots, values):
    for (c, k), v in zip(slots, values):
        if c is not None:
            c[k] = v


class _CompiledEntry:
    """The compiled function of one argument structure (tree + constants + structure of
    the captured state)."""

    def __init__(self, fun, spec, n_args, inputs, outputs, shapeless):
        self.out_spec = None
        self.n_out = 0

        def flat(xs):
            a, kw = _unflatten(spec, xs[:n_args])
            slots = _state_slots(inputs) if inputs is not None else []
            saved = _read_slots(slots)
            _write_slots(slots, xs[n_args:])
            try:
                out = fun(*a, **kw)
                leaves, out_spec = _flatten(out)
                state_out = _flatten(outputs)[0] if outputs is not None else []
            finally:
                _write_slots(slots, saved)
            self.out_spec, self.n_out = out_spec, len(leaves)
            return leaves + state_out

        self.compiled = _core._Compiled(flat, shapeless)


def compile(fun, inputs=None, outputs=None, shapeless=False):
    """MLX's ``mx.compile``: ``fun`` traced once per structure of its arguments (pytrees
    of arrays; non-array constants — ints, floats, strings, None — are part of the key)
    and per shapes and dtypes of its arrays (only their number of axes with
    ``shapeless=True``), then replayed without calling ``fun``. Arrays captured from the
    environment are constants of the trace; state that changes between calls (model
    parameters, optimizer state, ``mx.random.state``) goes in ``inputs`` / ``outputs``
    (trees): it is passed in as extra inputs and the outputs are written back after each
    call. Kernels are not fused yet."""
    cache = {}

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        if not _core._compile_enabled():
            return fun(*args, **kwargs)
        leaves, spec = _flatten((list(args), kwargs))
        state_in = []
        state_key = None
        if inputs is not None:
            state_in, sspec = _flatten(inputs)
            state_key = _spec_key(sspec)
        key = (_spec_key(spec), state_key)
        entry = cache.get(key)
        if entry is None:
            entry = _CompiledEntry(fun, spec, len(leaves), inputs, outputs, shapeless)
            cache[key] = entry
        res = entry.compiled(leaves + state_in)
        outs, state_out = res[: entry.n_out], res[entry.n_out:]
        if outputs is not None:
            slots = _state_slots(outputs)
            if len(slots) != len(state_out):
                raise ValueError(
                    f"[compile] the outputs state has {len(slots)} arrays but the compiled "
                    f"function produced {len(state_out)}")
            _write_slots(slots, state_out)
        return _unflatten(entry.out_spec, outs)

    return wrapper


def disable_compile():
    """Turn ``compile`` off globally: compiled functions call the original function."""
    _core._disable_compile()


def enable_compile():
    """Turn ``compile`` on globally."""
    _core._enable_compile()
