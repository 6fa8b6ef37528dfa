"""``mlxr.core.distributed`` and the distributed parts of ``mlxr.nn``.

In one process the world is the size-1 group: its collectives are compared with MLX's
(``mlx.core.distributed.init()`` in a single process). When the extension was built with
the ``mpi`` feature, ``mpirun --oversubscribe -n 2`` runs ``_mpi_worker`` (below, written to
a script) and every rank checks the collectives, point-to-point transfers, group splits
and the sharded layers against values computed from every rank's input."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlxr.core as mx
import mlxr.nn as nn

try:
    import mlx.core as mlx_core
    import mlx.nn as mlx_nn
except ImportError:  # pragma: no cover
    mlx_core = mlx_nn = None

needs_mlx = pytest.mark.skipif(mlx_core is None, reason="MLX is not installed")


def test_module_api():
    d = mx.distributed
    for name in ["Group", "is_available", "init", "all_sum", "all_max", "all_min", "all_gather",
                 "sum_scatter", "send", "recv", "recv_like"]:
        assert hasattr(d, name), name
    import mlxr.core.distributed as d2

    assert d2.all_sum is d.all_sum
    assert {"rank", "size", "split"} <= set(dir(d.Group))
    assert isinstance(d.is_available(), bool)
    assert d.is_available("ring") is False and d.is_available("jaccl") is False
    with pytest.raises(ValueError):
        d.is_available("gloo")


@needs_mlx
def test_singleton_group_matches_mlx():
    g, mg = mx.distributed.init(), mlx_core.distributed.init()
    assert (g.rank(), g.size()) == (mg.rank(), mg.size()) == (0, 1)
    assert mx.distributed.init(backend="ring").size() == 1
    x = np.arange(12, dtype=np.float32).reshape(4, 3) - 5.5
    for op in ["all_sum", "all_max", "all_min", "all_gather", "sum_scatter"]:
        for val in [x, x.astype(np.int32), np.float32(2.5)]:
            for kw in [{}, {"group": "g"}, {"stream": "cpu"}]:
                ours_kw = {k: (g if v == "g" else mx.cpu) for k, v in kw.items()}
                ref_kw = {k: (mg if v == "g" else mlx_core.cpu) for k, v in kw.items()}
                if op == "sum_scatter" and np.ndim(val) == 0:
                    continue
                ours = getattr(mx.distributed, op)(mx.array(val), **ours_kw)
                ref = getattr(mlx_core.distributed, op)(mlx_core.array(val), **ref_kw)
                assert ours.shape == ref.shape, (op, kw)
                assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
                np.testing.assert_array_equal(np.array(ours), np.array(ref))
    # Scalars are identity too (MLX keeps the shape in a singleton group).
    s = mx.distributed.sum_scatter(mx.array(3.0))
    assert s.shape == mlx_core.distributed.sum_scatter(mlx_core.array(3.0)).shape == ()
    # Python scalars are arrays.
    assert mx.distributed.all_sum(1.0).item() == mlx_core.distributed.all_sum(1.0).item()
    # Gradients pass through.
    gx = mx.grad(lambda a: mx.distributed.all_sum(a * a).sum())(mx.array(x))
    gm = mlx_core.grad(lambda a: mlx_core.distributed.all_sum(a * a).sum())(mlx_core.array(x))
    np.testing.assert_allclose(np.array(gx), np.array(gm))


@needs_mlx
def test_singleton_errors_match_mlx():
    g = mx.distributed.init()
    x = mx.ones((2,))
    for fn, exc in [
        (lambda d, a: d.send(a, 0), ValueError),
        (lambda d, a: d.recv((2,), a.dtype, 0), ValueError),
        (lambda d, a: d.recv_like(a, 0), ValueError),
        (lambda d, a: d.init(backend="gloo"), ValueError),
    ]:
        with pytest.raises(exc):
            fn(mx.distributed, x)
        with pytest.raises(exc):
            fn(mlx_core.distributed, mlx_core.ones((2,)))
    with pytest.raises(RuntimeError):
        g.split(0)
    with pytest.raises(RuntimeError):
        mlx_core.distributed.init().split(0)


def test_nn_exports():
    for name in ["AllToShardedLinear", "ShardedToAllLinear", "average_gradients"]:
        assert hasattr(nn, name), name
    from mlxr.nn.layers import distributed as dl

    for name in ["AllToShardedLinear", "ShardedToAllLinear", "shard_linear", "shard_inplace",
                 "sum_gradients"]:
        assert hasattr(dl, name), name


@needs_mlx
def test_single_process_sharding_matches_mlx():
    w = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    b = np.random.default_rng(2).normal(size=(6,)).astype(np.float32)
    xin = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    from mlx.nn.layers.distributed import shard_linear as mlx_shard_linear
    from mlxr.nn.layers.distributed import shard_linear

    for sharding in ["all-to-sharded", "sharded-to-all"]:
        lin, mlin = nn.Linear(4, 6), mlx_nn.Linear(4, 6)
        lin.update({"weight": mx.array(w), "bias": mx.array(b)})
        mlin.update({"weight": mlx_core.array(w), "bias": mlx_core.array(b)})
        s, ms = shard_linear(lin, sharding), mlx_shard_linear(mlin, sharding)
        assert type(s).__name__ == type(ms).__name__
        np.testing.assert_allclose(np.array(s(mx.array(xin))), np.array(ms(mlx_core.array(xin))),
                                   rtol=1e-5, atol=1e-5)
        # Gradients through the sharded layer equal those of the plain layer.
        gs = mx.grad(lambda a: s(a).sum())(mx.array(xin))
        gm = mlx_core.grad(lambda a: ms(a).sum())(mlx_core.array(xin))
        np.testing.assert_allclose(np.array(gs), np.array(gm), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        shard_linear(nn.Linear(4, 6), "rows")
    grads = {"a": mx.ones((3,)), "b": [mx.zeros((2, 2))]}
    assert nn.average_gradients(grads) is grads


# --- several processes (mpirun) -----------------------------------------------------------

_MPI_WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import mlxr.core as mx
    import mlxr.nn as nn
    from mlxr.nn.layers.distributed import shard_linear

    g = mx.distributed.init(strict=True, backend="mpi")
    r, n = g.rank(), g.size()
    assert n == 2, n

    def data(rank):
        return np.arange(6, dtype=np.float32).reshape(2, 3) * (rank + 1) - rank

    ins = [data(k) for k in range(n)]
    x = mx.array(ins[r])
    np.testing.assert_array_equal(np.array(mx.distributed.all_sum(x)), ins[0] + ins[1])
    np.testing.assert_array_equal(np.array(mx.distributed.all_max(x, group=g)),
                                  np.maximum(ins[0], ins[1]))
    np.testing.assert_array_equal(np.array(mx.distributed.all_min(x, stream=mx.cpu)),
                                  np.minimum(ins[0], ins[1]))
    np.testing.assert_array_equal(np.array(mx.distributed.all_gather(x)),
                                  np.concatenate(ins))
    np.testing.assert_array_equal(np.array(mx.distributed.all_gather(mx.array(float(r)))),
                                  np.arange(n, dtype=np.float32))
    xi = mx.array(np.arange(4, dtype=np.int32) + 10 * r)
    np.testing.assert_array_equal(np.array(mx.distributed.sum_scatter(xi)),
                                  (np.arange(4) * 2 + 10)[2 * r:2 * r + 2])

    # Point to point: 0 -> 1, then 1 -> 0.
    if r == 0:
        mx.eval(mx.distributed.send(x, 1))
        got = mx.distributed.recv((2, 3), mx.float32, 1)
        np.testing.assert_array_equal(np.array(got), ins[1] * 2)
    else:
        got = mx.distributed.recv_like(x, 0)
        np.testing.assert_array_equal(np.array(got), ins[0])
        mx.eval(mx.distributed.send(x * 2, 0))

    # Splits: each process alone, and both reversed by key.
    alone = g.split(r)
    assert (alone.rank(), alone.size()) == (0, 1)
    rev = g.split(0, key=n - 1 - r)
    assert (rev.rank(), rev.size()) == (n - 1 - r, n)
    np.testing.assert_array_equal(np.array(mx.distributed.all_gather(x, group=rev)),
                                  np.concatenate(ins[::-1]))

    # Gradient averaging (buckets and one all_sum per gradient).
    grads = {"a": mx.full((3,), float(r + 1)), "b": [mx.full((2, 2), float(2 * r))]}
    for size in [32 * 1024**2, 8, 0]:
        avg = nn.average_gradients(grads, all_reduce_size=size)
        np.testing.assert_allclose(np.array(avg["a"]), np.full((3,), 1.5))
        np.testing.assert_allclose(np.array(avg["b"][0]), np.full((2, 2), 1.0))

    # Sharded layers equal the whole layer.
    mx.random.seed(7)
    lin = nn.Linear(4, 6)
    mx.eval(lin.parameters())
    xin = mx.array(np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32))
    full = np.array(lin(xin))
    col = shard_linear(lin, "all-to-sharded")
    np.testing.assert_allclose(np.array(col(xin)), full[:, 3 * r:3 * r + 3], rtol=1e-5, atol=1e-5)
    row = shard_linear(lin, "sharded-to-all")
    np.testing.assert_allclose(np.array(row(xin[:, 2 * r:2 * r + 2])), full, rtol=1e-5, atol=1e-5)
    # The input gradient of the column-sharded layer is summed over the ranks.
    gfull = np.array(mx.grad(lambda a: lin(a).sum())(xin))
    gcol = np.array(mx.grad(lambda a: col(a).sum())(xin))
    np.testing.assert_allclose(gcol, gfull, rtol=1e-5, atol=1e-5)

    print(f"rank {r} ok", flush=True)
    """
)


def _mpi_skip_reason():
    if not mx.distributed.is_available("mpi"):
        return ("the mlxr extension was built without MPI (rebuild with "
                "`pip install . --config-settings=build-args=\"--features mpi\"`)")
    if shutil.which("mpirun") is None:
        return "mpirun is not installed"
    return None


@pytest.mark.skipif(_mpi_skip_reason() is not None, reason=str(_mpi_skip_reason()))
def test_mpi_two_ranks(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_MPI_WORKER)
    env = dict(os.environ)
    env.update({
        # mpirun refuses root without these; shared memory only, no single-copy mechanism
        # (often forbidden in containers).
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_btl": "self,vader",
        "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    })
    cmd = ["mpirun", "--oversubscribe", "-n", "2", sys.executable, str(script)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0 ok" in p.stdout and "rank 1 ok" in p.stdout, p.stdout + p.stderr
