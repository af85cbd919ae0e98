"""One full-batch GD step of the harness's SGNS loss vs one QWEM GD step, V = 10,000, d = 200, float64.

    python benchmarks/word2vec_sgns_gd.py [--vocab 10000] [--d 200] [--repeats 2] [--loss sgns|quartic]

Both trainers run for real (harness_sgns.train_harness_gd, qwem.train_qwem_gd) on the same synthetic
statistics (a dense P with a planted low-rank PMI; the step's cost does not depend on the values),
for n1 and n2 steps with logging only at the ends; the per-step time is the difference over
n2 − n1, so setup (M*, the pair masses) cancels. The minimum over `repeats` interleaved tries is
reported (the machine is shared). QWEM's step is one V×V by V×d product (M*W); SGNS's needs the Gram
matrix WWᵀ too (syrk, half a product) and the elementwise σ on its triangle, so the V²d products alone give 1.5x (QWEM also pays W(WᵀW) and copies).
Target: within 1.5x.
"""
from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import torch

from repro.experiments.word2vec import harness_sgns, qwem


def statistics(V: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    Pi = 1.0 / np.arange(1, V + 1)
    Pi /= Pi.sum()
    U = rng.normal(size=(V, 20)) / np.sqrt(V)
    P = np.outer(Pi, Pi)
    P *= np.exp(np.clip((U * 30) @ U.T, -5, 5))
    P = (P + P.T) / 2
    return P / P.sum(), Pi


def wall(fn, steps: int) -> float:
    t0 = time.perf_counter()
    fn(steps)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--n1", type=int, default=1)
    ap.add_argument("--n2", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--loss", default="sgns", choices=["sgns", "quartic"])
    args = ap.parse_args()
    P, Pi = statistics(args.vocab)
    t = SimpleNamespace(log_every=10**9, lr_decay_at=0.75, lr_decay=1.0, subsample=1e-5, compile=False,
                        reweight="omniscient")
    h = SimpleNamespace(loss=args.loss, reweight="omniscient")

    def res(steps):
        return SimpleNamespace(d=args.d, negatives=1.0, steps=steps, lr=1e-3, batch_size=None, init_scale=0.1,
                               dtype="float64", seed=0)

    runs = {"qwem_gd": lambda n: qwem.train_qwem_gd(P, Pi, t, res(n), "cpu"),
            "harness_gd": lambda n: harness_sgns.train_harness_gd(P, Pi, t, h, res(n), "cpu")}
    best = {k: float("inf") for k in runs}
    for rep in range(args.repeats):
        for name, fn in runs.items():
            per_step = (wall(fn, args.n2) - wall(fn, args.n1)) / (args.n2 - args.n1)
            best[name] = min(best[name], per_step)
            print(f"try {rep + 1}: {name} {per_step:.3f} s/step", flush=True)
    ratio = best["harness_gd"] / best["qwem_gd"]
    print(f"V={args.vocab} d={args.d} float64 threads={torch.get_num_threads()} loss={args.loss}: "
          f"QWEM GD {best['qwem_gd']:.3f} s/step, harness SGNS GD {best['harness_gd']:.3f} s/step, "
          f"ratio {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
