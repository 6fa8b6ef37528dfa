"""``mlxr.utils``: pytree helpers with MLX's semantics. A tree is nested lists, tuples and
dicts; anything else (an array, a number, ...) is a leaf. Paths join keys and list
indices with dots (``"layers.0.weight"``)."""

from collections import defaultdict

__all__ = ["tree_map", "tree_map_with_path", "tree_flatten", "tree_unflatten",
           "tree_reduce", "tree_merge"]


def tree_map(fn, tree, *rest, is_leaf=None):
    """Apply ``fn`` to the leaves of ``tree`` (and the matching leaves of ``rest``),
    returning a tree of the same structure."""
    if is_leaf is not None and is_leaf(tree):
        return fn(tree, *rest)
    if isinstance(tree, (list, tuple)):
        cls = type(tree)
        items = [tree_map(fn, child, *(r[i] for r in rest), is_leaf=is_leaf)
                 for i, child in enumerate(tree)]
        return cls(items) if cls in (list, tuple) else cls(*items)
    if isinstance(tree, dict):
        return {k: tree_map(fn, child, *(r[k] for r in rest), is_leaf=is_leaf)
                for k, child in tree.items()}
    return fn(tree, *rest)


def tree_map_with_path(fn, tree, *rest, is_leaf=None, path=None):
    """Like :func:`tree_map`, but ``fn`` receives the leaf's dotted path first."""
    if is_leaf is not None and is_leaf(tree):
        return fn(path, tree, *rest)
    if isinstance(tree, (list, tuple)):
        prefix = f"{path}." if path else ""
        cls = type(tree)
        items = [tree_map_with_path(fn, child, *(r[i] for r in rest), is_leaf=is_leaf,
                                    path=f"{prefix}{i}")
                 for i, child in enumerate(tree)]
        return cls(items) if cls in (list, tuple) else cls(*items)
    if isinstance(tree, dict):
        prefix = f"{path}." if path else ""
        return {k: tree_map_with_path(fn, child, *(r[k] for r in rest), is_leaf=is_leaf,
                                      path=f"{prefix}{k}")
                for k, child in tree.items()}
    return fn(path, tree, *rest)


def tree_flatten(tree, prefix="", is_leaf=None, destination=None):
    """The leaves of ``tree`` as a list of ``(dotted path, leaf)`` (or into the dict
    ``destination``)."""
    if destination is None:
        destination = []
        add = destination.append
    elif isinstance(destination, dict):
        add = lambda kv: destination.__setitem__(*kv)  # noqa: E731
    else:
        add = destination.append

    def walk(t, p):
        if not (is_leaf is not None and is_leaf(t)):
            if isinstance(t, (list, tuple)):
                for i, c in enumerate(t):
                    walk(c, f"{p}.{i}" if p else str(i))
                return
            if isinstance(t, dict):
                for k, c in t.items():
                    walk(c, f"{p}.{k}" if p else str(k))
                return
        add((p, t))

    walk(tree, prefix[1:] if prefix.startswith(".") else prefix)
    return destination


def tree_unflatten(tree):
    """Rebuild a tree from ``(dotted path, leaf)`` pairs (or a dict of them); keys that
    are integers make lists."""
    items = list(tree.items()) if isinstance(tree, dict) else list(tree)
    if len(items) == 1 and items[0][0] == "":
        return items[0][1]
    children = defaultdict(list)
    for key, value in items:
        head, _, rest = key.partition(".")
        children[head].append((rest, value))
    try:
        ints = sorted(int(k) for k in children)
        is_list = True
    except ValueError:
        is_list = False
    if is_list:
        out = [{} for _ in range(ints[-1] + 1)] if ints else []
        for k, v in children.items():
            out[int(k)] = tree_unflatten(v)
        return out
    return {k: tree_unflatten(v) for k, v in children.items()}


def tree_reduce(fn, tree, initializer=None, is_leaf=None):
    """Fold ``fn(accumulator, leaf)`` over the leaves of ``tree``."""
    acc = initializer
    first = initializer is None
    for _, leaf in tree_flatten(tree, is_leaf=is_leaf):
        if first:
            acc = leaf
            first = False
        else:
            acc = fn(acc, leaf)
    return acc


def tree_merge(tree_a, tree_b, merge_fn=None):
    """Merge two trees with disjoint leaves (``merge_fn`` resolves leaves present in
    both)."""
    if isinstance(tree_a, (dict, list, tuple)) and len(tree_a) == 0:
        tree_a = None
    if isinstance(tree_b, (dict, list, tuple)) and len(tree_b) == 0:
        tree_b = None
    if tree_a is None:
        return tree_b
    if tree_b is None:
        return tree_a
    if isinstance(tree_a, (list, tuple)) and isinstance(tree_b, (list, tuple)):
        n = max(len(tree_a), len(tree_b))
        a = list(tree_a) + [None] * (n - len(tree_a))
        b = list(tree_b) + [None] * (n - len(tree_b))
        return type(tree_a)(tree_merge(x, y, merge_fn) for x, y in zip(a, b))
    if isinstance(tree_a, dict) and isinstance(tree_b, dict):
        keys = list(tree_a) + [k for k in tree_b if k not in tree_a]
        return {k: tree_merge(tree_a.get(k), tree_b.get(k), merge_fn) for k in keys}
    if merge_fn is None:
        raise ValueError("Trees contain elements at the same locations but no merge function was provided")
    return merge_fn(tree_a, tree_b)
