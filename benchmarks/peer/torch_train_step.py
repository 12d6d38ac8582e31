#!/usr/bin/env python3
"""torch_train_step.py — the PyTorch peer of bench_train_step: the same Llama-style model
(RMSNorm, RoPE, causal attention, SwiGLU, untied head), batch and training step (forward,
backward, global-norm clipping, AdamW) on the CPU, timed, next to gradwork's step.

Usage:
  python3 benchmarks/peer/torch_train_step.py --bench build/release/bin/bench_train_step \
      [--shape cpu-tiny|gpt2-small] [--threads 2] [--steps 20]

Prints tokens/s of PyTorch and of gradwork (parsed from bench_train_step's JSON output, run
with the same thread count) and their ratio. Installs torch (CPU wheel) with pip when it is
missing. Never run by the test suite.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

SHAPES = {  # (layers, heads, width, mlp width, block, batch, vocab) as in bench_train_step
    "cpu-tiny": (4, 4, 128, 352, 64, 12, 65),
    "gpt2-small": (12, 12, 768, 2048, 1024, 1, 65),
}


def ensure_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch missing: installing the CPU wheel with pip ...", flush=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "torch"]
        if subprocess.call(pip + ["--index-url", "https://download.pytorch.org/whl/cpu"]) != 0:
            # The CPU index is unreachable here: take PyPI's wheel (larger, CUDA libraries).
            print("CPU index unreachable: installing torch from PyPI ...", flush=True)
            subprocess.check_call(pip)
    import torch
    return torch


def build_model(torch, L, n, h, i, s, v):
    nn = torch.nn
    F = torch.nn.functional
    d = h // n

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(h))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight

    inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
    ang = torch.outer(torch.arange(s).float(), inv)  # (s, d/2)
    cos, sin = ang.cos(), ang.sin()

    def rope(x):  # (b, n, s, d), pairs (2j, 2j+1) rotated as gradwork's RoPE
        x1, x2 = x[..., 0::2], x[..., 1::2]
        t = x.shape[2]
        c, si = cos[:t], sin[:t]
        return torch.stack((x1 * c - x2 * si, x1 * si + x2 * c), dim=-1).flatten(-2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = RMSNorm(), RMSNorm()
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(h, h, bias=False) for _ in range(4))
            self.gate, self.up = nn.Linear(h, i, bias=False), nn.Linear(h, i, bias=False)
            self.down = nn.Linear(i, h, bias=False)

        def forward(self, x):
            b, t, _ = x.shape
            a = self.n1(x)
            q, k, vv = (w(a).view(b, t, n, d).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
            o = F.scaled_dot_product_attention(rope(q), rope(k), vv, is_causal=True)
            x = x + self.wo(o.transpose(1, 2).reshape(b, t, h))
            m = self.n2(x)
            return x + self.down(F.silu(self.gate(m)) * self.up(m))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(v, h)
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.norm = RMSNorm()
            self.head = nn.Linear(h, v, bias=False)

        def forward(self, ids, targets):
            x = self.emb(ids)
            for blk in self.blocks:
                x = blk(x)
            logits = self.head(self.norm(x))
            return F.cross_entropy(logits.view(-1, v), targets.view(-1))

    return Model()


def torch_tokens_per_s(torch, shape, steps, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    L, n, h, i, s, b, v = SHAPES[shape]
    model = build_model(torch, L, n, h, i, s, v)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
    ids = torch.randint(0, v, (b, s))
    tgt = torch.randint(0, v, (b, s))

    def step():
        loss = model(ids, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(2):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return b * s * steps / (time.perf_counter() - t0)


def gradwork_tokens_per_s(bench, shape, threads):
    """tokens/s of bench_train_step's train_step/<shape> row (its console table; the custom
    reporter that prints the same-process summary does not honour --benchmark_format)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([bench, "--benchmark_filter=train_step/" + shape], env=env,
                         capture_output=True, text=True, check=True).stdout
    scale = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
    rows = [line for line in out.splitlines() if line.startswith("train_step/" + shape)]
    # With repetitions (cpu-tiny runs three) the median row stands for them all.
    rows = [r for r in rows if "_median" in r] or rows
    for line in rows:
        m = re.findall(r"([0-9.]+)([kMG]?)/s", line)
        if m:
            value, unit = m[-1]  # the last rate on the row is tokens/s
            return float(value) * scale[unit]
    sys.exit("torch_train_step.py: no train_step/%s row in the output of %s:\n%s" % (shape, bench, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="build/release/bin/bench_train_step")
    ap.add_argument("--shape", default="cpu-tiny", choices=sorted(SHAPES))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch = ensure_torch()
    pt = torch_tokens_per_s(torch, a.shape, a.steps, a.threads)
    print(f"pytorch {torch.__version__}: {a.shape} train step {pt:,.0f} tokens/s ({a.threads} threads)")
    if not os.path.exists(a.bench):
        print(f"gradwork: {a.bench} not found (build bench_train_step); no ratio")
        return
    gw = gradwork_tokens_per_s(a.bench, a.shape, a.threads)
    print(f"gradwork: {a.shape} train step {gw:,.0f} tokens/s")
    print(f"ratio gradwork/pytorch: {gw / pt:.2f}")


if __name__ == "__main__":
    main()
