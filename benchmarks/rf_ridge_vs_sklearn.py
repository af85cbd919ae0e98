"""rf-sweep's experiment kernel against scikit-learn: the Fig. 1 grid at n = 256.

31 ridges (logspace(-3, 2)) × 31 feature counts k in [10, 10^4] on one draw of Gaussian features
of the Gaussian power-law task. Ours: one Gram eigendecomposition per k gives every ridge. Peer:
sklearn.linear_model.Ridge(alpha=δ, fit_intercept=False) refitted per ridge on the same features
(its alpha is added to FᵀF, the same unnormalised convention). Prints both times, the ratio and
the largest relative difference of the test predictions.

    python benchmarks/rf_ridge_vs_sklearn.py [--n 256] [--modes 10000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.linear_model import Ridge

from repro.experiments.rf_sweep.data import sample_gaussian
from repro.experiments.rf_sweep.features import draw_weights, features
from repro.experiments.rf_sweep.grid import int_logspace
from repro.experiments.rf_sweep.ridge import ridge_predictions


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--modes", type=int, default=10000)
    args = p.parse_args()
    g = torch.Generator().manual_seed(0)
    x, y = sample_gaussian(args.modes, 1.5, 1.5, 0.5, args.n + args.n_test, g, "cpu", torch.float64)
    ks = int_logspace(10, 10000, 31)
    psi = features(x, draw_weights(x.shape[1], int(ks.max()), 1.0, g, "cpu", torch.float64), "gaussian")
    ridges = np.logspace(-3, 2, 31)
    feats = [(psi[: args.n, :k] / k**0.5, psi[args.n:, :k] / k**0.5) for k in ks]

    t = time.perf_counter()
    ours = [ridge_predictions(f_tr, y[: args.n], f_te, torch.as_tensor(ridges)) for f_tr, f_te in feats]
    t_ours = time.perf_counter() - t

    t = time.perf_counter()
    peer = [[Ridge(alpha=d, fit_intercept=False).fit(f_tr.numpy(), y[: args.n].numpy()).predict(f_te.numpy())
             for d in ridges] for f_tr, f_te in feats]
    t_peer = time.perf_counter() - t

    worst = max(float(np.abs(o[j].numpy().ravel() - pk[j].ravel()).max() / np.abs(pk[j]).max())
                for o, pk in zip(ours, peer) for j in range(len(ridges)))
    print(f"grid: n={args.n}, {len(ks)} k values up to {ks.max()}, {len(ridges)} ridges, {args.n_test} test points")
    print(f"ours (one Gram eigendecomposition per k): {t_ours:.2f} s")
    print(f"scikit-learn Ridge refit per ridge:        {t_peer:.2f} s")
    print(f"speed-up: {t_peer / t_ours:.1f}x   max relative prediction difference: {worst:.2e}")


if __name__ == "__main__":
    main()
