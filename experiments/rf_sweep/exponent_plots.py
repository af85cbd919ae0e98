"""Figures of the kernel experiments: the 2×2 exponent measurement and the eigenspectra (spec §10).

Both read only the run's saved files (exponents.npz / spectra.npz and summary.json), so `repro plot
DIR` redraws them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from repro.experiments.common.plotting import loglog, save, subplots

KERNEL_TITLES = {"myrtle10": "depth-10 Myrtle CNTK", "myrtle7": "depth-7 Myrtle CNTK", "myrtle5": "depth-5 Myrtle CNTK",
                 "fc_ntk": "fully connected NTK", "relu_nngp": "ReLU NNGP", "file": "precomputed kernel"}


def _title(s) -> str:
    kernel = KERNEL_TITLES.get(s.kernel.name, s.kernel.name)
    if s.kernel.name.startswith("myrtle") and s.kernel.kind == "nngp":
        kernel = kernel.replace("CNTK", "CNNGP")
    return f"Empirical (n×n) {kernel} @ {s.dataset.name}"


def _summary(run_dir: Path, summary: dict | None) -> dict:
    return summary if summary is not None else json.loads((run_dir / "summary.json").read_text())


def _mean_band(ax, ns, curves, colour, label):
    m = curves.mean(0)
    ax.plot(ns, m, "o", ms=3, color=colour, label=label)
    if len(curves) > 1:
        ax.fill_between(ns, curves.min(0), curves.max(0), color=colour, alpha=0.2, lw=0)


def _fit_line(ax, ns, curves, window, slope):
    """The fitted power law through the window's geometric-mean point."""
    sel = (ns >= window[0]) & (ns <= window[1])
    x = ns[sel]
    m = curves.mean(0)[sel]
    c = np.exp(np.mean(np.log(m)) - slope * np.mean(np.log(x)))
    ax.plot(x, c * x**slope, "-", color="k", lw=1.2)
    for w in window:
        ax.axvline(w, color="0.6", lw=0.8, ls=":")


def plot_exponents(run_dir, s, summary: dict | None = None) -> Path:
    """λ_i; v_i²; (Tr K_n⁻¹)⁻¹ vs n with the α fit; test MSE vs n with the β fit."""
    run_dir = Path(run_dir)
    sm = _summary(run_dir, summary)
    z = np.load(run_dir / "exponents.npz")
    ns, a, b = z["n"].astype(np.float64), sm["alpha"], sm["beta"]
    fig, axes = subplots(2, 2, size=(4.2, 3.4))
    i = np.arange(1, len(z["eigvals"]) + 1)
    (ax1, ax2), (ax3, ax4) = axes
    ax1.plot(i, z["eigvals"], "-", color="C0", lw=1.2)
    ax1.plot(i, z["eigvals"][0] * i**-a, ":", color="k", label=f"i^-{a:.2f} (α proxy)")
    ax1.set(xlabel="i", ylabel="λ_i", title="eigenvalues")
    ax2.plot(i, z["coeffs2"], ".", ms=1.5, color="C1")
    ax2.plot(i, z["coeffs2"][0] * i**-b, ":", color="k", label=f"i^-{b:.2f} (β proxy)")
    ax2.set(xlabel="i", ylabel="v_i²", title="target coefficients")
    _mean_band(ax3, ns, z["inv_trace"], "C2", "trials (mean, range)")
    _fit_line(ax3, ns, z["inv_trace"], sm["fit_window"], -a)
    ax3.set(xlabel="n", ylabel="(Tr K_n⁻¹)⁻¹", title=f"α = {a:.3f} [{sm['alpha_ci95'][0]:.3f}, {sm['alpha_ci95'][1]:.3f}]")
    _mean_band(ax4, ns, z["test_mse"], "C3", "trials (mean, range)")
    _fit_line(ax4, ns, z["test_mse"], sm["fit_window"], 1 - b)
    ax4.set(xlabel="n", ylabel="ridgeless test MSE", title=f"β = {b:.3f} [{sm['beta_ci95'][0]:.3f}, {sm['beta_ci95'][1]:.3f}]")
    for ax in (ax1, ax2, ax3, ax4):
        loglog(ax)
        ax.legend(fontsize=7)
    fig.suptitle(_title(s))
    return save(fig, run_dir, "exponents")


def plot_spectra(run_dir, s, summary: dict | None = None) -> Path:
    """λ_i and v_i² of K_n on random n-subsets at several n, with i^-α and i^-β guides."""
    run_dir = Path(run_dir)
    sm = _summary(run_dir, summary)
    z = np.load(run_dir / "spectra.npz")
    a, b = sm["alpha"], sm["beta"]
    fig, (row,) = subplots(1, 2, size=(4.2, 3.4))
    import matplotlib.pyplot as plt

    sizes = [int(n) for n in z["n"]]
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(sizes)))
    for colour, n in zip(colours, sizes):
        lam, v2 = z[f"eigvals_{n}"], z[f"coeffs2_{n}"]
        i = np.arange(1, len(lam) + 1)
        row[0].plot(i, lam, "-", color=colour, lw=1.1, label=f"n={n}")
        row[1].plot(i, v2, ".", ms=1.5, color=colour, label=f"n={n}")
    big = sizes[-1]
    i = np.arange(1, len(z[f"eigvals_{big}"]) + 1)
    row[0].plot(i, z[f"eigvals_{big}"][0] * i**-a, ":", color="k", label=f"i^-{a:.2f}")
    row[1].plot(i, z[f"coeffs2_{big}"][0] * i**-b, ":", color="k", label=f"i^-{b:.2f}")
    row[0].set(xlabel="i", ylabel="λ_i", title="eigenvalues")
    row[1].set(xlabel="i", ylabel="v_i²", title="target coefficients")
    for ax in row:
        loglog(ax)
        ax.legend(fontsize=7)
    fig.suptitle(_title(s) + " (guides: proxy exponents)")
    return save(fig, run_dir, "spectra")
