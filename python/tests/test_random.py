"""``mx.random`` gives MLX's values for the same keys and seeds."""

import numpy as np
import pytest

import mlxr.core as mx
from conftest import assert_same

CASES = {
    "key": lambda m, k: m.random.key(7),
    "split": lambda m, k: m.random.split(k, 3),
    "uniform": lambda m, k: m.random.uniform(shape=(4, 3), key=k),
    "uniform_range": lambda m, k: m.random.uniform(-2, 5, (5,), key=k),
    "uniform_f16": lambda m, k: m.random.uniform(shape=(4,), dtype=m.float16, key=k),
    "normal": lambda m, k: m.random.normal((3, 3), key=k),
    "normal_loc": lambda m, k: m.random.normal((3,), loc=1.0, scale=2.0, key=k),
    "randint": lambda m, k: m.random.randint(0, 10, (8,), key=k),
    "bernoulli": lambda m, k: m.random.bernoulli(0.3, (10,), key=k),
    "truncated_normal": lambda m, k: m.random.truncated_normal(-1.0, 1.0, (6,), key=k),
    "gumbel": lambda m, k: m.random.gumbel((4,), key=k),
    "laplace": lambda m, k: m.random.laplace((4,), key=k),
    "categorical": lambda m, k: m.random.categorical(m.log(m.array([[0.1, 0.6, 0.3]])), num_samples=5, key=k),
    "permutation": lambda m, k: m.random.permutation(10, key=k),
    # One distribution: MLX samples by inverse CDF; several: the Gumbel trick.
    "categorical_1d_shape": lambda m, k: m.random.categorical(m.array([0.5, -1.0, 2.0, 0.0]), shape=(6,), key=k),
    "categorical_column": lambda m, k: m.random.categorical(m.array([[0.5], [-1.0], [2.0]]), axis=0, key=k),
    "categorical_f16": lambda m, k: m.random.categorical(m.array([[0.1, 0.2, -0.3, 1.5]], dtype=m.float16), num_samples=7, key=k),
    "categorical_masked": lambda m, k: m.random.categorical(m.array([0.0, -float("inf"), 1.0, -float("inf")]), shape=(2, 5), key=k),
    "categorical_batch": lambda m, k: m.random.categorical(m.array([[0.1, 0.6, 0.3], [1.0, 0.0, -1.0]]), num_samples=4, key=k),
    "categorical_scalar": lambda m, k: m.random.categorical(m.array([0.1, 0.6, 0.3]), key=k),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_matches_mlx(name, mlx):
    ours = CASES[name](mx, mx.random.key(3))
    ref = CASES[name](mlx, mlx.random.key(3))
    assert_same(ours, ref, rtol=1e-5, atol=1e-6)


def test_global_seed_matches_mlx(mlx):
    mx.random.seed(11)
    mlx.random.seed(11)
    for _ in range(3):
        assert_same(mx.random.uniform(shape=(3,)), mlx.random.uniform(shape=(3,)))
    assert_same(mx.random.normal((2, 2)), mlx.random.normal((2, 2)))
