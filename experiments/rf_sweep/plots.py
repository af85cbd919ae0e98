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


HEATMAP_RIDGES = 2.0 ** np.arange(-12, 5)          # the theory's 17 ridges 2^-12 ... 2^4 (spec §10)
HEATMAP_COLUMNS = (2.0**-9, 2.0**-5, 2.0**-1, 2.0**3)  # the four shown
HEATMAP_RANGE = (0.2, 10.0)                        # log colour scale


def heatmaps(run_dir, s, table, spec: Spectrum) -> Path:
    """The appendix n × k grid (spec §10): 4 × 4 panels, rows test theory, test experiment, train
    theory, train experiment; columns δ = 2^-9, 2^-5, 2^-1, 2^3; x = k, y = n on a 31-point log grid
    over the run's range; log colour scale 0.2-10. Theory is solved on the 17 ridges 2^-12 ... 2^4;
    the experiment rows need a product-layout run (grid.layout=product) and show its nearest ridge."""
    import matplotlib.colors as mcolors

    lo, hi = min(s.grid.n[0], s.grid.k[0]), max(s.grid.n[1], s.grid.k[1])
    ax_vals = np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), 31)))
    n_vals, k_vals = ax_vals[ax_vals < spec.modes], ax_vals
    th = rf_theory(spec, n_vals[:, None, None], k_vals[None, :, None], HEATMAP_RIDGES[None, None, :])
    exp_rows = s.grid.layout == "product"
    fig, axes = subplots(4, len(HEATMAP_COLUMNS), size=(3.0, 2.7))
    fig.set_layout_engine("constrained")  # tight_layout cannot place a shared colorbar
    norm = mcolors.LogNorm(*HEATMAP_RANGE)
    for j, d in enumerate(HEATMAP_COLUMNS):
        r = int(np.argmin(np.abs(np.log(HEATMAP_RIDGES / d))))
        for row, (kind, what) in enumerate((("theory", "test"), ("experiment", "test"), ("theory", "train"),
                                            ("experiment", "train"))):
            ax = axes[row][j]
            if kind == "theory":
                im = ax.pcolormesh(k_vals, n_vals, th[f"{what}_mse"][:, :, r], norm=norm, shading="nearest")
                ax.set_title(f"{what} theory, δ=2^{int(np.log2(d))}", fontsize=9)
            elif exp_rows:
                piv = _nearest_ridge_pivot(table, d, f"{what}_mse")
                ax.pcolormesh(piv.columns, piv.index, piv.to_numpy(), norm=norm, shading="nearest")
                ax.set_title(f"{what} experiment, δ≈{piv.attrs['ridge']:.3g}", fontsize=9)
            else:
                ax.text(0.5, 0.5, "experiment rows:\ngrid.layout=product", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8)
                ax.set_title(f"{what} experiment", fontsize=9)
            loglog(ax)
            ax.set(xlabel="k", ylabel="n", xlim=(k_vals[0], k_vals[-1]), ylim=(n_vals[0], n_vals[-1]))
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="MSE")
    return save(fig, run_dir, "heatmap_test_mse", tight=False)


def _nearest_ridge_pivot(table, d, values: str = "test_mse"):
    ridges = np.unique(table.ridge[table.ridge > 0])
    r = ridges[np.argmin(np.abs(np.log(ridges) - np.log(d)))]
    piv = table[np.isclose(table.ridge, r)].pivot_table(index="n", columns="k", values=values)
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


def plot_sweep(sweep_dir, run_dirs) -> list[Path]:
    """`repro plot SWEEP_DIR`: the fitting-ratio runs of a sweep over data sets as the paper's three-panel
    Fig. 2 (and the appendix's train-vs-test and MSE-vs-ridge rows); other experiments draw per run only."""
    from .plots_fitting import plot_fitting_sweep

    return plot_fitting_sweep(sweep_dir, run_dirs)
