"""lazy_widths' full-batch GD: stacked trials (lazy_gd.effective_gd, one batched matmul per layer) vs a Python loop
over trials of the same GD on one network each (the same function with one trial, i.e. plain per-trial PyTorch).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/richness_lazy_widths.py [--widths 128 512 2048] [--trials 4]
        [--steps 50] [--points 64] [--repeat 2]

Per width: `trials` centred muP MLPs (784-free teacher task, d = 32) trained `steps` full-batch GD steps on P points;
prints both times (best of `repeat`), their ratio (loop / stacked) and the largest difference of the outputs
(the two compute the same thing). Widths cannot share one tensor (different shapes), so they are looped in both.
"""
from __future__ import annotations

import argparse
import time

import torch

from repro.experiments.richness.data import teacher_task
from repro.experiments.richness.lazy_gd import effective_gd
from repro.experiments.richness.model import StackedMLP


def run(layers0, lams, gain, x, y, lr, steps):
    return effective_gd(layers0, lams, gain, x, y, [], lr, (steps,))[0][steps][0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--points", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    data = teacher_task(a.points, 8, 32, 1, 256, 1234)
    x, y = data.x_train.float(), data.y_train.float()
    print(f"threads={torch.get_num_threads()} trials={a.trials} steps={a.steps} P={a.points}")
    for w in a.widths:
        net = StackedMLP(32, w, 3, 1, a.trials, 0.0, 1.0, "mup", generator=torch.Generator().manual_seed(0))
        lams = [s.lam for s in net.scales]
        layers0 = [(V.detach(), c.detach()) for V, c in net.effective_layers()]
        lr = torch.full((a.trials,), 0.5)
        best = {"stacked": float("inf"), "loop": float("inf")}
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            f_s = run(layers0, lams, net.gain, x, y, lr, a.steps)
            best["stacked"] = min(best["stacked"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            f_l = torch.cat([run([(V[t:t + 1], c[t:t + 1]) for V, c in layers0], lams, net.gain, x, y, lr[t:t + 1],
                                 a.steps) for t in range(a.trials)])
            best["loop"] = min(best["loop"], time.perf_counter() - t0)
        diff = float((f_s - f_l).abs().max() / f_l.abs().max())
        print(f"width {w:5d}: stacked {best['stacked']:.3f} s, loop {best['loop']:.3f} s, "
              f"ratio loop/stacked {best['loop'] / best['stacked']:.2f}x, max rel. output difference {diff:.1e}")


if __name__ == "__main__":
    main()
