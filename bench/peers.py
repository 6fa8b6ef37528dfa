"""The peers' side of the op benchmark: the same op list and sizes as src/bench_ops.rs,
timed with NumPy and MLX (CPU) or PyTorch (GPU). Prints one JSON line per op and peer.

Usage: python3 bench/peers.py --peer numpy|mlx|torch [--reps N]
"""
import argparse
import json
import time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--peer", default="numpy")
p.add_argument("--reps", type=int, default=10)
p.add_argument("--only", default=None)
args = p.parse_args()
only = set(args.only.split(",")) if args.only else None

rng = np.random.default_rng(0)
def r(*s):
    return rng.uniform(-1, 1, size=s).astype(np.float32)

n = 4096
X, Y = r(n, n), r(n, n)
M1A, M1B, M2A, M2B = r(1024, 1024), r(1024, 1024), r(2048, 2048), r(2048, 2048)
# Issue 3 rows: sorting along the last axis and flat, gathers/scatters of table rows.
HEAVY_NAMES = ("sort_last", "argsort_last", "sort_flat", "take_rows", "scatter_add_rows")
HEAVY = {"sort_last", "argsort_last", "sort_flat", "scatter_add_rows"}
if only is None or only & set(HEAVY_NAMES):
    WIDE = r(4096, 16384)
    FLAT = r(1 << 24)
    TABLE = r(131072, 1024)
    IDX = rng.integers(0, 131072, size=32768).astype(np.uint32)
    UPD = r(32768, 1024)
else:
    WIDE = FLAT = TABLE = IDX = UPD = None


def timeit(f, sync=lambda out: None, reps=None):
    for _ in range(2):
        sync(f())
    ts = []
    for _ in range(reps or args.reps):
        t = time.perf_counter()
        sync(f())
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def scatter_add_np(t, idx, upd):
    t = t.copy()
    np.add.at(t, idx, upd)
    return t


def softmax_np(a):
    m = a.max(axis=-1, keepdims=True)
    e = np.exp(a - m)
    return e / e.sum(axis=-1, keepdims=True)


if args.peer == "numpy":
    x, y = X, Y
    ops = {
        "add": lambda: np.add(x, y),
        "exp": lambda: np.exp(x),
        "sum_all": lambda: x.sum(),
        "sum_last": lambda: x.sum(axis=-1),
        "sum_first": lambda: x.sum(axis=0),
        "softmax": lambda: softmax_np(x),
        "matmul_1024": lambda: M1A @ M1B,
        "matmul_2048": lambda: M2A @ M2B,
        "transpose_copy": lambda: np.ascontiguousarray(x.T),
        "argmax_last": lambda: np.argmax(x, axis=-1),
        "argmin_first": lambda: np.argmin(x, axis=0),
        "argmax_all": lambda: np.argmax(x),
        "sort_last": lambda: np.sort(WIDE, axis=-1),
        "argsort_last": lambda: np.argsort(WIDE, axis=-1, kind="stable"),
        "sort_flat": lambda: np.sort(FLAT),
        "take_rows": lambda: np.take(TABLE, IDX, axis=0),
        # mlxr's scatter_add is functional (a new array): NumPy's in-place add.at on a copy.
        "scatter_add_rows": lambda: scatter_add_np(TABLE, IDX, UPD),
        "cumsum_last": lambda: np.cumsum(x, axis=-1),
    }
    sync = lambda out: None
elif args.peer == "mlx":
    import mlx.core as mx
    mx.set_default_device(mx.cpu)
    x, y = mx.array(X), mx.array(Y)
    m1a, m1b, m2a, m2b = map(mx.array, (M1A, M1B, M2A, M2B))
    mx.eval(x, y, m1a, m1b, m2a, m2b)
    ops = {
        "add": lambda: x + y,
        "exp": lambda: mx.exp(x),
        "sum_all": lambda: x.sum(),
        "sum_last": lambda: x.sum(axis=-1),
        "sum_first": lambda: x.sum(axis=0),
        "softmax": lambda: mx.softmax(x, axis=-1),
        "matmul_1024": lambda: m1a @ m1b,
        "matmul_2048": lambda: m2a @ m2b,
        "transpose_copy": lambda: mx.contiguous(x.T) if hasattr(mx, "contiguous") else x.T * 1,
        "argmax_last": lambda: mx.argmax(x, axis=-1),
        "argmin_first": lambda: mx.argmin(x, axis=0),
        "argmax_all": lambda: mx.argmax(x),
        "cumsum_last": lambda: mx.cumsum(x, axis=-1),
    }
    if WIDE is not None:
        wide, flat, table, idx, upd = map(mx.array, (WIDE, FLAT, TABLE, IDX, UPD))
        mx.eval(wide, flat, table, idx, upd)
        ops.update({
            "sort_last": lambda: mx.sort(wide, axis=-1),
            "argsort_last": lambda: mx.argsort(wide, axis=-1),
            "sort_flat": lambda: mx.sort(flat),
            "take_rows": lambda: mx.take(table, idx, axis=0),
            "scatter_add_rows": lambda: table.at[idx].add(upd),
        })
    sync = lambda out: mx.eval(out)
else:
    import torch
    dev = "cuda"
    x, y = torch.from_numpy(X).to(dev), torch.from_numpy(Y).to(dev)
    m1a, m1b, m2a, m2b = (torch.from_numpy(a).to(dev) for a in (M1A, M1B, M2A, M2B))
    ops = {
        "add": lambda: x + y,
        "exp": lambda: torch.exp(x),
        "sum_all": lambda: x.sum(),
        "sum_last": lambda: x.sum(dim=-1),
        "sum_first": lambda: x.sum(dim=0),
        "softmax": lambda: torch.softmax(x, dim=-1),
        "matmul_1024": lambda: m1a @ m1b,
        "matmul_2048": lambda: m2a @ m2b,
        "transpose_copy": lambda: x.t().contiguous(),
    }
    sync = lambda out: torch.cuda.synchronize()

for name, f in ops.items():
    if only and name not in only:
        continue
    reps = min(args.reps, 5) if name in HEAVY else args.reps
    print(json.dumps({"op": name, "peer": args.peer, "ms": round(timeit(f, sync, reps), 4)}), flush=True)
