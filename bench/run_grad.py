"""Run the gradient benchmark (forward + backward of a 4-layer MLP, batch 256, width 1024,
float32) with mlxr and MLX on this CPU in one run; print the ratio (MLX time / mlxr time:
above 1 means mlxr is faster) and with --record append it to bench/RESULTS.md.

Usage (from the repo root): python3 bench/run_grad.py [--reps N] [--record]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=10)
p.add_argument("--record", action="store_true")
args = p.parse_args()

subprocess.run(["cargo", "build", "--release", "-p", "mlxr-bench", "--bin", "bench_grad"], cwd=root, check=True)
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
out = subprocess.run([os.path.join(target, "release", "bench_grad"), "--reps", str(args.reps)],
                     check=True, capture_output=True, text=True).stdout
ours = [json.loads(l) for l in out.splitlines() if l.startswith("{")][0]["ms"]

import mlx.core as mx  # noqa: E402

mx.set_default_device(mx.cpu)
B, W, L = 256, 1024, 4
x = mx.random.uniform(-1, 1, (B, W))
y = mx.random.uniform(-1, 1, (B, W))
params = []
for _ in range(L):
    params += [mx.random.uniform(-1, 1, (W, W)) / W ** 0.5, mx.random.uniform(-0.01, 0.01, (W,))]


def loss(*p):
    h = x
    for l in range(L):
        h = h @ p[2 * l] + p[2 * l + 1]
        if l + 1 < L:
            h = mx.maximum(h, 0)
    return mx.mean(mx.square(h - y))


vg = mx.value_and_grad(loss, argnums=list(range(2 * L)))
for _ in range(2):
    mx.eval(vg(*params))
ts = []
for _ in range(args.reps):
    s = time.perf_counter()
    mx.eval(vg(*params))
    ts.append((time.perf_counter() - s) * 1e3)
theirs = sorted(ts)[len(ts) // 2]
gflop = 3 * L * 2 * B * W * W / 1e9
row = (f"| mlp_value_and_grad (4x1024, batch 256) | {ours:.2f} | {theirs:.2f} | {theirs / ours:.2f}x "
       f"| {gflop / ours * 1e3:.1f} |")
table = "| op | mlxr ms | MLX ms | MLX/mlxr | mlxr GFLOP/s |\n|---|---|---|---|---|\n" + row
print(table)
if args.record:
    stamp = datetime.date.today().isoformat()
    with open(os.path.join(here, "RESULTS.md"), "a") as fh:
        fh.write(f"\n### Gradients (CPU), {stamp}, {platform.machine()} {os.cpu_count()} cores, "
                 f"median of {args.reps}\n\n{table}\n")
