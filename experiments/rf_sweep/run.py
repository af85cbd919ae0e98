"""repro rf-sweep: measured train/test MSE of random-feature ridge regression over (n, k, δ), beside
the RF eigenframework's prediction. Load the task, build the theory, loop over (trial, n), log, save."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.device import DEVICES, resolve_dtype
from repro.experiments.common.errors import require, require_choice, require_nonnegative, require_positive, require_range
from repro.experiments.common.images import require_available
from repro.experiments.common.metrics import MetricsWriter
from repro.experiments.common.progress import Progress

from . import exponents_run, fitting_ratio, grid, plots, spectra, tiles
from .monotone import measured_monotone
from .powerlaw import admissible
from .ridge import ridge_errors
from .settings import Settings, resolve, settings
from .task import Task
from .theory import Spectrum, min_over_ridge

# Split sizes (train, test) and input dimension of the real data sets, for validation without loading images.
HUB_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000), "svhn": (73257, 26032)}
IMAGE_DIMS = {"mnist": 784, "fashion_mnist": 784, "cifar10": 3072, "svhn": 3072}
# Caps, so a typo (grid.n=[10,1e12,5]) is a one-line error and not an out-of-memory crash mid-run.
MAX_SIZE = 10**6              # largest n, k or n_test
MAX_COUNT = 1000              # points per grid axis, ridges
MAX_TRIALS = 10**5
MAX_ENTRIES = 2**31           # entries of the largest array of one draw: 16 GiB in float64
MAX_RESULTS = 2**27           # trials × points × ridges of the result arrays: 1 GiB each in float64
MAX_SPECTRUM_IMAGES = 30000   # the paper's N; CPU LAPACK's eigh overflows its workspace from ~32k (spec §2.2)
MAX_LOG10_RIDGE = 300         # 10^±300: still a finite float64


# ---------------------------------------------------------------- validation (before any work)

def validate(cfg) -> None:
    """Every check a config can fail, before anything is written: types (settings), the shared
    top-level keys, then the checks of `experiment` (VALIDATORS)."""
    s = settings(cfg)
    require(s.experiment in DRIVERS, f"experiment={s.experiment} is invalid: not available in this build; "
                                     f"valid: {' | '.join(DRIVERS)}")
    require(s.device.split(":")[0] in DEVICES, f"device={s.device!r} is invalid; valid choices: {', '.join(DEVICES)} (cuda:INDEX)")
    require_range(s.seed, "seed", 0, 2**32 - 1)
    VALIDATORS[s.experiment](s)


def validate_fig1(s: Settings) -> None:
    """experiment=fig1: ranges, caps on sizes, the grid against the task's modes and the data's split sizes."""
    require_range(s.trials, "trials", 1, MAX_TRIALS)
    require_range(s.n_test, "n_test", 1, MAX_SIZE)
    require_positive(s.features.weight_var, "features.weight_var")
    require_nonnegative(s.dataset.noise, "dataset.noise")
    _validate_grid(s)
    _validate_ridges(s)
    th = s.theory
    require_range(th.curve_points, "theory.curve_points", 1, MAX_SIZE)
    require_range(th.peak_points, "theory.peak_points", 0, MAX_SIZE)
    require(0 < th.table_step <= 0.1, f"theory.table_step={th.table_step} is invalid: the spectral-sum spline needs "
                                      f"a positive, fine spacing in ln γ; valid: 0 < theory.table_step <= 0.1")
    for i, v in enumerate(s.plot.ridge_indices):
        require_nonnegative(v, f"plot.ridge_indices[{i}]")
    for i, v in enumerate(s.plot.noise_levels):
        require_nonnegative(v, f"plot.noise_levels[{i}]")
    pts = grid.points(s.grid)
    max_n, max_mk = max(n for n, _ in pts), max(min(n, k) for n, k in pts)
    if s.dataset.name == "gaussian":
        _validate_gaussian(s, max_mk)
    else:
        _validate_images(s, max_n, max_mk)
    _validate_memory(s, pts, s.dataset.modes if s.dataset.name == "gaussian" else IMAGE_DIMS[s.dataset.name])


def _validate_grid(s: Settings) -> None:
    g = s.grid
    for key in ("n", "k"):
        lo_hi_num = getattr(g, key)
        require(len(lo_hi_num) == 3 and 1 <= lo_hi_num[0] <= lo_hi_num[1] <= MAX_SIZE and 1 <= lo_hi_num[2] <= MAX_COUNT,
                f"grid.{key}={list(lo_hi_num)} is invalid: it is [min, max, count] of an integer log grid; valid: "
                f"1 <= min <= max <= {MAX_SIZE} and 1 <= count <= {MAX_COUNT}")
    require_range(g.fixed_n, "grid.fixed_n", 1, MAX_SIZE)
    require_range(g.fixed_k, "grid.fixed_k", 1, MAX_SIZE)


def _validate_ridges(s: Settings) -> None:
    r = s.ridges
    if r.values is not None:
        require(len(r.values) > 0, "ridges.values=[] is invalid: no ridge to fit; valid: null (the log grid) or a list of numbers >= 0")
        for i, v in enumerate(r.values):
            require_nonnegative(v, f"ridges.values[{i}]")
        require(len(r.values) <= MAX_COUNT, f"ridges.values has {len(r.values)} ridges; valid: at most {MAX_COUNT}")
    require_range(r.log10_min, "ridges.log10_min", -MAX_LOG10_RIDGE, MAX_LOG10_RIDGE)
    require_range(r.log10_max, "ridges.log10_max", r.log10_min, MAX_LOG10_RIDGE)
    require_range(r.num, "ridges.num", 1, MAX_COUNT)


def _validate_gaussian(s: Settings, max_mk: int) -> None:
    ds = s.dataset
    require(ds.alpha is not None and ds.alpha > 1, f"dataset.alpha={ds.alpha} is invalid: power-law tasks need alpha > 1; valid: > 1")
    require(ds.beta is not None and admissible(ds.alpha, ds.beta),
            f"dataset.beta={ds.beta} is invalid: the power-law target needs 1 < beta < 2*alpha + 1; "
            f"valid: 1 < dataset.beta < {2 * ds.alpha + 1:g}")
    require_choice(ds.sampling, "dataset.sampling", ("fresh",))
    require(max_mk < ds.modes <= MAX_SIZE, f"dataset.modes={ds.modes} is invalid: the ridgeless theory needs min(n, k) < M "
                                           f"and the grid reaches min(n, k) = {max_mk}; valid: {max_mk} < dataset.modes <= {MAX_SIZE}")


def _validate_images(s: Settings, max_n: int, max_mk: int) -> None:
    ds, name = s.dataset, s.dataset.name
    for key in ("alpha", "beta"):
        require(getattr(ds, key) is None, f"dataset.{key}={getattr(ds, key)} is invalid: only dataset=gaussian has "
                                          f"power-law exponents; valid: null with dataset={name}")
    require_choice(ds.sampling, "dataset.sampling", ("pool", "split"))
    local = require_available(name, resolve_data_dir(None, s.data_dir))
    n_train, n_test = _split_sizes(local) if local is not None and local.suffix == ".npz" else HUB_SIZES[name]
    require(max_n <= n_train, f"grid.n={list(s.grid.n)} is invalid: n={max_n} is above the {n_train} training images of "
                              f"{name}; valid: n <= {n_train} (lower grid.n / grid.fixed_n)")
    cap = min(n_train, MAX_SPECTRUM_IMAGES)
    require(max_mk < ds.modes <= cap, f"dataset.modes={ds.modes} is invalid: the theory needs min(n, k) < M and the grid "
                                      f"reaches min(n, k) = {max_mk}; valid: {max_mk} < dataset.modes <= {cap} "
                                      f"({n_train} training images, eigendecompositions up to {MAX_SPECTRUM_IMAGES})")
    if ds.sampling == "split":
        require(s.n_test <= n_test, f"n_test={s.n_test} is invalid: it is above the {n_test} test images of {name}; "
                                    f"valid: n_test <= {n_test}")
    else:
        require(max_n + s.n_test <= ds.modes, f"n_test={s.n_test} is invalid: n + n_test = {max_n + s.n_test} is above "
                                              f"dataset.modes={ds.modes}, and with sampling=pool train and test points come "
                                              f"from that pool; valid: max n + n_test <= dataset.modes (or dataset.sampling=split)")


def _validate_memory(s: Settings, pts: list[tuple[int, int]], dim: int) -> None:
    """The largest array of one draw and the result arrays fit the caps. A draw at n holds the
    (n + n_test) × dim inputs, their (n + n_test) × k features (k the largest k paired with n) and
    the dim × k weights; dim is the input dimension (M for the Gaussian task)."""
    k_max: dict[int, int] = {}
    for n, k in pts:
        k_max[n] = max(k, k_max.get(n, 0))
    shapes = [(n + s.n_test, max(k, dim), n, k) for n, k in k_max.items()] + [(dim, k, n, k) for n, k in k_max.items()]
    rows, cols, n, k = max(shapes, key=lambda a: a[0] * a[1])
    require(rows * cols <= MAX_ENTRIES,
            f"grid.n={list(s.grid.n)} with grid.k={list(s.grid.k)} is invalid: the draw at n={n}, k={k} (n_test={s.n_test}) "
            f"holds a {rows} × {cols} array ({rows * cols * 8 / 2**30:.0f} GiB in float64); valid: at most "
            f"{MAX_ENTRIES} entries ({MAX_ENTRIES * 8 // 2**30} GiB) per array: lower grid.n, grid.k or n_test")
    ridges = len(grid.ridges(s.ridges))
    size = s.trials * len(pts) * ridges
    require(size <= MAX_RESULTS, f"trials={s.trials} is invalid: {len(pts)} (n, k) points × {ridges} ridges × "
                                 f"{s.trials} trials = {size} results; valid: at most {MAX_RESULTS}")


def _split_sizes(path: Path) -> tuple[int, int]:
    with np.load(path) as z:  # labels only: cheap
        return len(z["y_train"]), len(z["y_test"])


# ---------------------------------------------------------------- the run

def run(cfg, run_dir: Path) -> dict:
    """One run of `experiment` (DRIVERS): settings built once here and handed to the driver."""
    s = settings(cfg)
    return DRIVERS[s.experiment](s, Path(run_dir))


def run_fig1(s: Settings, run_dir: Path) -> dict:
    """experiment=fig1: RF train/test MSE over the (n, k, δ) grid beside the RF eigenframework (Fig. 1)."""
    r = resolve(s)
    pts, deltas = list(r.points), np.array(r.ridges)
    # load the task and its eigenstructure
    task = Task(s, r, torch.device(r.device), resolve_dtype(s.dtype))
    spec = task.spectrum()
    np.savez(run_dir / "spectrum.npz", eigvals=spec.eigvals, coeffs2=spec.coeffs2, noise=spec.noise)
    # all theory before the long loop: it fails fast
    n_pts, k_pts = (np.array([p[i] for p in pts])[:, None] for i in (0, 1))
    theory = task.theory(spec, n_pts, k_pts, deltas[None, :])
    curves = theory_curves(s, task, spec, deltas)
    np.savez(run_dir / "theory_curves.npz", **curves)
    # measure every (trial, n, k, δ), then save the table, the summary and the figures
    train, test = measure(s, task, pts, deltas, run_dir)
    table = results_table(pts, deltas, train, test, theory)
    table.to_csv(run_dir / "results.csv", index=False)
    summary = summarise(s, table, curves)
    summary["resolved"] = dict(r.to_json(), spectrum_modes=spec.modes)
    if s.plot.at_end:
        plots.plot_run(run_dir, s)
    return summary


def measure(s: Settings, task: Task, pts, deltas, run_dir: Path):
    """Train/test MSE arrays (trials, points, ridges): fresh data and features per (trial, n)."""
    by_n: dict[int, list[int]] = {}
    for i, (n, k) in enumerate(pts):
        by_n.setdefault(n, []).append(i)
    train = np.empty((s.trials, len(pts), len(deltas)))
    test = np.empty_like(train)
    ridges_t = torch.as_tensor(deltas, dtype=task.dtype, device=task.device)
    metrics = MetricsWriter(run_dir)
    t0 = time.monotonic()
    with Progress(s.trials * len(by_n), "rf-sweep", unit="draws") as bar:
        for trial in range(s.trials):
            for n, idx in by_n.items():
                gen = torch.Generator().manual_seed(s.seed * 1_000_003 + trial * 10_007 + n)
                psi, y = task.draw(n, s.n_test, max(pts[i][1] for i in idx), gen)
                perm = torch.randperm(psi.shape[1], generator=gen).to(task.device)  # nested prefixes: k columns each
                for i in idx:
                    k = pts[i][1]
                    f = psi[:, perm[:k]] / k**0.5
                    tr, te = ridge_errors(f[:n], y[:n], f[n:], y[n:], ridges_t)
                    train[trial, i], test[trial, i] = tr.cpu().numpy(), te.cpu().numpy()
                bar.update(1)
                metrics.log(step=bar.count, trial=trial, n=n, points=len(idx), elapsed=round(time.monotonic() - t0, 3),
                            test_mse_min=float(test[trial, idx].min()))
    metrics.close()
    return train, test


def _mean_se(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    se = a.std(axis=0, ddof=1) / np.sqrt(a.shape[0]) if a.shape[0] > 1 else np.full(a.shape[1:], np.nan)
    return a.mean(axis=0), se


def results_table(pts, deltas, train, test, theory) -> pd.DataFrame:
    """One row per (n, k, ridge): experiment mean ± SE and theory side by side."""
    te_m, te_se = _mean_se(test)
    tr_m, tr_se = _mean_se(train)
    n = np.repeat([p[0] for p in pts], len(deltas))
    k = np.repeat([p[1] for p in pts], len(deltas))
    return pd.DataFrame({
        "n": n, "k": k, "ridge": np.tile(deltas, len(pts)),
        "test_mse": te_m.ravel(), "test_mse_se": te_se.ravel(), "train_mse": tr_m.ravel(), "train_mse_se": tr_se.ravel(),
        "theory_test_mse": theory["test_mse"].ravel(), "theory_train_mse": theory["train_mse"].ravel(),
        "kappa": theory["kappa"].ravel(), "gamma": theory["gamma"].ravel(), "trials": test.shape[0],
    })


def theory_curves(s: Settings, task: Task, spec: Spectrum, deltas) -> dict[str, np.ndarray]:
    """Dense theory over k at fixed_n and over n at fixed_k (every ridge), plus the KRR limit."""
    g, th = s.grid, s.theory
    ks = grid.theory_axis(g.k[0], g.k[1], th.curve_points, th.peak_points)
    ns = grid.theory_axis(g.n[0], g.n[1], th.curve_points, th.peak_points)
    ks, ns = ks[np.minimum(ks, g.fixed_n) < spec.modes], ns[np.minimum(ns, g.fixed_k) < spec.modes]
    vs_k = task.theory(spec, float(g.fixed_n), ks[:, None], deltas[None, :])
    vs_n = task.theory(spec, ns[:, None], float(g.fixed_k), deltas[None, :])
    krr_ns = ns[ns < spec.modes]  # KRR needs n < M
    krr = task.theory(spec, krr_ns[:, None], np.inf, deltas[None, :])
    return {"krr_n": krr_ns, "ridges": deltas, "k": ks, "n": ns, "fixed_n": g.fixed_n, "fixed_k": g.fixed_k,
            "vs_k_test": vs_k["test_mse"], "vs_k_train": vs_k["train_mse"],
            "vs_n_test": vs_n["test_mse"], "vs_n_train": vs_n["train_mse"],
            "krr_vs_n_test": krr["test_mse"], "krr_vs_n_train": krr["train_mse"]}


def deviations(table: pd.DataFrame) -> np.ndarray:
    """|experiment − theory| in standard errors, per row (nan where theory diverges)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.abs(table.test_mse - table.theory_test_mse) / table.test_mse_se
    return np.where(np.isfinite(table.theory_test_mse), dev, np.nan)


def summarise(s: Settings, table: pd.DataFrame, curves) -> dict:
    dev = deviations(table)
    worst = int(np.nanargmax(dev))
    rel = np.abs(table.test_mse / table.theory_test_mse - 1)
    opt_k, _ = min_over_ridge(curves["vs_k_test"])
    opt_n, _ = min_over_ridge(curves["vs_n_test"])
    exp = table.pivot_table(index=["n", "k"], columns="ridge", values="test_mse")
    return {
        "max_deviation_se": float(dev[worst]),
        "max_deviation_at": {c: float(table[c].iloc[worst]) for c in ("n", "k", "ridge")},
        "median_deviation_se": float(np.nanmedian(dev)),
        "median_relative_error": float(np.nanmedian(rel[np.isfinite(rel)])),
        "points": int(len(table)), "trials": s.trials,
        "optimal_ridge_theory_vs_k": {"k": curves["k"], "test_mse": opt_k, "n": s.grid.fixed_n},
        "optimal_ridge_theory_vs_n": {"n": curves["n"], "test_mse": opt_n, "k": s.grid.fixed_k},
        "optimal_ridge_experiment": {"n": [int(i[0]) for i in exp.index], "k": [int(i[1]) for i in exp.index],
                                     "test_mse": exp.min(axis=1).to_numpy()},
        "theory_min_over_ridge_monotone": bool(np.all(np.diff(opt_k) <= 1e-12 * opt_k[:-1])
                                               and np.all(np.diff(opt_n) <= 1e-12 * opt_n[:-1])),
        # Theorem 1 on the measurements: each optimal-ridge curve non-increasing within its SEs (monotone.py)
        "measured_min_over_ridge_monotone": measured_monotone(table),
    }


# What one run does, by `experiment` (config.yaml): a check of its settings and a driver (Settings, run_dir) -> summary.
VALIDATORS = {"fig1": validate_fig1, "exponents": exponents_run.validate, "spectra": spectra.validate,
              "kernel_tiles": tiles.validate, "fitting_ratio": fitting_ratio.validate}
DRIVERS = {"fig1": run_fig1, "exponents": exponents_run.run, "spectra": spectra.run, "kernel_tiles": tiles.run,
           "fitting_ratio": fitting_ratio.run}
