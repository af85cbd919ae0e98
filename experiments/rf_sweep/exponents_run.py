"""experiment=exponents: the task exponents (α, β) of a kernel on real data (spec §9), and what §7.3
then predicts. Load the pool kernel, measure both proxy curves per trial, fit, save, draw.

For each trial, one random permutation of the P pool images gives n_test test points (its first
entries) and the nested training sets train[:n] for every n of the log grid; `prefix_curves` turns one
Cholesky factor per trial into (Tr (K_n + δI)⁻¹)⁻¹ and the ridgeless test MSE at every n (δ = 1e-10
stands in for a pseudo-inverse: it leaves every eigenvalue ≫ δ alone; float64). One-hot labels,
squared errors summed over the 10 outputs. α = −slope of the first, β = 1 − slope of the second,
both fitted on n ∈ exponents.fit with a 95% bootstrap interval over trials. Beside them, the direct
log-log fits of the pool's empirical λ_i and v_i² (spec §2.2) on exponents.direct_windows, which
disagree with each other and with the proxies (spec §9: why the proxies are used).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from repro.experiments.common.errors import require, require_positive, require_range
from repro.experiments.common.krr import eigenstructure
from repro.experiments.common.metrics import MetricsWriter
from repro.experiments.common.progress import Progress

from .exponents import exponents_from_curves, prefix_curves, spectrum_fits
from .grid import int_logspace
from .kernel_pool import pool_kernel, validate_pool
from .powerlaw import admissible, noise_threshold, optimal_fitting_ratio

MAX_TRIALS = 1000
MAX_BOOTSTRAP = 100_000


def validate(s) -> None:
    e = s.exponents
    require(len(e.n) == 3 and 1 <= e.n[0] <= e.n[1] and 3 <= e.n[2] <= 1000,
            f"exponents.n={list(e.n)} is invalid: it is [min, max, count] of an integer log grid; valid: "
            f"1 <= min <= max and 3 <= count <= 1000")
    require_range(e.n_test, "exponents.n_test", 1, 10**6)
    require_range(e.trials, "exponents.trials", 1, MAX_TRIALS)
    require_range(e.bootstrap, "exponents.bootstrap", 0, MAX_BOOTSTRAP)
    require_positive(e.delta, "exponents.delta")
    require(len(e.fit) == 2 and 0 < e.fit[0] < e.fit[1],
            f"exponents.fit={list(e.fit)} is invalid: it is the [lo, hi] window of n the slopes are fitted on; "
            f"valid: 0 < lo < hi")
    ns = n_grid(s)
    inside = int(((ns >= e.fit[0]) & (ns <= e.fit[1])).sum())
    require(inside >= 3, f"exponents.fit={list(e.fit)} is invalid: it holds {inside} of the n values "
                         f"{ns.min()}..{ns.max()}; valid: a window over at least 3 of them")
    for i, w in enumerate(e.direct_windows):
        require(len(w) == 2 and 1 <= w[0] < w[1], f"exponents.direct_windows[{i}]={list(w)} is invalid: an index "
                                                 f"window [lo, hi] of the spectrum; valid: 1 <= lo < hi")
    validate_pool(s, e.n[1] + e.n_test)


def n_grid(s) -> np.ndarray:
    lo, hi, count = s.exponents.n
    return int_logspace(lo, hi, count)


def measure(s, K: np.ndarray, Y: np.ndarray, run_dir: Path | None = None) -> dict[str, np.ndarray]:
    """The two proxy curves, (trials, len(ns)) each, one random split of the pool per trial."""
    e, ns, P = s.exponents, n_grid(s), len(K)
    inv_trace, mse = np.empty((e.trials, len(ns))), np.empty((e.trials, len(ns)))
    metrics = MetricsWriter(run_dir) if run_dir is not None else None
    with Progress(e.trials, "exponents", unit="trials") as bar:
        for t in range(e.trials):
            perm = np.random.default_rng([s.seed, t]).permutation(P)
            test, train = perm[:e.n_test], perm[e.n_test:e.n_test + ns.max()]
            c = prefix_curves(K, Y, train, test, ns, e.delta)
            inv_trace[t], mse[t] = c["inv_trace"], c["test_mse"]
            bar.update(1)
            if metrics is not None:
                metrics.log(step=t + 1, trial=t, test_mse_at_max_n=float(mse[t, -1]), inv_trace_at_max_n=float(inv_trace[t, -1]))
    if metrics is not None:
        metrics.close()
    return {"n": ns, "inv_trace": inv_trace, "test_mse": mse}


def fit(s, curves: dict) -> dict:
    rng = np.random.default_rng([s.seed, 7])
    return exponents_from_curves(curves["n"], curves["inv_trace"], curves["test_mse"], tuple(s.exponents.fit),
                                 s.exponents.bootstrap, rng)


def predictions(alpha: float, beta: float) -> dict:
    """What spec §7.3 predicts from (α, β): the sign of β − α, whether zero ridge is optimal without
    noise, the noise threshold (β − α)/(α(α − 1)) below which it stays optimal, and the noiseless R*."""
    ok = admissible(alpha, beta)
    out = {"beta_minus_alpha": beta - alpha, "sign_beta_minus_alpha": int(np.sign(beta - alpha)), "admissible": ok}
    if not ok:
        out["note"] = "outside 1 < alpha, 1 < beta < 2 alpha + 1: the power-law closed forms do not apply"
        return out
    thr = noise_threshold(alpha, beta)
    out.update({"zero_ridge_optimal_noiseless": bool(beta >= alpha), "noise_threshold": thr,
                "noise_threshold_note": ("zero ridge is optimal for sigma2_rel <= threshold" if thr >= 0 else
                                         "beta < alpha: some ridge beats interpolation even without noise"),
                "optimal_fitting_ratio_noiseless": optimal_fitting_ratio(alpha, beta, 0.0)})
    return out


def run(s, run_dir: Path) -> dict:
    t0 = time.monotonic()
    # load the pool kernel (cached tiles or a file) and its spectrum
    K, Y, source = pool_kernel(s)
    t_kernel = time.monotonic() - t0
    lam, v2 = eigenstructure(torch.as_tensor(K), torch.as_tensor(Y))
    # the two proxy curves per trial, then the fits
    curves = measure(s, K, Y, run_dir)
    ex = fit(s, curves)
    direct = spectrum_fits(lam, v2, [tuple(w) for w in s.exponents.direct_windows])
    np.savez(run_dir / "exponents.npz", n=curves["n"], inv_trace=curves["inv_trace"], test_mse=curves["test_mse"],
             eigvals=lam, coeffs2=v2)
    summary = {"alpha": ex["alpha"], "alpha_ci95": ex["alpha_ci95"], "beta": ex["beta"], "beta_ci95": ex["beta_ci95"],
               "fit_window": ex["window"], "fit_points": ex["points"], "direct_spectrum_fits": direct,
               "prediction": predictions(ex["alpha"], ex["beta"]),
               "resolved": {"pool": source, "n": curves["n"].tolist(), "n_test": s.exponents.n_test,
                            "trials": s.exponents.trials, "delta": s.exponents.delta, "dataset": s.dataset.name},
               "seconds": {"kernel": round(t_kernel, 3), "total": round(time.monotonic() - t0, 3)}}
    if s.plot.at_end:
        from .exponent_plots import plot_exponents

        plot_exponents(run_dir, s, summary)
    return summary
