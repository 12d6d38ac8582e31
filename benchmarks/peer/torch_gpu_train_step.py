#!/usr/bin/env python3
"""torch_gpu_train_step.py — the PyTorch peer of bench_gpu_train_step: the same Llama-style
model (the definition of torch_train_step.py, imported), batch and training step (forward,
backward, global-norm clipping, AdamW) on the GPU, in eager mode and under torch.compile,
next to gradwork's step on the same GPU.

Usage:
  python3 benchmarks/peer/torch_gpu_train_step.py --bench build/bin/bench_gpu_train_step \
      [--shape gpu-char|gpt2-small|all] [--steps 20] [--precision tf32|fp32|bf16] [--no-compile]

Precision tf32 (the default) matches gradwork: f32 weights and activations, TF32 tensor-core
GEMMs. bf16 runs autocast to bfloat16 (what nanoGPT and llm.c quote). Prints tokens/s of
eager and compiled PyTorch and of gradwork (parsed from bench_gpu_train_step --json) and the
ratios gradwork/eager and gradwork/compile. Never installs anything and never run by tests:
it needs torch with CUDA (present on the GPU machine).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_step import build_model  # noqa: E402  the one model definition

# (layers, heads, width, mlp width, block, batch, vocab) of the presets in config.cpp
SHAPES = {
    "gpu-char": (6, 6, 384, 1024, 256, 64, 65),
    "gpt2-small": (12, 12, 768, 2048, 1024, 8, 65),
}


def tokens_per_s(torch, shape, steps, precision, compile_model):
    torch.manual_seed(0)
    L, n, h, i, s, b, v = SHAPES[shape]
    torch.backends.cuda.matmul.allow_tf32 = precision != "fp32"
    torch.backends.cudnn.allow_tf32 = precision != "fp32"
    with torch.device("cuda"):  # the model's RoPE tables are made inside build_model
        model = build_model(torch, L, n, h, i, s, v)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99),
                            fused=True)
    ids = torch.randint(0, v, (b, s), device="cuda")
    tgt = torch.randint(0, v, (b, s), device="cuda")
    forward = torch.compile(model) if compile_model else model

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = forward(ids, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for _ in range(3):  # compilation happens here
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()  # gradwork's step also ends by reading the loss
    torch.cuda.synchronize()
    return b * s * steps / (time.perf_counter() - t0)


def gradwork_tokens_per_s(bench, steps):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "gw.json")
        run = subprocess.run([bench, "--steps", str(steps), "--json", path], capture_output=True,
                             text=True)
        print(run.stdout, end="")
        if run.returncode != 0 or not os.path.exists(path):
            print(f"gradwork: {bench} failed: {run.stderr.strip()}")
            return {}
        return {r["preset"]: r["tokens_per_s"] for r in json.load(open(path))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="build/bin/bench_gpu_train_step")
    ap.add_argument("--shape", default="all", choices=sorted(SHAPES) + ["all"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--precision", default="tf32", choices=["tf32", "fp32", "bf16"])
    ap.add_argument("--no-compile", action="store_true", help="eager only")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch is not importable")
        return
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return
    shapes = sorted(SHAPES) if a.shape == "all" else [a.shape]
    print(f"pytorch {torch.__version__} on {torch.cuda.get_device_name(0)}, precision {a.precision}")
    gw = gradwork_tokens_per_s(a.bench, a.steps) if os.path.exists(a.bench) else {}
    if not gw:
        print(f"gradwork: no figures ({a.bench} missing or failed); no ratios")
    for shape in shapes:
        eager = tokens_per_s(torch, shape, a.steps, a.precision, False)
        line = f"{shape:<10} torch eager {eager:>10,.0f} tok/s"
        compiled = None
        if not a.no_compile:
            try:
                compiled = tokens_per_s(torch, shape, a.steps, a.precision, True)
                line += f" | torch.compile {compiled:>10,.0f} tok/s"
            except Exception as e:  # no Triton, no compiler: say so, keep eager
                line += f" | torch.compile failed ({type(e).__name__})"
        if shape in gw:
            line += f" | gradwork {gw[shape]:>10,.0f} tok/s | gradwork/eager {gw[shape] / eager:.2f}"
            if compiled:
                line += f" | gradwork/compile {gw[shape] / compiled:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
