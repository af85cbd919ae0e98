"""rf-sweep figures: Fig. 1 layout, n × k heatmaps, test MSE vs fitting ratio (Fig. 2 layout), MSE vs ridge."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from repro.experiments.common.plotting import loglog, save, subplots

from .powerlaw import admissible, optimal_fitting_ratio, risk_vs_fitting_ratio
from .settings import Settings, settings
from .theory import Spectrum, min_over_ridge, rf_theory


def plot_run(run_dir, s: Settings | None = None) -> list[Path]:
    """Every figure of one run from its saved files (`repro plot DIR` passes no settings: they are
    rebuilt from the run's config.yaml)."""
    run_dir = Path(run_dir)
    s = s if s is not None else settings(OmegaConf.load(run_dir / "config.yaml"))
    if s.experiment in ("exponents", "spectra"):
        from .exponent_plots import plot_exponents, plot_spectra

        return [(plot_exponents if s.experiment == "exponents" else plot_spectra)(run_dir, s)]
    if s.experiment == "kernel_tiles":
        return []  # tiles go to the cache; no figure
    if s.experiment == "fitting_ratio":
        from .plots_fitting import plot_fitting_run

        return plot_fitting_run(run_dir)
    table = pd.read_csv(run_dir / "results.csv")
    curves = dict(np.load(run_dir / "theory_curves.npz"))
    z = np.load(run_dir / "spectrum.npz")
    spec = Spectrum(z["eigvals"], z["coeffs2"], float(z["noise"]))
    paths = [fig1(run_dir, s, table, curves), heatmaps(run_dir, s, table, spec), vs_ridge(run_dir, table)]
    if s.dataset.name == "gaussian":
        paths.append(fitting_ratio(run_dir, s, spec))
    return paths


def _colours(count: int):
    import matplotlib.pyplot as plt

    return plt.cm.viridis(np.linspace(0.0, 0.9, count))


def fig1(run_dir, s, table, curves) -> Path:
    """Test (solid) and train (dotted) theory, experiment dots ± SE, optimal ridge dashed: vs k and vs n."""
    fig, axes = subplots(1, 2, size=(4.6, 3.6))
    ridges = curves["ridges"]
    chosen = [i + (1 if ridges[0] == 0 else 0) for i in s.plot.ridge_indices]
    chosen = [i for i in chosen if i < len(ridges)]
    panels = [("k", "n", int(curves["fixed_n"]), "vs_k"), ("n", "k", int(curves["fixed_k"]), "vs_n")]
    for ax, (x, other, fixed, key) in zip(axes[0], panels):
        rows = table[table[other] == fixed]
        for colour, i in zip(_colours(len(chosen)), chosen):
            d = ridges[i]
            ax.plot(curves[x], curves[f"{key}_test"][:, i], "-", color=colour, lw=1.3, label=f"δ={d:.3g}")
            ax.plot(curves[x], curves[f"{key}_train"][:, i], ":", color=colour, lw=1.3)
            pts = rows[np.isclose(rows.ridge, d)]
            ax.errorbar(pts[x], pts.test_mse, yerr=pts.test_mse_se, fmt="o", ms=3, color=colour, capsize=1.5)
            ax.errorbar(pts[x], pts.train_mse, yerr=pts.train_mse_se, fmt="o", ms=2.5, mfc="none", color=colour, alpha=0.7)
        best, _ = min_over_ridge(curves[f"{key}_test"])
        ax.plot(curves[x], best, "--", color="k", lw=1.2, label="optimal δ (theory)")
        loglog(ax)
        ax.set(xlabel=x, ylabel="MSE", title=f"{s.dataset.name}, {s.features.name} RF, {other}={fixed}")
        ax.set_ylim(max(np.nanmin(curves[f'{key}_train'][:, chosen][curves[f'{key}_train'][:, chosen] > 0], initial=1e-3) * 0.5, 1e-3), None)
    axes[0][0].legend(fontsize=7)
    return save(fig, run_dir, "fig1_mse_vs_k_and_n")


def heatmaps(run_dir, s, table, spec: Spectrum) -> Path:
    """n × k test MSE: theory on a 31 × 31 grid at four ridges; experiment too for a product grid."""
    ridges = [2.0**-9, 2.0**-5, 2.0**-1, 2.0**3]
    lo, hi = min(s.grid.n[0], s.grid.k[0]), max(s.grid.n[1], s.grid.k[1])
    ax_vals = np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), 31)))
    ax_vals = ax_vals[ax_vals < spec.modes]
    exp_rows = s.grid.layout == "product"
    fig, axes = subplots(2 if exp_rows else 1, len(ridges), size=(3.0, 2.7))
    fig.set_layout_engine("constrained")  # tight_layout cannot place a shared colorbar
    th = rf_theory(spec, ax_vals[:, None, None], ax_vals[None, :, None], np.array(ridges)[None, None, :])["test_mse"]
    import matplotlib.colors as mcolors

    norm = mcolors.LogNorm(vmin=max(np.nanmin(th[np.isfinite(th)]), 1e-3), vmax=np.nanmax(th[np.isfinite(th)]))
    for j, d in enumerate(ridges):
        ax = axes[0][j]
        im = ax.pcolormesh(ax_vals, ax_vals, th[:, :, j], norm=norm, shading="nearest")
        loglog(ax)
        ax.set(xlabel="k", ylabel="n", title=f"theory, δ=2^{int(np.log2(d))}")
        if exp_rows:
            piv = _nearest_ridge_pivot(table, d)
            axes[1][j].pcolormesh(piv.columns, piv.index, piv.to_numpy(), norm=norm, shading="nearest")
            loglog(axes[1][j])
            axes[1][j].set(xlabel="k", ylabel="n",
                           title=f"experiment, δ≈{piv.attrs['ridge']:.3g}")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="test MSE")
    return save(fig, run_dir, "heatmap_test_mse", tight=False)


def _nearest_ridge_pivot(table, d):
    ridges = np.unique(table.ridge[table.ridge > 0])
    r = ridges[np.argmin(np.abs(np.log(ridges) - np.log(d)))]
    piv = table[np.isclose(table.ridge, r)].pivot_table(index="n", columns="k", values="test_mse")
    piv.attrs["ridge"] = r
    return piv


def vs_ridge(run_dir, table) -> Path:
    """Train (dotted/open) and test (solid/filled) MSE against δ at a few (n, k) points."""
    fig, axes = subplots(1, 1, size=(5.0, 3.6))
    ax = axes[0][0]
    pairs = table[["n", "k"]].drop_duplicates().to_numpy()
    pick = pairs[np.linspace(0, len(pairs) - 1, min(4, len(pairs))).astype(int)]
    for colour, (n, k) in zip(_colours(len(pick)), pick):
        rows = table[(table.n == n) & (table.k == k) & (table.ridge > 0)]
        ax.plot(rows.ridge, rows.theory_test_mse, "-", color=colour, label=f"n={n}, k={k}")
        ax.plot(rows.ridge, rows.theory_train_mse, ":", color=colour)
        ax.errorbar(rows.ridge, rows.test_mse, yerr=rows.test_mse_se, fmt="o", ms=3, color=colour)
        ax.errorbar(rows.ridge, rows.train_mse, yerr=rows.train_mse_se, fmt="o", ms=3, mfc="none", color=colour)
    loglog(ax)
    ax.set(xlabel="ridge δ", ylabel="MSE", title="MSE vs ridge (solid test, dotted train)")
    ax.legend(fontsize=7)
    return save(fig, run_dir, "mse_vs_ridge")


def fitting_ratio(run_dir, s, spec: Spectrum) -> Path:
    """Fig. 2 layout for the task's (α, β): closed-form E_te(R) (lines) vs the numerical KRR
    eigenframework swept over δ (dots), σ² relative to the ridgeless noiseless risk, R* dotted."""
    a, b = s.dataset.alpha, s.dataset.beta
    fig, axes = subplots(1, 1, size=(5.0, 3.8))
    ax = axes[0][0]
    if not admissible(a, b):
        return save(fig, run_dir, "test_mse_vs_fitting_ratio")
    n = float(s.grid.fixed_n)
    ridges = np.logspace(-6, 3, 60)
    base = rf_theory(Spectrum(spec.eigvals, spec.coeffs2, 0.0), n, np.inf, 0.0)["test_mse"]
    R = np.linspace(0, 0.98, 200)
    for colour, rel in zip(_colours(len(s.plot.noise_levels)), s.plot.noise_levels):
        th = rf_theory(Spectrum(spec.eigvals, spec.coeffs2, rel * float(base)), n, np.inf, ridges)
        ratio = th["train_mse"] / th["test_mse"]
        closed = risk_vs_fitting_ratio(R, a, b, rel)
        scale = np.nanmin(th["test_mse"]) / np.nanmin(closed)  # shape-only, as the paper's Fig. 2
        ax.plot(ratio, th["test_mse"], "o", ms=3, color=colour)
        ax.plot(R, closed * scale, "-", color=colour, label=f"σ²_rel={rel}")
        ax.axvline(optimal_fitting_ratio(a, b, rel), ls=":", color=colour)
    ax.axvspan(0, 0.01, color="0.85")
    ax.axvspan(0.99, 1.0, color="0.85")
    ax.set(yscale="log", xlim=(0, 1), xlabel="fitting ratio R = train/test", ylabel="test MSE",
           title=f"α={a:g}, β={b:g}, n={n:g}\nlines: closed form (rescaled), dots: KRR eigenframework")
    ax.legend(fontsize=7)
    return save(fig, run_dir, "test_mse_vs_fitting_ratio")
