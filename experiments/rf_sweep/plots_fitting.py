"""Figures of experiment=fitting_ratio: Fig. 2 (test MSE vs fitting ratio), and the appendix's train vs
test and MSE vs ridge, for one run or (`repro plot SWEEP_DIR`) one panel per data set of a sweep.

Fig. 2 panel: dots = measured (R, E_te) over the ridges, one colour per σ²_rel; lines = the §7.2
closed form with the run's (α, β), rescaled to the measured minimum (shape only, spec §7.3); dotted
verticals = the predicted R* (§7.3); shaded bands at R = 0 and R = 1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from repro.experiments.common.plotting import loglog, save, subplots

from .powerlaw import optimal_fitting_ratio, rescaled_to, risk_vs_fitting_ratio

ORDER = ("cifar10", "svhn", "mnist", "fashion_mnist")  # the paper's panel order, then the others
TITLES = {"cifar10": "CIFAR10", "svhn": "SVHN", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def _load(run_dir: Path):
    """(settings, results at N, exponents used) of a finished or finishing run."""
    from .fitting_ratio import exponents_used
    from .settings import settings

    s = settings(OmegaConf.load(run_dir / "config.yaml"))
    table = pd.read_csv(run_dir / "results.csv")
    return s, table[table.n == s.fitting_ratio.n], exponents_used(s)


def _colours(count: int):
    import matplotlib.pyplot as plt

    return plt.cm.plasma(np.linspace(0.0, 0.8, count))


def panel_fig2(ax, table: pd.DataFrame, ex: dict, title: str) -> None:
    a, b = ex["alpha"], ex["beta"]
    R = np.linspace(0.0, 0.995, 400)
    levels = sorted(table.noise_rel.unique())
    for colour, rel in zip(_colours(len(levels)), levels):
        rows = table[table.noise_rel == rel]
        ax.plot(rows.fitting_ratio, rows.test_mse, "o", ms=3, color=colour)
        line = rescaled_to(risk_vs_fitting_ratio(R, a, b, rel), float(rows.test_mse.min()))
        ax.plot(R, line, "-", color=colour, lw=1.2, label=f"σ²_rel={rel:g}")
        ax.axvline(optimal_fitting_ratio(a, b, rel), ls=":", color=colour, lw=1.2)
    ax.axvspan(0, 0.02, color="0.88", zorder=0)
    ax.axvspan(0.98, 1.0, color="0.88", zorder=0)
    ax.text(0.01, 0.98, "fully interpolating", rotation=90, va="top", ha="center", fontsize=6, transform=ax.transAxes)
    ax.text(0.99, 0.98, "∞ regularization", rotation=90, va="top", ha="center", fontsize=6, transform=ax.transAxes)
    ax.set(yscale="log", xlim=(0, 1), xlabel="fitting ratio R = train MSE / test MSE", ylabel="test MSE",
           title=f"{title} (α={a:.3g}, β={b:.3g})")


def panel_train_test(ax, table: pd.DataFrame, title: str) -> None:
    levels = sorted(table.noise_rel.unique())
    for colour, rel in zip(_colours(len(levels)), levels):
        rows = table[(table.noise_rel == rel) & (table.train_mse > 0)]
        ax.plot(rows.test_mse, rows.train_mse, "o-", ms=3, lw=0.8, color=colour, label=f"σ²_rel={rel:g}")
    lo, hi = table.test_mse.min() * 0.8, table.test_mse.max() * 1.25
    x = np.array([lo, hi])
    ax.plot(x, x, "k--", lw=0.9, label="R = 1")
    ax.plot(x, 1e-2 * x, "k:", lw=0.9, label="R = 10⁻²")
    loglog(ax)
    ax.set(xlabel="test MSE", ylabel="train MSE", title=title)


def panel_vs_ridge(ax, table: pd.DataFrame, title: str) -> None:
    levels = sorted(table.noise_rel.unique())
    for colour, rel in zip(_colours(len(levels)), levels):
        rows = table[(table.noise_rel == rel) & (table.ridge > 0)].sort_values("ridge")
        ax.plot(rows.ridge, rows.test_mse, "-", color=colour, label=f"σ²_rel={rel:g}")
        ax.plot(rows.ridge, rows.train_mse.clip(lower=1e-12), ":", color=colour)
    loglog(ax)
    ax.set(xlabel="ridge δ", ylabel="MSE (solid test, dotted train)", title=title)


PANELS = {"fig2_test_mse_vs_fitting_ratio": (panel_fig2, (5.0, 3.8)),
          "fitting_ratio_train_vs_test": (panel_train_test, (4.2, 3.6)),
          "fitting_ratio_mse_vs_ridge": (panel_vs_ridge, (4.6, 3.6))}


def _figure(out_dir: Path, name: str, runs: list[tuple[str, pd.DataFrame, dict]]) -> Path:
    panel, size = PANELS[name]
    fig, axes = subplots(1, len(runs), size=size)
    for ax, (title, table, ex) in zip(axes[0], runs):
        panel(ax, table, ex, title) if panel is panel_fig2 else panel(ax, table, title)
    axes[0][0].legend(fontsize=7)
    return save(fig, out_dir, name)


def plot_fitting_run(run_dir) -> list[Path]:
    run_dir = Path(run_dir)
    s, table, ex = _load(run_dir)
    runs = [(f"{TITLES.get(s.dataset.name, s.dataset.name)}, {s.kernel.name}, N={s.fitting_ratio.n}", table, ex)]
    return [_figure(run_dir, name, runs) for name in PANELS]


def plot_fitting_sweep(sweep_dir, run_dirs) -> list[Path]:
    """One panel per data set (the paper's three-panel Fig. 2 for a sweep over dataset=cifar10,svhn,mnist);
    runs differing in anything else than the data set keep the first of each data set."""
    by_name: dict[str, tuple] = {}
    for d in run_dirs:
        if OmegaConf.load(Path(d) / "config.yaml").get("experiment") != "fitting_ratio":
            continue
        s, table, ex = _load(Path(d))
        by_name.setdefault(s.dataset.name, (TITLES.get(s.dataset.name, s.dataset.name), table, ex))
    if not by_name:
        return []
    names = sorted(by_name, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    runs = [by_name[n] for n in names]
    return [_figure(Path(sweep_dir), name, runs) for name in PANELS]
