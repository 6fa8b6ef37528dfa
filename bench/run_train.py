"""Run the training-throughput benchmark (one step of the main job's language model:
forward + backward + AdamW update, evaluated; tokens/s from the median of N timed steps)
with mlxr and its peers in one run, and print a table with ratios (mlxr tokens/s / peer
tokens/s, i.e. peer time / mlxr time: above 1 means mlxr is faster).

CPU (default): mlxr vs MLX (eager and mx.compile), plus PyTorch CPU when it is installed.
GPU (--device gpu): mlxr (built with --features cuda) vs PyTorch eager and torch.compile.

Usage (from the repo root):
  python3 bench/run_train.py [--device cpu|gpu] [--size tiny,small] [--steps N] [--warmup N]
                             [--peers mlx,mlx-compile,torch,torch-compile] [--record] [--note TEXT]
                             [--bin PATH]
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
p = argparse.ArgumentParser()
p.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
p.add_argument("--bin", default=None, help="a built bench_train (skips the cargo build)")
p.add_argument("--size", default="tiny,small")
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--context", type=int, default=64)
p.add_argument("--peers", default=None, help="default: mlx,mlx-compile(,torch) on cpu; torch,torch-compile on gpu")
p.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
p.add_argument("--note", default="", help="machine note for the RESULTS.md heading")
a = p.parse_args()

has_torch = importlib.util.find_spec("torch") is not None
if a.peers is None:
    a.peers = "mlx,mlx-compile" + (",torch" if has_torch else "") if a.device == "cpu" else "torch,torch-compile"
common = ["--size", a.size, "--steps", str(a.steps), "--warmup", str(a.warmup),
          "--batch", str(a.batch), "--context", str(a.context)]


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


if a.bin:
    binary = a.bin
else:
    build = ["cargo", "build", "--release", "-p", "mlxr-bench", "--bin", "bench_train"]
    if a.device == "gpu":
        build += ["--features", "cuda"]
    subprocess.run(build, cwd=root, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    binary = os.path.join(target, "release", "bench_train")
rows = json_lines(subprocess.run([binary, "--device", a.device] + common,
                                 check=True, capture_output=True, text=True).stdout)
for r in rows:
    print(json.dumps(r), flush=True)
peer_dev = "cpu" if a.device == "cpu" else "cuda"
for peer in a.peers.split(","):
    res = subprocess.run([sys.executable, os.path.join(here, "train_peers.py"), "--peer", peer,
                          "--device", peer_dev] + common, capture_output=True, text=True)
    got = json_lines(res.stdout)
    if not got:
        got = [{"impl": peer, "size": s, "error": (res.stderr.strip().splitlines() or ["failed"])[-1][:160]}
               for s in a.size.split(",")]
    for r in got:
        print(json.dumps(r), flush=True)
    rows += got

ours = {r["size"]: r for r in rows if r["impl"] == "mlxr"}
peers = [x for x in a.peers.split(",")]
head = "| size | params | mlxr ms/step | mlxr tokens/s | " + " | ".join(
    f"{x} ms/step | {x} tokens/s | mlxr/{x}" for x in peers) + " |"
sep = "|" + "---|" * (4 + 3 * len(peers))
lines = [head, sep]
for size in a.size.split(","):
    o = ours.get(size)
    if o is None:
        continue
    if "error" in o:
        lines.append(f"| {size} | mlxr failed: {o['error'][:80]} |")
        continue
    cells = [size, f"{o['params']:,}", f"{o['step_ms']:.1f}", f"{o['tokens_per_s']:.0f}"]
    for x in peers:
        r = next((r for r in rows if r["impl"] == x and r.get("size") == size), None)
        if r is None or "error" in r:
            cells += ["—", "—", "failed" if r else "—"]
        else:
            cells += [f"{r['step_ms']:.1f}", f"{r['tokens_per_s']:.0f}", f"{o['tokens_per_s'] / r['tokens_per_s']:.2f}x"]
    lines.append("| " + " | ".join(cells) + " |")
table = "\n".join(lines)
print(table)
if a.record:
    stamp = datetime.date.today().isoformat()
    with open(os.path.join(here, "RESULTS.md"), "a") as fh:
        fh.write(f"\n### Training throughput ({a.device}), {stamp}, {platform.machine()} {os.cpu_count()} cores"
                 f"{', ' + a.note if a.note else ''}; batch {a.batch} x context {a.context}, "
                 f"median of {a.steps} steps after {a.warmup} warm-up\n\n{table}\n")
