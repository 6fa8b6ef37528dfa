"""``mlxr.core.random``: MLX's splittable keys and samplers (values identical to MLX)."""

from mlxr._core import random as _r

seed = _r.seed
key = _r.key
split = _r.split
bits = _r.bits
uniform = _r.uniform
normal = _r.normal
randint = _r.randint
bernoulli = _r.bernoulli
truncated_normal = _r.truncated_normal
gumbel = _r.gumbel
laplace = _r.laplace
categorical = _r.categorical
permutation = _r.permutation
multivariate_normal = _r.multivariate_normal



class _RandomState(list):
    """MLX's ``mx.random.state``: a one-element list holding the global key (a uint32
    array of shape ``(2,)``). Reading ``state[0]`` gives the current key, assigning it
    replaces the key; pass ``mx.random.state`` as ``inputs`` and ``outputs`` of
    ``mx.compile`` so that random numbers inside a compiled function vary between calls."""

    def __len__(self):
        return 1

    def __iter__(self):
        return iter([_r._get_state()])

    def __getitem__(self, i):
        return [_r._get_state()][i]

    def __setitem__(self, i, key):
        if i not in (0, -1):
            raise IndexError("mx.random.state has one element")
        _r._set_state(key)

    def __repr__(self):
        return repr([_r._get_state()])


state = _RandomState()
