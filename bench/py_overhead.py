"""Per-op overhead of the Python package: a loop of small adds, mlxr vs MLX on the CPU in
the same run (NumPy as a floor). Each case is timed as the median of several repeats.

Cases:
  add_eval   10,000 x (c = a + b; eval(c)) on 16-element float32 arrays, as MLX users do
             when they read every result
  add_chain  10,000 adds chained lazily (c = c + b), one eval at the end
  chain      1,000 calls (each evaluated) of a chain of 24 small elementwise ops on a
             16-element array, called as is
  chain_cmp  the same function through mx.compile (traced once, then replayed: no Python
             in the loop body; kernels are not fused in mlxr, MLX fuses them)
  mlp_step   200 training steps of a 2-layer MLP (64 -> 128 -> 10, batch 32) with
             nn.value_and_grad + optim.SGD: Python overhead of a real step

Usage: python3 bench/py_overhead.py [--n 10000] [--repeats 5]
"""

import argparse
import statistics
import time

import numpy as np


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def cases(mx, nn, optim, n):
    a = mx.array(np.arange(16, dtype=np.float32))
    b = mx.array(np.ones(16, dtype=np.float32))
    mx.eval(a, b)

    def add_eval():
        for _ in range(n):
            c = a + b
            mx.eval(c)

    def add_chain():
        c = a
        for _ in range(n):
            c = c + b
        mx.eval(c)

    rng = np.random.default_rng(0)
    X = mx.array(rng.standard_normal((32, 64)).astype(np.float32))
    Y = mx.array(rng.integers(0, 10, (32,)).astype(np.int32))
    mx.random.seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(learning_rate=0.01)

    def loss_fn(m, x, y):
        return nn.losses.cross_entropy(m(x), y, reduction="mean")

    step = nn.value_and_grad(model, loss_fn)

    def mlp_step():
        for _ in range(200):
            loss, g = step(model, X, Y)
            opt.update(model, g)
            mx.eval(loss, model.parameters(), opt.state)

    def small_chain(x):
        for _ in range(6):
            x = mx.tanh(x * 0.5 + 1.0) - x * x
        return x

    compiled_chain = mx.compile(small_chain)

    def chain():
        for _ in range(CHAIN_CALLS):
            mx.eval(small_chain(a))

    def chain_cmp():
        for _ in range(CHAIN_CALLS):
            mx.eval(compiled_chain(a))

    return {"add_eval": add_eval, "add_chain": add_chain, "chain": chain,
            "chain_cmp": chain_cmp, "mlp_step": mlp_step}


CHAIN_CALLS = 1000
PER = {"mlp_step": 200, "chain": CHAIN_CALLS, "chain_cmp": CHAIN_CALLS}


def numpy_add(n):
    a = np.arange(16, dtype=np.float32)
    b = np.ones(16, dtype=np.float32)

    def f():
        for _ in range(n):
            c = a + b  # noqa: F841

    return f


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    import mlxr.core as rmx
    import mlxr.nn as rnn
    import mlxr.optimizers as ropt
    import mlx.core as mmx
    import mlx.nn as mnn
    import mlx.optimizers as mopt

    ours = cases(rmx, rnn, ropt, args.n)
    theirs = cases(mmx, mnn, mopt, args.n)
    print(f"{'case':<10} {'mlxr ms':>10} {'MLX ms':>10} {'MLX/mlxr':>9}   per op (mlxr / MLX)")
    for name in ours:
        ours[name]()  # warm up
        theirs[name]()
        t_ours = median_time(ours[name], args.repeats)
        t_theirs = median_time(theirs[name], args.repeats)
        per = PER.get(name, args.n)
        print(f"{name:<10} {t_ours * 1e3:>10.2f} {t_theirs * 1e3:>10.2f} {t_theirs / t_ours:>8.2f}x"
              f"   {t_ours / per * 1e6:.2f} us / {t_theirs / per * 1e6:.2f} us")
    t_np = median_time(numpy_add(args.n), args.repeats)
    print(f"{'numpy add':<10} {t_np * 1e3:>10.2f} ms ({t_np / args.n * 1e6:.2f} us per op)")


if __name__ == "__main__":
    main()
    import os
    os._exit(0)  # skip MLX's interpreter teardown (it can abort after the run)
