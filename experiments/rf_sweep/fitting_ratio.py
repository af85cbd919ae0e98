"""experiment=fitting_ratio (Fig. 2): KRR test MSE against the fitting ratio R = E_tr/E_te on real
data, beside the §7.2 closed form and the §7.3 optimum R*. Load the pool kernel, loop over trials,
measure every (noise level, n, ridge), summarise, draw.

- Pool: the first P = N + N_test training images and the kernel= group's kernel over them
  (kernel_pool: cached tiles or a file; kernel.images=null means exactly P).
- Trial t: a random permutation of the P points (seeded by (seed, t)) into N training and N_test test
  points; one eigendecomposition of K_tr gives every ridge (kernel_ridge.KernelRidge).
- Ridges: the authors' 50-ridge grid from the top eigenvalue of trial 0's K_tr (spec §5.2), plus δ = 0.
- Labels: one-hot; base_mse = that trial's ridgeless noiseless test MSE (the spec's "ridgeless
  noiseless test MSE at the same N", measured per trial, since each split is its own task draw); for
  each σ²_rel, one-hot + N(0, σ²_rel·base_mse/10) per output, rows renormalised (kernel_ridge.noisy_labels).
  Train and test labels are both noisy: E_te includes the noise (spec §1.4).
- n sweep (fitting_ratio.n_sweep): the same noisy labels and test points, training on the first n of
  the trial's N training points: a fixed task with more data, where Theorem 1 says the optimal-ridge
  test MSE is non-increasing in n (checked within SEs, monotone.py).
- (α, β) of the lines, resolved in `exponents_used`: fitting_ratio.alpha/beta if set, else the
  summary.json of an exponents run (fitting_ratio.exponents_from), else the spec §9 table of the
  depth-10 Myrtle CNTK (fitting_ratio.table; only right for that kernel: pass your own otherwise).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.experiments.common.device import resolve_device
from repro.experiments.common.errors import require, require_nonnegative, require_range
from repro.experiments.common.metrics import MetricsWriter
from repro.experiments.common.progress import Progress

from .kernel_pool import pool_kernel, validate_pool
from .kernel_ridge import KernelRidge, noisy_labels, ridge_grid
from .monotone import nonincreasing_within_se
from .powerlaw import admissible, noise_threshold, optimal_fitting_ratio, zero_ridge_optimal

MAX_TRIALS = 1000
MAX_POOL = 60_000          # a P × P float64 kernel of 60k images is 29 GiB
ZERO_RIDGE_SE = 2.0        # measured: zero ridge is optimal when E_te(δ=0) <= min E_te + 2 SE(δ=0)


# ---------------------------------------------------------------- validation

def validate(s) -> None:
    f = s.fitting_ratio
    require_range(f.n, "fitting_ratio.n", 2, MAX_POOL)
    require_range(f.n_test, "fitting_ratio.n_test", 1, MAX_POOL)
    require_range(f.trials, "fitting_ratio.trials", 1, MAX_TRIALS)
    require_range(f.ridges, "fitting_ratio.ridges", 1, 1000)
    require(len(f.noise_levels) > 0, "fitting_ratio.noise_levels=[] is invalid: no curve to draw; valid: σ²_rel values >= 0")
    for i, v in enumerate(f.noise_levels):
        require_nonnegative(v, f"fitting_ratio.noise_levels[{i}]")
    for i, n in enumerate(f.n_sweep):
        require(1 <= n < f.n, f"fitting_ratio.n_sweep[{i}]={n} is invalid: the n sweep trains on the first n of each "
                              f"trial's N training points; valid: 1 <= n < fitting_ratio.n={f.n}")
    require(f.n + f.n_test <= MAX_POOL, f"fitting_ratio.n={f.n} is invalid: N + n_test = {f.n + f.n_test} pool images; "
                                        f"valid: N + n_test <= {MAX_POOL}")
    exponents_used(s)  # the lines' (α, β) resolve and are admissible
    validate_pool(with_pool(s), f.n + f.n_test)


def with_pool(s):
    """kernel.images=null means the pool this experiment needs: exactly N + n_test images."""
    if s.kernel.name == "file" or s.kernel.images is not None:
        return s
    return dataclasses.replace(s, kernel=dataclasses.replace(s.kernel, images=s.fitting_ratio.n + s.fitting_ratio.n_test))


def exponents_used(s) -> dict:
    """(α, β) of the closed-form lines and where they come from (see the module docstring)."""
    f = s.fitting_ratio
    require((f.alpha is None) == (f.beta is None), f"fitting_ratio.alpha={f.alpha} is invalid with fitting_ratio.beta="
                                                   f"{f.beta}: give both or neither; valid: two numbers, or null and null")
    if f.alpha is not None:
        a, b, source = f.alpha, f.beta, "fitting_ratio.alpha/beta"
    elif f.exponents_from is not None:
        path = Path(f.exponents_from).expanduser()
        path = path / "summary.json" if path.is_dir() else path
        require(path.is_file(), f"fitting_ratio.exponents_from={f.exponents_from!r} is invalid: no summary.json there; "
                                f"valid: the directory of a finished experiment=exponents run (or its summary.json)")
        summary = json.loads(path.read_text())
        require(all(isinstance(summary.get(k), (int, float)) for k in ("alpha", "beta")),
                f"fitting_ratio.exponents_from={f.exponents_from!r} is invalid: its summary has no alpha and beta; "
                f"valid: an experiment=exponents run")
        a, b, source = summary["alpha"], summary["beta"], str(path)
    else:
        name = s.dataset.name
        require(name in f.table, f"fitting_ratio.table has no {name}: dataset={name} is invalid without exponents; valid: "
                                 f"dataset in {sorted(f.table)}, or fitting_ratio.alpha/beta, or fitting_ratio.exponents_from")
        a, b = (float(v) for v in f.table[name])
        source = f"fitting_ratio.table.{name} (spec §9: depth-10 Myrtle CNTK)"
    require(admissible(a, b), f"fitting_ratio (alpha, beta)=({a:g}, {b:g}) from {source} is invalid: the closed form "
                              f"needs alpha > 1 and 1 < beta < 2*alpha + 1; valid: admissible exponents")
    return {"alpha": float(a), "beta": float(b), "source": source}


# ---------------------------------------------------------------- the run

def run(s, run_dir: Path) -> dict:
    f = s.fitting_ratio
    t0 = time.monotonic()
    # load the pool kernel: exactly N + n_test images unless kernel.images says more
    K, Y, source = pool_kernel(with_pool(s))
    t_kernel = time.monotonic() - t0
    ex = exponents_used(s)
    # measure every (trial, noise level, n, ridge)
    res = measure(s, K, Y, run_dir)
    np.savez(run_dir / "fitting_ratio.npz", **res)
    table = results_table(res)
    table.to_csv(run_dir / "results.csv", index=False)
    summary = summarise(s, table, res, ex)
    summary["resolved"] = {"pool": source, "n": f.n, "n_test": f.n_test, "trials": f.trials, "ns": res["ns"].tolist(),
                           "ridges": res["ridges"].tolist(), "device": str(resolve_device(s.device))}
    summary["seconds"] = {"kernel": round(t_kernel, 3), "total": round(time.monotonic() - t0, 3)}
    if s.plot.at_end:
        from .plots_fitting import plot_fitting_run

        plot_fitting_run(run_dir)
    return summary


def measure(s, K: np.ndarray, Y: np.ndarray, run_dir: Path) -> dict[str, np.ndarray]:
    """train/test MSE arrays (trials, noise levels, sizes, ridges) and each trial's base_mse."""
    f, device = s.fitting_ratio, resolve_device(s.device)
    levels, ns = np.asarray(f.noise_levels, dtype=np.float64), np.array(sorted(set(f.n_sweep) | {f.n}))
    Kt, Yt = torch.as_tensor(K, dtype=torch.float64, device=device), torch.as_tensor(Y, dtype=torch.float64, device=device)
    train = np.empty((f.trials, len(levels), len(ns), f.ridges + int(f.ridgeless)))
    test, base, ridges_t = np.empty_like(train), np.empty(f.trials), None
    metrics = MetricsWriter(run_dir)
    with Progress(f.trials, "fitting-ratio", unit="trials") as bar:
        for t in range(f.trials):
            perm = torch.as_tensor(np.random.default_rng([s.seed, t]).permutation(len(K))[:f.n + f.n_test], device=device)
            tr, te = perm[:f.n], perm[f.n:]
            full = KernelRidge(Kt[tr][:, tr], Kt[te][:, tr])
            if ridges_t is None:  # one grid for every trial, from trial 0's kernel
                grid = ridge_grid(full.top_eigenvalue, f.n, f.ridges, f.ridgeless)
                ridges_t = torch.as_tensor(grid, dtype=torch.float64, device=device)
            base[t] = full.errors(Yt[tr], Yt[te], torch.zeros(1, dtype=torch.float64, device=device))[1][0]
            gen = torch.Generator().manual_seed(s.seed * 1_000_003 + t)
            labels = [noisy_labels(Yt[perm], rel * base[t] / Y.shape[1], gen) if rel > 0 else Yt[perm] for rel in levels]
            for i, n in enumerate(ns):
                krr = full if n == f.n else KernelRidge(Kt[tr[:n]][:, tr[:n]], Kt[te][:, tr[:n]])
                for j, y in enumerate(labels):
                    train[t, j, i], test[t, j, i] = krr.errors(y[:n], y[f.n:], ridges_t)
            bar.update(1)
            metrics.log(step=t + 1, trial=t, base_mse=float(base[t]), test_mse_min=[float(v) for v in test[t, :, -1].min(-1)])
    metrics.close()
    return {"train": train, "test": test, "base_mse": base, "noise_levels": levels, "ns": ns,
            "ridges": ridges_t.cpu().numpy()}


def _mean_se(a: np.ndarray, axis: int = 0):
    se = a.std(axis=axis, ddof=1) / np.sqrt(a.shape[axis]) if a.shape[axis] > 1 else np.full(np.delete(a.shape, axis), np.nan)
    return a.mean(axis=axis), se


def results_table(res: dict) -> pd.DataFrame:
    """One row per (noise level, n, ridge): trial means ± SE of E_te, E_tr and R = mean E_tr / mean E_te."""
    te, te_se = _mean_se(res["test"])
    tr, tr_se = _mean_se(res["train"])
    _, r_se = _mean_se(res["train"] / res["test"])
    L, S, R = te.shape
    idx = np.indices((L, S, R)).reshape(3, -1)
    return pd.DataFrame({"noise_rel": res["noise_levels"][idx[0]], "n": res["ns"][idx[1]], "ridge": res["ridges"][idx[2]],
                         "test_mse": te.ravel(), "test_mse_se": te_se.ravel(), "train_mse": tr.ravel(),
                         "train_mse_se": tr_se.ravel(), "fitting_ratio": (tr / te).ravel(), "fitting_ratio_se": r_se.ravel(),
                         "trials": res["test"].shape[0]})


def summarise(s, table: pd.DataFrame, res: dict, ex: dict) -> dict:
    """Prediction beside measurement, per noise level: R*, whether zero ridge is optimal; and the
    optimal-ridge test MSE against n (non-increasing within SEs)."""
    a, b, N = ex["alpha"], ex["beta"], s.fitting_ratio.n
    levels = []
    for rel, rows in table[table.n == N].groupby("noise_rel", sort=True):
        rows = rows.sort_values("ridge").reset_index(drop=True)
        best, low = rows.loc[rows.test_mse.idxmin()], rows.iloc[0]
        measured_zero = bool(low.test_mse <= best.test_mse + ZERO_RIDGE_SE * np.nan_to_num(low.test_mse_se))
        levels.append({"noise_rel": float(rel),
                       "predicted_R_star": optimal_fitting_ratio(a, b, rel), "measured_R_star": float(best.fitting_ratio),
                       "measured_R_star_se": float(best.fitting_ratio_se), "measured_optimal_ridge": float(best.ridge),
                       "measured_min_test_mse": float(best.test_mse), "measured_min_test_mse_se": float(best.test_mse_se),
                       "predicted_zero_ridge_optimal": zero_ridge_optimal(a, b, rel),
                       "measured_zero_ridge_optimal": measured_zero, "lowest_ridge": float(low.ridge),
                       "test_mse_at_lowest_ridge": float(low.test_mse)})
    vs_n = []
    for rel, rows in table.groupby("noise_rel", sort=True):
        best = rows.loc[rows.groupby("n").test_mse.idxmin()].sort_values("n")
        check = nonincreasing_within_se(best.test_mse.to_numpy(), best.test_mse_se.to_numpy())
        vs_n.append({"noise_rel": float(rel), "n": best.n.astype(int).tolist(), "test_mse": best.test_mse.tolist(),
                     "test_mse_se": best.test_mse_se.tolist(), **check})
    thr = noise_threshold(a, b)
    return {"exponents": ex, "beta_minus_alpha": b - a, "sign_beta_minus_alpha": int(np.sign(b - a)),
            "noise_threshold": thr, "prediction_note": ("zero ridge optimal iff sigma2_rel <= noise_threshold" if thr >= 0
                                                        else "beta < alpha: a positive ridge beats interpolation at every noise level"),
            "base_mse": float(res["base_mse"].mean()), "base_mse_trials": res["base_mse"].tolist(),
            "noise_levels": levels,
            "zero_ridge_agreement": sum(v["predicted_zero_ridge_optimal"] == v["measured_zero_ridge_optimal"] for v in levels),
            "optimal_test_mse_vs_n": vs_n,
            "optimal_test_mse_nonincreasing_in_n": all(v["ok"] for v in vs_n) if len(res["ns"]) > 1 else None}
