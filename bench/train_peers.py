"""The training-throughput benchmark's peers: the main job's language model (as
crates/mlxr-nn/src/models/lm.rs: token embedding, pre-norm blocks of causal self-attention
with RoPE and a SwiGLU feed-forward, RMSNorm, no biases, tied output projection; AdamW with
betas (0.9, 0.95), eps 1e-8, weight decay 0.01, bias correction) in MLX and PyTorch, timed
like bench/src/bench_train.rs: random tokens, `--warmup` untimed steps, then the median of
`--steps` timed steps, each a forward + backward + optimizer update, evaluated (MLX) or
synchronized (PyTorch on CUDA). Prints one JSON line per size, in bench_train's format.

Peers: mlx (eager), mlx-compile (the step under mx.compile), torch (eager), torch-compile
(the loss under torch.compile; skipped with an "error" field when it fails).

Usage: python3 bench/train_peers.py --peer mlx|mlx-compile|torch|torch-compile
       [--device cpu|cuda] [--size tiny,small] [--steps N] [--warmup N] [--batch B]
       [--context L] [--vocab V]
"""
import argparse
import json
import math
import time

SIZES = {"tiny": (128, 2, 4), "small": (256, 4, 8), "base": (512, 8, 8)}


def hidden_of(dims):
    return 8 * dims // 3 // 16 * 16


def tokens_stream(batch, context, vocab, seed):
    """The same LCG as bench_train.rs (values differ only in which tokens are drawn)."""
    mask = (1 << 64) - 1
    s = seed

    def draw():
        nonlocal s
        out = []
        for _ in range(batch * context):
            s = (s * 6364136223846793005 + 1442695040888963407) & mask
            out.append((s >> 33) % vocab)
        return out

    return draw


def report(impl, device, size, params, a, times, loss):
    times = sorted(times)
    med = times[len(times) // 2]
    print(json.dumps({"impl": impl, "device": device, "size": size, "params": params,
                      "batch": a.batch, "context": a.context, "steps": a.steps,
                      "step_ms": round(med * 1e3, 3),
                      "tokens_per_s": round(a.batch * a.context / med, 1),
                      "loss": round(float(loss), 4)}), flush=True)


def run_mlx(a, size, compiled):
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from functools import partial

    mx.set_default_device(mx.cpu if a.device == "cpu" else mx.gpu)
    dims, layers, heads = SIZES[size]
    hidden = hidden_of(dims)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm = nn.RMSNorm(dims, eps=1e-5)
            self.wq = nn.Linear(dims, dims, bias=False)
            self.wk = nn.Linear(dims, dims, bias=False)
            self.wv = nn.Linear(dims, dims, bias=False)
            self.wo = nn.Linear(dims, dims, bias=False)
            self.ffn_norm = nn.RMSNorm(dims, eps=1e-5)
            self.w1 = nn.Linear(dims, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dims, bias=False)
            self.w3 = nn.Linear(dims, hidden, bias=False)
            self.rope = nn.RoPE(dims // heads, traditional=False, base=10000)

        def __call__(self, x, mask):
            B, L, D = x.shape
            h = self.attention_norm(x)
            split = lambda t: t.reshape(B, L, heads, D // heads).transpose(0, 2, 1, 3)
            q = self.rope(split(self.wq(h)))
            k = self.rope(split(self.wk(h)))
            v = split(self.wv(h))
            o = mx.fast.scaled_dot_product_attention(q, k, v, scale=math.sqrt(1 / (D // heads)), mask=mask)
            x = x + self.wo(o.transpose(0, 2, 1, 3).reshape(B, L, D))
            h = self.ffn_norm(x)
            return x + self.w2(nn.silu(self.w1(h)) * self.w3(h))

    class Lm(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(a.vocab, dims)
            self.layers = [Block() for _ in range(layers)]
            self.norm = nn.RMSNorm(dims, eps=1e-5)

        def __call__(self, t):
            mask = nn.MultiHeadAttention.create_additive_causal_mask(t.shape[1])
            x = self.embedding(t)
            for b in self.layers:
                x = b(x, mask)
            return self.embedding.as_linear(self.norm(x))

    mx.random.seed(0)
    model = Lm()
    mx.eval(model.parameters())
    opt = optim.AdamW(3e-3, betas=[0.9, 0.95], eps=1e-8, weight_decay=0.01, bias_correction=True)

    def loss_fn(m, x, y):
        return nn.losses.cross_entropy(m(x), y, reduction="mean")

    vg = nn.value_and_grad(model, loss_fn)

    def step(x, y):
        loss, grads = vg(model, x, y)
        opt.update(model, grads)
        return loss

    if compiled:
        state = [model.state, opt.state]
        step = partial(mx.compile, inputs=state, outputs=state)(step)
    draw = tokens_stream(a.batch, a.context, a.vocab, 7)
    times, loss = [], float("nan")
    for i in range(a.warmup + a.steps):
        x = mx.array(draw(), dtype=mx.int32).reshape(a.batch, a.context)
        y = mx.array(draw(), dtype=mx.int32).reshape(a.batch, a.context)
        mx.eval(x, y)
        s = time.perf_counter()
        l = step(x, y)
        mx.eval(model.parameters(), opt.state, l)
        mx.synchronize()
        dt = time.perf_counter() - s
        if i >= a.warmup:
            times.append(dt)
        loss = l.item()
    n = sum(v.size for _, v in __import__("mlx.utils").utils.tree_flatten(model.parameters()))
    report("mlx-compile" if compiled else "mlx", a.device, size, n, a, times, loss)


def run_torch(a, size, compiled):
    import torch
    import torch.nn.functional as F

    dev = torch.device("cuda" if a.device in ("cuda", "gpu") else "cpu")
    dims, layers, heads = SIZES[size]
    hidden = hidden_of(dims)
    hd = dims // heads

    def rms_norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_norm = torch.nn.Parameter(torch.ones(dims))
            self.wq = torch.nn.Linear(dims, dims, bias=False)
            self.wk = torch.nn.Linear(dims, dims, bias=False)
            self.wv = torch.nn.Linear(dims, dims, bias=False)
            self.wo = torch.nn.Linear(dims, dims, bias=False)
            self.ffn_norm = torch.nn.Parameter(torch.ones(dims))
            self.w1 = torch.nn.Linear(dims, hidden, bias=False)
            self.w2 = torch.nn.Linear(hidden, dims, bias=False)
            self.w3 = torch.nn.Linear(dims, hidden, bias=False)

        def forward(self, x, cos, sin):
            B, L, D = x.shape
            h = rms_norm(x, self.attention_norm)
            split = lambda t: t.view(B, L, heads, hd).transpose(1, 2)

            def rope(t):  # rotate the halves (j, j + hd/2), as MLX's non-traditional RoPE
                t1, t2 = t[..., : hd // 2], t[..., hd // 2:]
                return torch.cat([t1 * cos - t2 * sin, t1 * sin + t2 * cos], -1)

            q = rope(split(self.wq(h)))
            k = rope(split(self.wk(h)))
            v = split(self.wv(h))
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.wo(o.transpose(1, 2).reshape(B, L, D))
            h = rms_norm(x, self.ffn_norm)
            return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    class Lm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(a.vocab, dims)
            self.layers = torch.nn.ModuleList([Block() for _ in range(layers)])
            self.norm = torch.nn.Parameter(torch.ones(dims))
            inv = 10000.0 ** (-torch.arange(0, hd // 2, dtype=torch.float32) * 2 / hd)
            theta = torch.arange(a.context, dtype=torch.float32)[:, None] * inv[None]
            self.register_buffer("cos", theta.cos(), persistent=False)
            self.register_buffer("sin", theta.sin(), persistent=False)

        def forward(self, t):
            L = t.shape[1]
            x = self.embedding(t)
            for b in self.layers:
                x = b(x, self.cos[:L], self.sin[:L])
            return rms_norm(x, self.norm) @ self.embedding.weight.T

    torch.manual_seed(0)
    model = Lm()
    with torch.no_grad():  # MLX's initialisation: embedding N(0, 1/dims), linears U(+-1/sqrt(in))
        for name, prm in model.named_parameters():
            if name == "embedding.weight":
                prm.normal_(0.0, dims ** -0.5)
            elif prm.ndim == 2:
                bound = prm.shape[1] ** -0.5
                prm.uniform_(-bound, bound)
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)

    def loss_fn(x, y):
        return F.cross_entropy(model(x).flatten(0, 1), y.flatten())

    impl = "torch-compile" if compiled else "torch"
    if compiled:
        try:
            loss_fn = torch.compile(loss_fn)
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"impl": impl, "device": a.device, "size": size, "error": str(e)[:200]}), flush=True)
            return
    draw = tokens_stream(a.batch, a.context, a.vocab, 7)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times, loss = [], float("nan")
    try:
        for i in range(a.warmup + a.steps):
            x = torch.tensor(draw(), dtype=torch.long, device=dev).view(a.batch, a.context)
            y = torch.tensor(draw(), dtype=torch.long, device=dev).view(a.batch, a.context)
            sync()
            s = time.perf_counter()
            l = loss_fn(x, y)
            l.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sync()
            dt = time.perf_counter() - s
            if i >= a.warmup:
                times.append(dt)
            loss = l.item()
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"impl": impl, "device": a.device, "size": size, "error": str(e)[:200]}), flush=True)
        return
    n = sum(p.numel() for p in model.parameters())
    report(impl, a.device, size, n, a, times, loss)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--peer", default="mlx", help="comma list of mlx, mlx-compile, torch, torch-compile")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "gpu"])
    p.add_argument("--size", default="tiny,small")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--vocab", type=int, default=28, help="28: the vocabulary of train_lm's corpus")
    a = p.parse_args()
    for peer in a.peer.split(","):
        for size in a.size.split(","):
            if peer in ("mlx", "mlx-compile"):
                run_mlx(a, size, peer == "mlx-compile")
            elif peer in ("torch", "torch-compile"):
                run_torch(a, size, peer == "torch-compile")
            else:
                raise SystemExit(f"unknown peer {peer}")


if __name__ == "__main__":
    main()
    import os

    os._exit(0)  # MLX's interpreter teardown can abort after the work is done
