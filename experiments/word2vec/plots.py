"""Figures of a word2vec run, drawn from the files in its run directory.

loss.png             normalised training loss (QWEM: with the theory curve) vs t/τ₁ or step
singular_values.png  top-d singular values vs t/τ₁, measured | theory (the paper's Fig. 2 layout:
                     modes 1–10 and every 20th opaque, the rest faint), theory dotted over measured
analogy_vs_time.png  analogy accuracy over training with the prediction acc(W_{r(t)})
acc_vs_d.png         analogy accuracy of the truncated closed form vs d
eigen_features.png   words along the top eigen-features (svd(M*), PPMI, trained)
spectrum.png         eigenvalues of M*
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from repro.experiments.common.metrics import read_metrics
from repro.experiments.common.plotting import save, subplots


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _x_axis(rows: list[dict]) -> tuple[np.ndarray, str, bool]:
    if rows and all("t_over_tau1" in r for r in rows):
        return np.array([r["t_over_tau1"] for r in rows]), "t / τ₁", True
    return np.array([r["step"] for r in rows], float), "step", False


def _opaque(k: int) -> bool:
    return k < 10 or k % 20 == 0


def plot_run(run_dir) -> list[Path]:
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    curve = _read_json(run_dir / "theory_curve.json")
    out = []
    if rows:
        out += [plot_loss(run_dir, rows, curve), plot_singular_values(run_dir, rows, curve)]
        if any("analogy" in r for r in rows):
            out.append(plot_analogy_time(run_dir, rows, curve))
    acc_d = _read_json(run_dir / "acc_vs_d.json")
    if acc_d:
        out.append(plot_acc_vs_d(run_dir, acc_d))
    table = _read_json(run_dir / "eigen_features.json")
    if table:
        out.append(plot_features(run_dir, table))
    if (run_dir / "eigvals.npy").exists():
        out.append(plot_spectrum(run_dir, np.load(run_dir / "eigvals.npy")))
    return out


def plot_loss(run_dir, rows, curve) -> Path:
    x, label, logx = _x_axis(rows)
    loss = np.array([np.nan if r.get("loss") is None else r["loss"] for r in rows], float)
    fig, axes = subplots(1, 1, size=(5.0, 3.4))
    ax = axes[0, 0]
    keep = x > 0 if logx else np.ones_like(x, bool)
    ax.plot(x[keep], loss[keep], label="measured")
    if curve:
        ax.plot(curve["t_over_tau1"], curve["loss"], "k:", label="theory")
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=label, ylabel="normalised loss")
    ax.legend()
    return save(fig, run_dir, "loss")


def plot_singular_values(run_dir, rows, curve) -> Path:
    x, label, logx = _x_axis(rows)
    sv = np.array([r["sv"] for r in rows], float)
    has_theory = curve is not None
    fig, axes = subplots(1, 2 if has_theory else 1, size=(5.0, 3.6), sharey=True)
    keep = x > 0 if logx else np.ones_like(x, bool)
    panels = [(axes[0, 0], "measured")] + ([(axes[0, 1], "theory")] if has_theory else [])
    for ax, title in panels:
        for k in range(sv.shape[1]):
            style = dict(lw=1.0, alpha=0.9) if _opaque(k) else dict(lw=0.5, alpha=0.15)
            color = f"C{k % 10}"
            if title == "measured":
                ax.plot(x[keep], sv[keep, k], color=color, **style)
                if has_theory and k < 10:
                    ax.plot(curve["t_over_tau1"], np.asarray(curve["sv"])[:, k], ":", color="k", lw=0.8)
            else:
                ax.plot(curve["t_over_tau1"], np.asarray(curve["sv"])[:, k], color=color, **style)
        if logx:
            ax.set_xscale("log")
        ax.set(xlabel=label, title=title + (" (dotted: theory, modes 1-10)" if title == "measured" and has_theory else ""))
    axes[0, 0].set_ylabel("singular values of W")
    return save(fig, run_dir, "singular_values")


def plot_analogy_time(run_dir, rows, curve) -> Path:
    x, label, logx = _x_axis(rows)
    pts = [(xi, r["analogy"]) for xi, r in zip(x, rows) if "analogy" in r and (xi > 0 or not logx)]
    fig, axes = subplots(1, 1, size=(5.0, 3.4))
    ax = axes[0, 0]
    if pts:
        ax.plot(*zip(*pts), "o-", ms=3, label="measured")
    if curve and curve.get("accuracy"):
        ax.step(curve["t_over_tau1"], curve["accuracy"], where="post", color="k", ls=":", label="theory acc(W_r(t))")
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=label, ylabel="Google analogy accuracy")
    ax.legend()
    return save(fig, run_dir, "analogy_vs_time")


def plot_acc_vs_d(run_dir, acc_d) -> Path:
    fig, axes = subplots(1, 1, size=(4.6, 3.4))
    ax = axes[0, 0]
    ax.plot([r["d"] for r in acc_d], [r["accuracy"] for r in acc_d], "o-", ms=3)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="d (rank of the truncated closed form)", ylabel="Google analogy accuracy")
    return save(fig, run_dir, "acc_vs_d")


def plot_features(run_dir, table: dict) -> Path:
    names = list(table)
    n = max(len(t) for t in table.values())
    fig, axes = subplots(1, 1, size=(3.6 * len(names) + 0.6, 0.32 * n + 0.8))
    ax = axes[0, 0]
    ax.axis("off")
    cells = [[" ".join(table[m][k]["top"][:6]) if k < len(table[m]) else "" for m in names] for k in range(n)]
    tab = ax.table(cellText=cells, colLabels=names, rowLabels=[str(k + 1) for k in range(n)], loc="center", cellLoc="left")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    ax.set_title("words with the largest coordinates along each top direction")
    return save(fig, run_dir, "eigen_features")


def plot_spectrum(run_dir, w) -> Path:
    fig, axes = subplots(1, 1, size=(4.6, 3.4))
    ax = axes[0, 0]
    pos = w[w > 0]
    ax.loglog(np.arange(1, len(pos) + 1), pos / pos[0], ".", ms=3)
    ax.set(xlabel="k", ylabel="λ_k / λ_1", title="eigenvalues of M*")
    return save(fig, run_dir, "spectrum")


def plot_sweep(sweep_dir, runs) -> list[Path]:
    """A benchmark sweep's own figures and §7 table (benchmark_plots); other sweeps have none."""
    from .benchmark_plots import plot_benchmark_sweep

    return plot_benchmark_sweep(sweep_dir, runs)
