"""E2's many re-initialisations: stacked weights (one batched matmul per layer) vs a Python loop over seeds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/richness_e2_batched.py [--width 1024] [--trials 32] [--batch 512] [--repeat 3]

Both compute, per trial, a fresh init, one SGD step on a random batch and ||h2' - h2|| / ||h2|| (the
author's E2 quantity) for the muP MLP on a synthetic 784-dimensional input. Peer: the plain PyTorch way,
a loop over seeds of fresh float32 tensors + autograd + torch.optim.SGD. Prints both times, the ratio and both trial means.

Also prints the floor per trial: the GEMM flops one step needs (forward, weight gradients, backward products
below the read-in, second forward) at this machine's measured float32 GEMM rate, plus drawing the init.
Run with OMP_NUM_THREADS=1 for single-thread numbers (torch picks up the thread count).
"""
from __future__ import annotations

import argparse
import time

import torch

from repro.experiments.richness import measure
from repro.experiments.richness.model import StackedMLP, mlp_forward, mse_loss
from repro.experiments.richness.parametrization import scales_for
from repro.experiments.richness.one_step import random_batches, sgd_step, trial_chunk


def batched(x, y, width, trials, batch, gen):
    out, done = [], 0
    while done < trials:
        t = min(trial_chunk(width, trials), trials - done)
        net = StackedMLP(x.shape[1], width, 3, y.shape[1], t, 0.5, 1.0, "mup", generator=gen)
        idx = random_batches(len(x), t, batch, gen)
        st = sgd_step(net, x[idx], y[idx], 1.0, "mean", center=False)
        out.append(measure.rel_change(st["acts1"][-1], st["acts0"][-1]))
        done += t
    return torch.cat(out)


def looped(x, y, width, trials, batch, gen):
    """Plain PyTorch: per seed, fresh float32 tensors, autograd, torch.optim.SGD with per-layer lrs."""
    scales = scales_for([x.shape[1], width, width], width, 0.5, 1.0, "mup")
    shapes = [(width, x.shape[1]), (width, width), (y.shape[1], width)]
    out = []
    for _ in range(trials):
        W = [(s.sigma * torch.randn(sh, generator=gen)).requires_grad_() for s, sh in zip(scales, shapes)]
        b = [(s.sigma * torch.randn(sh[0], generator=gen)).requires_grad_() for s, sh in zip(scales, shapes)]
        layers = lambda: [(s.g * w, s.g * c) for s, w, c in zip(scales, W, b)]  # noqa: E731
        idx = torch.randperm(len(x), generator=gen)[:batch]
        xb, yb = x[idx], y[idx]
        opt = torch.optim.SGD([{"params": [w, c], "lr": s.eta} for s, w, c in zip(scales, W, b)])
        f, _, acts = mlp_forward(layers(), xb)
        h0 = acts[-1].detach()
        mse_loss(f, yb, "mean").backward()
        opt.step()
        with torch.no_grad():
            out.append(float(measure.rel_change(mlp_forward(layers(), xb)[2][-1], h0)))
    return torch.tensor(out)


def floor_per_trial(d: int, width: int, k: int, batch: int) -> dict:
    """GEMM flops of one trial and their time at the measured GEMM rate, plus the init draw."""
    dims = [d, width, width, k]
    fwd = sum(2 * batch * dims[i] * dims[i + 1] for i in range(3))
    back = sum(2 * batch * dims[i] * dims[i + 1] for i in range(1, 3))  # dL/da below layers 2 and 3
    flops = 2 * fwd + fwd + back  # two forwards, weight gradients (same shapes as the forward), backward products
    a, w = torch.randn(batch, width), torch.randn(width, width)
    a @ w.T
    t = time.perf_counter()
    for _ in range(5):
        a @ w.T
    rate = 5 * 2 * batch * width * width / (time.perf_counter() - t)
    n_init = sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(3))
    torch.randn(n_init)
    t = time.perf_counter()
    for _ in range(5):
        torch.randn(n_init)
    t_init = (time.perf_counter() - t) / 5
    return {"gflop": flops / 1e9, "gemm_gflops": rate / 1e9, "gemm_s": flops / rate, "init_s": t_init,
            "floor_s": flops / rate + t_init}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timings of each (shared machines)")
    a = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5000, 784, generator=g)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (5000,), generator=g), 10).float()
    print(f"width {a.width}, {a.trials} trials, batch {a.batch}, threads {torch.get_num_threads()}, "
          f"{trial_chunk(a.width, a.trials)} trials stacked per chunk, best of {a.repeat}")
    batched(x, y, a.width, 2, a.batch, torch.Generator().manual_seed(1))  # warm-up
    t_b = t_l = float("inf")
    for _ in range(a.repeat):  # interleaved, best of each
        t = time.perf_counter()
        b = batched(x, y, a.width, a.trials, a.batch, torch.Generator().manual_seed(1))
        t_b = min(t_b, time.perf_counter() - t)
        t = time.perf_counter()
        l = looped(x, y, a.width, a.trials, a.batch, torch.Generator().manual_seed(1))
        t_l = min(t_l, time.perf_counter() - t)
    print(f"stacked (batched): {t_b:7.2f} s   mean ||dh||/||h|| = {float(b.mean()):.4f}")
    print(f"python loop:       {t_l:7.2f} s   mean ||dh||/||h|| = {float(l.mean()):.4f}")
    print(f"ratio loop / batched: {t_l / t_b:.2f}x")
    fl = floor_per_trial(x.shape[1], a.width, y.shape[1], a.batch)
    print(f"floor per trial: {fl['gflop']:.2f} GFLOP of GEMMs at {fl['gemm_gflops']:.0f} GFLOP/s = {fl['gemm_s'] * 1e3:.0f} ms"
          f" + init draw {fl['init_s'] * 1e3:.0f} ms; x {a.trials} trials = {fl['floor_s'] * a.trials:.2f} s")
    print(f"stacked / floor: {t_b / (fl['floor_s'] * a.trials):.2f}x   loop / floor: {t_l / (fl['floor_s'] * a.trials):.2f}x")


if __name__ == "__main__":
    main()
