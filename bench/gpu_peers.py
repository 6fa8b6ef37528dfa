"""PyTorch's side of the GPU benchmark: the op list and sizes of src/bench_gpu.rs, timed
the same way (two warm-ups, then 5 trials of `reps` back-to-back runs each followed by
one torch.cuda.synchronize(); the median trial's time per run). One JSON line per op.

Usage: python3 bench/gpu_peers.py [--reps N] [--only NAME[,NAME]]
"""
import argparse
import json
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=10)
p.add_argument("--only", default=None)
args = p.parse_args()
only = set(args.only.split(",")) if args.only else None
want = lambda n: only is None or n in only
anyof = lambda *ns: any(want(n) for n in ns)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
g = torch.Generator(device=dev).manual_seed(0)


def rand(*shape, dtype=torch.float32):
    return (torch.rand(*shape, device=dev, generator=g) * 2 - 1).to(dtype)


def timeit(f, reps):
    for _ in range(2):
        f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t) * 1e3 / reps)
    ts.sort()
    return ts[len(ts) // 2]


def run(name, f):
    if want(name):
        print(json.dumps({"op": name, "peer": "torch", "ms": round(timeit(f, args.reps), 4)}), flush=True)


with torch.no_grad():
    if anyof("copy", "add", "exp", "sum_all", "sum_last", "sum_first", "softmax_f32"):
        x, y = rand(8192, 32768), rand(8192, 32768)
        xs = x[:, 1:]
        run("copy", lambda: xs.contiguous())
        run("add", lambda: x + y)
        run("exp", lambda: torch.exp(x))
        run("sum_all", lambda: x.sum())
        run("sum_last", lambda: x.sum(dim=-1))
        run("sum_first", lambda: x.sum(dim=0))
        run("softmax_f32", lambda: torch.softmax(x, dim=-1))
        del x, y, xs
    if want("softmax_bf16"):
        x = rand(32768, 4096, dtype=torch.bfloat16)
        run("softmax_bf16", lambda: torch.softmax(x, dim=-1))
        del x
    for name, n, dt in (("matmul_bf16_4096", 4096, torch.bfloat16),
                        ("matmul_bf16_8192", 8192, torch.bfloat16),
                        ("matmul_f32_4096", 4096, torch.float32)):
        if want(name):
            a, b = rand(n, n, dtype=dt), rand(n, n, dtype=dt)
            run(name, lambda: a @ b)
            del a, b
    if anyof("sort_last", "argsort_last"):
        w = rand(4096, 16384)
        run("sort_last", lambda: torch.sort(w, dim=-1, stable=True).values)
        run("argsort_last", lambda: torch.argsort(w, dim=-1, stable=True))
        del w
    if want("sort_flat"):
        w = rand(1 << 26)
        run("sort_flat", lambda: torch.sort(w, stable=True).values)
        del w
    if anyof("take_rows", "scatter_add_rows"):
        table = rand(131072, 4096, dtype=torch.bfloat16)
        idx = torch.randint(0, 131072, (32768,), device=dev, generator=g)
        upd = rand(32768, 4096, dtype=torch.bfloat16)
        run("take_rows", lambda: torch.index_select(table, 0, idx))
        # Functional, as mlxr's: a new table with the rows added.
        run("scatter_add_rows", lambda: table.index_add(0, idx, upd))
        del table, upd
    if want("chain_1000"):
        x0 = rand(256)
        c = torch.full_like(x0, 1.0001)

        def chain():
            x = x0
            for _ in range(1000):
                x = x * c
            return x

        run("chain_1000", chain)
