"""Figures of an emergence run, drawn from its emergence.json (spec §9).

fig4.png                 the Fig. 4 family: spectra of (1/d) R_d R_dᵀ at emergence.mp_ds with the MP
                         fit (d_eff in the legend) and the spike marked; ⟨r⟩ localisation bars for
                         k < localisation_k, the top features labelled with their eigenvector's words;
                         SNR vs d (log-log) and accuracy vs d (log x) for fig4_families
fig6.png                 MP fit at fig6_d and localisation, for each of fig6_families
fig8.png                 mean cos(x̂, w) and cos(x̂, w) / max_v cos(v, w) vs d, for fig4_families
family_training.png      (emergence.train) per-family accuracy over training, measured (points) and
                         predicted acc(W_{r(t)}) (steps), emergence steps marked
No hand-tuned factors: the MP curves use the fitted d_eff as is (the authors' notebooks scale it).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from repro.experiments.common.plotting import STYLE, plt, save, subplots

from .spiked import mp_density, mp_edges


def plot_emergence(run_dir) -> list[Path]:
    run_dir = Path(run_dir)
    rep = json.loads((run_dir / "emergence.json").read_text())
    out = [plot_fig4(run_dir, rep), plot_fig6(run_dir, rep), plot_fig8(run_dir, rep)]
    if rep.get("training"):
        out.append(plot_training(run_dir, rep))
    return out


def mp_panel(ax, fam: dict, d: str, name: str) -> None:
    """Histogram of the bulk of (1/d) R_d R_dᵀ, the fitted MP density as counts, the spike marked."""
    m = fam["mp"][d]
    lam = np.asarray(m["spectrum"])
    N = len(lam)
    hi = max(1.4 * m["bulk_edge"], 1.2 * m["second"], 1e-12)
    bulk = lam[lam <= hi]
    counts, bins, _ = ax.hist(bulk, bins=30, range=(0, hi), color="tab:blue", alpha=0.6, label=f"d = {d}")
    if m["d_eff"] is not None:
        gamma = m["gamma_hat"]
        x = np.linspace(1e-9, hi, 400)
        ax.plot(x, mp_density(x, gamma, m["sigma2"]) * N * (bins[1] - bins[0]), color="tab:orange",
                label=f"MP, d_eff = {m['d_eff']:.1f}")
        ax.axvline(mp_edges(gamma, m["sigma2"])[1], color="tab:orange", ls=":", lw=0.8)
    top = max(counts.max() if len(counts) else 1.0, 1.0)
    ax.annotate(f"spike λ = {m['outlier']:.3g} →\noverlap {m['overlap']:.2f}", xy=(0.98, 0.45), xycoords="axes fraction",
                ha="right", fontsize=7, color="tab:blue")
    ax.set(xlim=(0, hi), ylabel="count")
    if name:
        ax.set_title(f"{name}: spectrum of R_d R_dᵀ / d", fontsize=9)
    ax.legend(fontsize=6, loc="upper right")


def localisation_panel(ax, fam: dict, words: list[list[str]], name: str, n_labels: int = 4) -> None:
    p = np.asarray(fam["localisation"])
    ax.bar(np.arange(len(p)), p, width=1.0, align="edge")
    for k, share in fam["localisation_summary"]["top_features"][:n_labels]:
        if k < len(words):
            ax.annotate(", ".join(words[k][:3]), xy=(k + 0.5, share), xytext=(k + 3, share), fontsize=6,
                        va="center", color="navy")
    ax.set(xlabel="eigen-feature k", ylabel="⟨r⟩_k² / Σ ⟨r⟩²", xlim=(0, len(p)))
    ax.set_title(f"localisation of ⟨r⟩ ({name})", fontsize=9)


def plot_fig4(run_dir: Path, rep: dict) -> Path:
    st, grid = rep["settings"], rep["grid"]
    name = st["fig4_family"]
    fam = rep["families"][name]
    ds = [d for d in map(str, st["mp_ds"]) if d in fam["mp"]]
    rows = max(len(ds), 2)
    plt.rcParams.update(STYLE)
    fig = plt.figure(figsize=(11.0, 2.0 * rows))
    gs = fig.add_gridspec(rows, 3)
    for i, d in enumerate(ds):
        mp_panel(fig.add_subplot(gs[i, 0]), fam, d, name if i == 0 else "")
    localisation_panel(fig.add_subplot(gs[: rows // 2, 1:]), fam, rep["feature_words"], name)
    snr_ax, acc_ax = fig.add_subplot(gs[rows // 2:, 1]), fig.add_subplot(gs[rows // 2:, 2])
    for f in st["fig4_families"]:
        snr_ax.plot(grid, rep["families"][f]["snr"], label=f)
        acc_ax.plot(grid, rep["families"][f]["accuracy"], label=f)
    snr_ax.set_xscale("log", base=2)
    snr_ax.set_yscale("log")
    snr_ax.set(xlabel="embedding dimension d", ylabel="SNR = λ_max rank / Tr")
    acc_ax.set_xscale("log", base=2)
    acc_ax.set(xlabel="embedding dimension d", ylabel="analogy accuracy (authors' protocol)")
    snr_ax.legend(fontsize=6)
    return save(fig, run_dir, "fig4")


def plot_fig6(run_dir: Path, rep: dict) -> Path:
    st = rep["settings"]
    names = st["fig6_families"] or [st["fig4_family"]]
    d = str(st["fig6_d"])
    fig, axes = subplots(2, len(names), size=(3.6, 2.6))
    for j, name in enumerate(names):
        fam = rep["families"][name]
        if d in fam["mp"]:
            mp_panel(axes[0, j], fam, d, name)
        else:
            axes[0, j].set_title(f"{name}: d = {d} past the cut grid")
        localisation_panel(axes[1, j], fam, rep["feature_words"], name)
    return save(fig, run_dir, "fig6")


def plot_fig8(run_dir: Path, rep: dict) -> Path:
    grid, st = rep["grid"], rep["settings"]
    fig, axes = subplots(1, 2, size=(4.2, 3.2))
    for f in st["fig4_families"]:
        fam = rep["families"][f]
        axes[0, 0].plot(grid, fam["cos"], label=f)
        axes[0, 1].plot(grid, fam["ratio"], label=f)
    for ax, label in ((axes[0, 0], "cos(x̂, w)"), (axes[0, 1], "cos(x̂, w) / max_v cos(v, w)")):
        ax.set_xscale("log", base=2)
        ax.set(xlabel="embedding dimension d", ylabel=label, ylim=(0, 1.2))
    axes[0, 0].legend(fontsize=6, loc="lower left")
    return save(fig, run_dir, "fig8")


def plot_training(run_dir: Path, rep: dict) -> Path:
    tr = rep["training"]
    rows, names = tr["rows"], list(tr["emergence"])
    x = np.array([r["t_over_tau1"] for r in rows])
    keep = x > 0
    fig, axes = subplots(1, 1, size=(6.0, 3.8))
    ax = axes[0, 0]
    for i, name in enumerate(names):
        c = f"C{i % 10}"
        ax.plot(x[keep], np.array([r["measured"][name] for r in rows])[keep], "o", ms=3, color=c, label=f"{name} measured")
        ax.step(x[keep], np.array([r["predicted"][name] for r in rows])[keep], where="post", color=c, ls=":", lw=1)
        em = tr["emergence"][name]
        for kind, marker in (("measured", "v"), ("predicted", "^")):
            if em[f"{kind}_t_over_tau1"]:
                ax.plot(em[f"{kind}_t_over_tau1"], -0.03, marker, color=c, ms=6, clip_on=False)
    ax.set_xscale("log")
    ax.set(xlabel="t / τ₁", ylabel="family accuracy", ylim=(-0.05, 1.05),
           title="per-family accuracy: measured (points), acc(W_r(t)) (dotted)")
    ax.text(0.01, 0.97, "▼ measured, ▲ predicted emergence", transform=ax.transAxes, fontsize=7, va="top")
    ax.legend(fontsize=6, ncol=2)
    return save(fig, run_dir, "family_training")
