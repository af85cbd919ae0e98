"""repro rf-sweep: measured train/test MSE of random-feature ridge regression over (n, k, δ), beside
the RF eigenframework's prediction. Load the task, build the theory, loop over (trial, n), log, save."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.device import resolve_device, resolve_dtype
from repro.experiments.common.errors import require
from repro.experiments.common.images import DATASETS as IMAGE_DATASETS
from repro.experiments.common.images import require_available
from repro.experiments.common.metrics import MetricsWriter
from repro.experiments.common.progress import Progress

from . import data, eigenstructure, grid, plots
from .features import FEATURES, draw_weights, features
from .powerlaw import admissible
from .ridge import ridge_errors
from .theory import Spectrum, held_out, min_over_ridge, rf_theory

DATASETS = ("gaussian",) + IMAGE_DATASETS
# Split sizes of the real data sets (train pool, test split), for validation without loading images.
HUB_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000)}


# ---------------------------------------------------------------- validation (before any work)

def validate(cfg) -> None:
    ds = cfg.dataset
    require(cfg.dtype in ("float64", "float32"), f"dtype={cfg.dtype!r} is invalid; valid choices: float64, float32")
    require(ds.name in DATASETS, f"dataset={ds.name!r} is invalid; valid choices: {', '.join(DATASETS)}")
    require(cfg.features.name in FEATURES, f"features={cfg.features.name!r} is invalid; valid choices: {', '.join(FEATURES)}")
    require(int(cfg.trials) >= 1, f"trials={cfg.trials} is invalid: it must be a positive integer")
    require(int(cfg.n_test) >= 1, f"n_test={cfg.n_test} is invalid: it must be a positive integer")
    require(cfg.grid.layout in ("cross", "product"), f"grid.layout={cfg.grid.layout!r} is invalid; valid choices: cross, product")
    for key in ("n", "k"):
        lo, hi, num = cfg.grid[key]
        require(lo >= 1 and hi >= lo and num >= 1, f"grid.{key}={list(cfg.grid[key])} is invalid: need [min >= 1, max >= min, count >= 1]")
    for key in ("fixed_n", "fixed_k"):
        require(cfg.grid[key] >= 1, f"grid.{key}={cfg.grid[key]} is invalid: it must be a positive integer")
    require(cfg.ridges.log10_min <= cfg.ridges.log10_max and cfg.ridges.num >= 1,
            f"ridges=({cfg.ridges.log10_min}, {cfg.ridges.log10_max}, {cfg.ridges.num}) is invalid: need log10_min <= log10_max, num >= 1")
    if cfg.ridges.get("values") is not None:
        bad = [v for v in cfg.ridges["values"] if not (isinstance(v, (int, float)) and v >= 0)]
        require(not bad and len(cfg.ridges["values"]) > 0,
                f"ridges.values={list(cfg.ridges['values'])} is invalid: every ridge must be a number >= 0 (bad: {bad})")
    require(float(cfg.features.weight_var) > 0, f"features.weight_var={cfg.features.weight_var} must be positive")
    require(float(ds.get("noise", 0.0)) >= 0, f"dataset.noise={ds.noise} is invalid: a variance must be >= 0")
    pts = grid.points(cfg.grid)
    max_n, max_mk = max(n for n, _ in pts), max(min(n, k) for n, k in pts)
    if ds.name == "gaussian":
        _validate_gaussian(ds, max_mk)
    else:
        _validate_images(cfg, max_n)


def _validate_gaussian(ds, max_mk: int) -> None:
    require(ds.alpha > 1, f"dataset.alpha={ds.alpha} is invalid: power-law tasks need alpha > 1")
    require(admissible(ds.alpha, ds.beta),
            f"dataset.beta={ds.beta} is invalid: need 1 < beta < 2*alpha + 1 = {2 * ds.alpha + 1:g}")
    require(max_mk < ds.modes, f"min(n, k) = {max_mk} must be below dataset.modes = {ds.modes} (the ridgeless theory needs min(n, k) < M)")


def _validate_images(cfg, max_n: int) -> None:
    name = cfg.dataset.name
    data_dir = resolve_data_dir(None, cfg.data_dir)
    local = require_available(name, data_dir)
    n_train, n_test = _split_sizes(local) if local is not None and local.suffix == ".npz" else HUB_SIZES[name]
    require(max_n <= n_train, f"n={max_n} is above the {n_train} training images of {name}; lower grid.n / grid.fixed_n")
    if cfg.dataset.sampling == "split":
        require(cfg.n_test <= n_test, f"n_test={cfg.n_test} is above the {n_test} test images of {name}")
    require(cfg.dataset.spectrum_points <= n_train,
            f"dataset.spectrum_points={cfg.dataset.spectrum_points} is above the {n_train} training images of {name}")
    require(cfg.dataset.sampling in ("pool", "split"),
            f"dataset.sampling={cfg.dataset.sampling!r} is invalid; valid choices: pool, split")
    require(max_n < cfg.dataset.spectrum_points,
            f"n={max_n} must be below dataset.spectrum_points={cfg.dataset.spectrum_points} (theory needs min(n, k) < modes)")
    if cfg.dataset.sampling == "pool":
        require(max_n + cfg.n_test <= cfg.dataset.spectrum_points,
                f"n + n_test = {max_n + cfg.n_test} is above dataset.spectrum_points={cfg.dataset.spectrum_points}: "
                f"with sampling=pool train and test points come from that pool")


def _split_sizes(path: Path) -> tuple[int, int]:
    with np.load(path) as z:  # labels only: cheap
        return len(z["y_train"]), len(z["y_test"])


# ---------------------------------------------------------------- the run

def run(cfg, run_dir: Path) -> dict:
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype)
    pts, deltas = grid.points(cfg.grid), grid.ridges(cfg.ridges)
    task = Task(cfg, device, dtype)
    spec = task.spectrum()
    n_pts = np.array([p[0] for p in pts])[:, None]
    theory = task.theory(spec, n_pts, np.array([p[1] for p in pts])[:, None], deltas[None, :])
    curves = theory_curves(cfg, task, spec, deltas)  # all theory before the long loop: it fails fast
    np.savez(run_dir / "theory_curves.npz", **curves)
    np.savez(run_dir / "spectrum.npz", eigvals=spec.eigvals, coeffs2=spec.coeffs2, noise=spec.noise)
    train, test = measure(cfg, task, pts, deltas, run_dir)
    table = results_table(pts, deltas, train, test, theory)
    table.to_csv(run_dir / "results.csv", index=False)
    summary = summarise(cfg, table, curves)
    if cfg.plot.at_end:
        plots.plot_run(run_dir)
    return summary


class Task:
    """Draws (train, test) features per (trial, n) and supplies the theory's eigenstructure."""

    def __init__(self, cfg, device, dtype):
        self.cfg, self.device, self.dtype = cfg, device, dtype
        self.ds, self.feat = cfg.dataset, cfg.features
        self.pool, self.population = None, None
        if self.ds.name != "gaussian":
            self.pool = data.load_pool(self.ds.name, resolve_data_dir(None, cfg.data_dir), dtype)
            if self.ds.sampling == "pool":  # train and test points both come from the spectrum's N points
                gen = torch.Generator().manual_seed(int(cfg.seed) + 7919)
                self.pool = data.restrict_to_pool(self.pool, int(self.ds.spectrum_points), gen)
                self.population = int(self.ds.spectrum_points)

    def theory(self, spec: Spectrum, n, k, ridge) -> dict:
        """The eigenframework's prediction; held-out corrected when sampling from a finite pool."""
        res = rf_theory(spec, n, k, ridge, h=self.cfg.theory.table_step)
        return held_out(res, np.broadcast_to(n, res["test_mse"].shape), self.population) if self.population else res

    @property
    def exact(self) -> bool:
        return self.ds.name == "gaussian" and self.feat.name == "gaussian"

    def spectrum(self) -> Spectrum:
        if self.exact:
            lam, v2 = data.powerlaw_modes(self.ds.modes, self.ds.alpha, self.ds.beta)
            return Spectrum(lam * self.feat.weight_var, v2, float(self.ds.noise))
        if self.population:
            x, y = self.pool.x_train, self.pool.y_train
        else:
            gen = torch.Generator().manual_seed(int(self.cfg.seed) + 7919)
            x, y = self.sample(int(self.ds.get("spectrum_points", 10000)), 0, gen)
        lam, v2 = eigenstructure.cached_estimate(self.ds.name, x, y, self.feat.name, float(self.feat.weight_var),
                                                 int(self.cfg.seed), self.device)
        return Spectrum(lam, v2, float(self.ds.get("noise", 0.0)))

    def sample(self, n: int, n_test: int, gen: torch.Generator):
        """n training points (and n_test test points appended) as inputs x and targets y."""
        if self.pool is None:
            return data.sample_gaussian(self.ds.modes, self.ds.alpha, self.ds.beta, float(self.ds.noise),
                                        n + n_test, gen, self.device, self.dtype)
        if self.population:  # disjoint train and test points from the one pool
            perm = torch.randperm(self.population, generator=gen)[:n + n_test]
            x, y = self.pool.x_train[perm], self.pool.y_train[perm]
        else:
            tr = torch.randperm(len(self.pool.x_train), generator=gen)[:n]
            te = torch.randperm(len(self.pool.x_test), generator=gen)[:n_test]
            x = torch.cat([self.pool.x_train[tr], self.pool.x_test[te]])
            y = torch.cat([self.pool.y_train[tr], self.pool.y_test[te]])
        x, y = x.to(self.device, self.dtype), y.to(self.device, self.dtype)
        return x, y

    def draw(self, n: int, n_test: int, k_max: int, gen: torch.Generator, chunk: int = 2048):
        """Raw features Ψ (n + n_test, k_max) of fresh points and one fresh weight draw, with targets."""
        d = self.ds.modes if self.pool is None else self.pool.x_train.shape[1]
        w = draw_weights(d, k_max, float(self.feat.weight_var), gen, self.device, self.dtype)
        if self.exact:  # Gaussian features of Gaussian data: sample (ψ, y) jointly
            return data.sample_gaussian_features(self.ds.modes, self.ds.alpha, self.ds.beta, float(self.ds.noise),
                                                 n + n_test, w, gen)
        x, y = self.sample(n, n_test, gen)
        psi = torch.cat([features(x[i:i + chunk], w, self.feat.name) for i in range(0, len(x), chunk)])
        return psi, y


def measure(cfg, task: Task, pts, deltas, run_dir: Path):
    """Train/test MSE arrays (trials, points, ridges): fresh data and features per (trial, n)."""
    by_n: dict[int, list[int]] = {}
    for i, (n, k) in enumerate(pts):
        by_n.setdefault(n, []).append(i)
    trials, n_test = int(cfg.trials), int(cfg.n_test)
    train = np.empty((trials, len(pts), len(deltas)))
    test = np.empty_like(train)
    ridges_t = torch.as_tensor(deltas, dtype=task.dtype, device=task.device)
    metrics = MetricsWriter(run_dir)
    t0 = time.monotonic()
    with Progress(trials * len(by_n), "rf-sweep", unit="draws") as bar:
        for trial in range(trials):
            for n, idx in by_n.items():
                gen = torch.Generator().manual_seed(int(cfg.seed) * 1_000_003 + trial * 10_007 + n)
                psi, y = task.draw(n, n_test, max(pts[i][1] for i in idx), gen)
                k_max = psi.shape[1]
                perm = torch.randperm(k_max, generator=gen).to(task.device)  # nested prefixes: k columns each
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


def theory_curves(cfg, task: Task, spec: Spectrum, deltas) -> dict[str, np.ndarray]:
    """Dense theory over k at fixed_n and over n at fixed_k (every ridge), plus the KRR limit."""
    g, th = cfg.grid, cfg.theory
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


def summarise(cfg, table: pd.DataFrame, curves) -> dict:
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
        "points": int(len(table)), "trials": int(cfg.trials),
        "optimal_ridge_theory_vs_k": {"k": curves["k"], "test_mse": opt_k, "n": int(cfg.grid.fixed_n)},
        "optimal_ridge_theory_vs_n": {"n": curves["n"], "test_mse": opt_n, "k": int(cfg.grid.fixed_k)},
        "optimal_ridge_experiment": {"n": [int(i[0]) for i in exp.index], "k": [int(i[1]) for i in exp.index],
                                     "test_mse": exp.min(axis=1).to_numpy()},
        "theory_min_over_ridge_monotone": bool(np.all(np.diff(opt_k) <= 1e-12 * opt_k[:-1])
                                               and np.all(np.diff(opt_n) <= 1e-12 * opt_n[:-1])),
    }
