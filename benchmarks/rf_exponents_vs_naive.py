"""The exponent experiment's cost: every n from one Cholesky per trial (exponents.prefix_curves) against
the naive way (a fresh eigendecomposition pseudo-inverse per n and trial, exponents.naive_curves).

    python benchmarks/rf_exponents_vs_naive.py [--pool 3000] [--n-max 2500] [--count 30] [--n-test 500]

A fully connected NTK on a pool of random unit-variance inputs stands in for a data kernel (the cost
depends on sizes only). Prints both times, the ratio and the largest relative difference of the curves.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from repro.experiments.rf_sweep.exponents import naive_curves, prefix_curves
from repro.experiments.rf_sweep.grid import int_logspace
from repro.experiments.rf_sweep.kernels import kernel_matrix


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pool", type=int, default=3000)
    p.add_argument("--n-max", type=int, default=2500)
    p.add_argument("--count", type=int, default=30)
    p.add_argument("--n-test", type=int, default=500)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((a.pool, 16, 16, 1))
    K = kernel_matrix("fc_ntk", x, depth=3)
    K = (K + K.T) / 2
    y = np.eye(10)[rng.integers(0, 10, a.pool)]
    perm = rng.permutation(a.pool)
    test, train = perm[:a.n_test], perm[a.n_test:a.n_test + a.n_max]
    ns = int_logspace(10, a.n_max, a.count)
    t = time.perf_counter()
    fast = prefix_curves(K, y, train, test, ns, 1e-10)
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    slow = naive_curves(K, y, train, test, ns, 1e-10)
    t_slow = time.perf_counter() - t
    diff = max(float(np.max(np.abs(fast[k] / slow[k] - 1))) for k in ("inv_trace", "test_mse"))
    print(f"pool={a.pool} n_max={a.n_max} n values={len(ns)} n_test={a.n_test} (one trial, float64)")
    print(f"prefix_curves (one Cholesky): {t_fast:.2f} s")
    print(f"naive_curves (eigh per n):    {t_slow:.2f} s")
    print(f"ratio naive/prefix: {t_slow / t_fast:.1f}x   max relative difference of the curves: {diff:.2e}")


if __name__ == "__main__":
    main()
