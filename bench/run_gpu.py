"""Run the GPU benchmark of mlxr (bench_gpu) and PyTorch (gpu_peers.py) in one run and
print a table: median ms of each, the ratio PyTorch/mlxr (> 1: mlxr faster), and mlxr's
achieved bandwidth (GB/s) and compute (TFLOP/s).

Usage: python3 bench/run_gpu.py [--bin PATH] [--reps N] [--only NAME[,NAME]]
(the binary: `cargo build --release -p mlxr-bench --features cuda --bin bench_gpu`).
"""
import argparse
import json
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/release/bench_gpu")
p.add_argument("--reps", type=int, default=10)
p.add_argument("--only", default=None)
a = p.parse_args()
extra = ["--reps", str(a.reps)] + (["--only", a.only] if a.only else [])


def lines(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            out[d["op"]] = d
    return out


mine = lines([a.bin] + extra)
torch = lines([sys.executable, "bench/gpu_peers.py"] + extra)
print(f"| op | mlxr ms | PyTorch ms | PyTorch/mlxr | mlxr GB/s | mlxr TFLOP/s |")
print("|---|---|---|---|---|---|")
for op in list(dict.fromkeys(list(mine) + list(torch))):
    m, t = mine.get(op), torch.get(op)
    mm = f"{m['ms']:.4f}" if m else "-"
    tt = f"{t['ms']:.4f}" if t else "-"
    ratio = f"{t['ms'] / m['ms']:.2f}x" if m and t else "-"
    bw = f"{m['gb'] / m['ms'] * 1e3:.0f}" if m and m["gb"] > 0 else "-"
    tf = f"{m['gflop'] / m['ms']:.1f}" if m and m["gflop"] > 0 else "-"
    print(f"| {op} | {mm} | {tt} | {ratio} | {bw} | {tf} |", flush=True)
