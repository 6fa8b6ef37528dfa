"""Run the CPU op benchmark: mlxr, NumPy and MLX in one run on this machine; print a table
of median times and ratios (peer time / mlxr time: above 1 means mlxr is faster), and with
--record append it to bench/RESULTS.md.

Usage (from the repo root): python3 bench/run_cpu.py [--reps N] [--only OP[,OP]] [--skip-build]
[--no-mlx] [--record] [--note TEXT]. The build honours CARGO_TARGET_DIR.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=10)
p.add_argument("--record", action="store_true")
p.add_argument("--only", default=None, help="comma-separated op names")
p.add_argument("--skip-build", action="store_true")
p.add_argument("--no-mlx", action="store_true", help="skip the MLX peer (slow on some ops)")
p.add_argument("--note", default="", help="machine/conditions note for the recorded heading")
args = p.parse_args()

if not args.skip_build:
    subprocess.run(["cargo", "build", "--release", "-p", "mlxr-bench", "--bin", "bench_ops"],
                   cwd=root, check=True)
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
exe = os.path.join(target, "release", "bench_ops")
only = ["--only", args.only] if args.only else []


def lines(cmd, env=None):
    out = subprocess.run(cmd, cwd=root, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


ours = {r["op"]: r["ms"] for r in lines([exe, "--device", "cpu", "--reps", str(args.reps)] + only)}
# NumPy: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE slow a current OpenBLAS down; unset them for the peer run.
env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
peers = {}
for peer in ("numpy",) if args.no_mlx else ("numpy", "mlx"):
    try:
        peers[peer] = {r["op"]: r["ms"] for r in lines(
            [sys.executable, os.path.join(here, "peers.py"), "--peer", peer, "--reps", str(args.reps)]
            + only, env=env)}
    except subprocess.CalledProcessError as e:
        print(f"peer {peer} failed: {e.stderr[-500:]}", file=sys.stderr)

rows = ["| op | mlxr ms | NumPy ms | MLX ms | NumPy/mlxr | MLX/mlxr |", "|---|---|---|---|---|---|"]
for op, ms in ours.items():
    n = peers.get("numpy", {}).get(op)
    m = peers.get("mlx", {}).get(op)
    f = lambda v: f"{v:.3f}" if v is not None else "-"
    ratio = lambda v: f"{v / ms:.2f}x" if v is not None else "-"
    rows.append(f"| {op} | {ms:.3f} | {f(n)} | {f(m)} | {ratio(n)} | {ratio(m)} |")
table = "\n".join(rows)
print(table)
if args.record:
    stamp = datetime.date.today().isoformat()
    with open(os.path.join(here, "RESULTS.md"), "a") as fh:
        note = f"; {args.note}" if args.note else ""
        fh.write(f"\n### CPU ops, {stamp}, {platform.machine()} {os.cpu_count()} cores "
                 f"({platform.processor() or 'cpu'}{note}), median of {args.reps} "
                 f"(at most 5 for sorts and scatter)\n\n{table}\n")
