"""rf-sweep's theory solver against a scalar brentq loop: 110 values of k × 31 ridges, M = 10^4.

Ours solves the whole grid at once (safeguarded Newton on tabulated spectral sums). The peer solves
the same single-equation form point by point with scipy.optimize.brentq and exact O(M) sums.
Prints both times, the ratio and the largest relative disagreement of γ, κ and the test/train MSE.

    python benchmarks/rf_theory_vs_brentq.py [--modes 10000] [--n 256]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from repro.experiments.rf_sweep.grid import theory_axis
from repro.experiments.rf_sweep.theory import Spectrum, rf_theory, rf_theory_brentq


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--modes", type=int, default=10000)
    p.add_argument("--n", type=float, default=256.0)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    i = np.arange(1, args.modes + 1, dtype=np.float64)
    spec = Spectrum(i**-1.5, i**-1.5, 0.5)
    ks = theory_axis(10, 1e4 - 1, 60, 50)  # 60 log-spaced + 50 around the peak, as the paper's curves
    ridges = np.logspace(-3, 2, 31)

    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        ours = rf_theory(spec, args.n, ks[:, None], ridges[None, :])
        times.append(time.perf_counter() - t)
    t_ours = min(times)

    t = time.perf_counter()
    ref = {key: np.empty((len(ks), len(ridges))) for key in ("test_mse", "train_mse", "gamma", "kappa")}
    for a, k in enumerate(ks):
        for b, d in enumerate(ridges):
            r = rf_theory_brentq(spec, args.n, k, d)
            for key in ref:
                ref[key][a, b] = r[key]
    t_peer = time.perf_counter() - t

    worst = max(float(np.max(np.abs(ours[key] / ref[key] - 1))) for key in ref)
    print(f"grid: {len(ks)} k × {len(ridges)} ridges at n={args.n:g}, M={args.modes} modes ({ours['test_mse'].size} points)")
    print(f"ours (vectorised, best of {args.repeats}): {t_ours:.3f} s")
    print(f"scalar brentq loop:            {t_peer:.2f} s")
    print(f"speed-up: {t_peer / t_ours:.1f}x   max relative disagreement: {worst:.2e}")


if __name__ == "__main__":
    main()
