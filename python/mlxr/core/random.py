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

# MLX exposes its global key as ``mx.random.state`` (a list) so that compiled functions
# can name it in ``inputs``/``outputs``; mlxr's global key lives in the extension and
# ``compile`` does not capture state, so this is an empty placeholder list.
state = []
