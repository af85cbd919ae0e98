"""Figures of a benchmark sweep (experiment=benchmark), from its rows' run directories (spec §9).

    plot_benchmark_sweep(sweep_dir, runs) -> [paths]     (plots.plot_sweep calls it)

Fig. 1 (QWEM top, word2vec bottom, small init): loss vs theory time, top-20 singular values (theory
dotted on the QWEM row), latent scatter PC3 vs PC1 (every second word) at three checkpoints with the
spec's four word groups. Fig. 2: rows word2vec / QWEM / theory × columns word2vec init / small init,
every singular value vs t/τ₁. Fig. 3: top words per principal direction (word2vec, QWEM, svd(PPMI))
and the §7 table (markdown). Fig. 5: squared overlaps of the top 64 left singular vectors, word2vec
vs QWEM and vs svd(PPMI), band fractions in figures.json. Fig. 7: the 2×2 ablation. Appendix: the
normalised spectra of M*, PMI, PPMI, P/(PP)+1 with a k^-0.6 guide. A figure whose rows are missing
is skipped and named in figures.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from repro.experiments.common.atomic import atomic_write_json, atomic_write_text
from repro.experiments.common.metrics import read_metrics
from repro.experiments.common.plotting import save, subplots

from . import benchmark, features, overlaps

GROUPS = (("bobby", "johnny", "actress", "starring", "songwriter", "kevin"),
          ("processes", "increases", "require", "mechanism", "factors", "components"),
          ("moral", "scholars", "religion", "democracy", "belief"),
          ("meters", "yards", "southwest", "route", "northeast", "adjacent"))


def _rows(runs) -> dict[str, Path]:
    out = {}
    for r in runs:
        p = Path(r) / benchmark.ROW_FILE
        if p.exists():
            out[json.loads(p.read_text())["row"]] = Path(r)
    return out


def _sv_time(run_dir: Path):
    rows = [r for r in read_metrics(run_dir) if "t_over_tau1" in r and r["t_over_tau1"] > 0]
    return (np.array([r["t_over_tau1"] for r in rows]), np.array([r["sv"] for r in rows], float), rows)


def _sv_panel(ax, x, sv, title, n=None):
    for k in range(sv.shape[1] if n is None else min(n, sv.shape[1])):
        style = dict(lw=1.0, alpha=0.9) if (k < 10 or k % 20 == 0) else dict(lw=0.5, alpha=0.2)
        ax.plot(x, sv[:, k], color=f"C{k % 10}", **style)
    ax.set_xscale("log")
    ax.set_title(title, fontsize=9)


def fig2(sweep_dir, rows) -> Path | None:
    need = ("word2vec_w2v_init", "qwem_w2v_init", "word2vec", "qwem")
    if not all(r in rows for r in need):
        return None
    fig, axes = subplots(3, 2, size=(4.2, 2.6), sharex=True, sharey=True)
    for col, (w2v, qw) in enumerate((("word2vec_w2v_init", "qwem_w2v_init"), ("word2vec", "qwem"))):
        for row, name in enumerate((w2v, qw)):
            x, sv, _ = _sv_time(rows[name])
            _sv_panel(axes[row, col], x, sv, f"{('word2vec', 'QWEM')[row]}, {('word2vec init', 'small init')[col]}")
        curve = json.loads((rows[qw] / "theory_curve.json").read_text())
        _sv_panel(axes[2, col], np.asarray(curve["t_over_tau1"]), np.asarray(curve["sv"]), "theory")
        axes[2, col].set_xlabel("t / τ₁")
    return save(fig, sweep_dir, "fig2_singular_values")


def fig1(sweep_dir, rows) -> Path | None:
    if not all(r in rows for r in ("qwem", "word2vec")):
        return None
    words = (rows["qwem"] / "embeddings" / "vocab.txt").read_text().split()
    index = {w: i for i, w in enumerate(words)}
    fig, axes = subplots(2, 5, size=(3.2, 2.8))
    for i, name in enumerate(("qwem", "word2vec")):
        x, sv, mrows = _sv_time(rows[name])
        axes[i, 0].plot(x, [r["loss"] for r in mrows])
        if name == "qwem":
            axes[i, 0].plot(x, [r["loss_theory"] for r in mrows], "k:")
        axes[i, 0].set(xscale="log", title=f"{name}: normalised loss", xlabel="t / τ₁")
        _sv_panel(axes[i, 1], x, sv, "top 20 singular values", n=20)
        if name == "qwem":
            th = np.array([r["sv_theory"] for r in mrows])[:, :20]
            axes[i, 1].plot(x, th, "k:", lw=0.6)
        ckpts = sorted((rows[name] / "checkpoints").glob("W_*.npy"))
        picks = [ckpts[j] for j in np.linspace(len(ckpts) // 3, len(ckpts) - 1, 3).astype(int)] if len(ckpts) >= 3 else []
        for j, path in enumerate(picks):
            ax = axes[i, 2 + j]
            U, S = features.principal_directions(np.load(path).astype(np.float64))
            Z = U * S
            if Z.shape[1] >= 3:
                ax.scatter(Z[::2, 2], Z[::2, 0], s=1, c="0.7")
                for g, group in enumerate(GROUPS):
                    ids = [index[w] for w in group if w in index]
                    ax.scatter(Z[ids, 2], Z[ids, 0], s=8, color=f"C{g}")
            ax.set_title(f"step {int(path.stem[2:])}: PC3 vs PC1", fontsize=9)
    return save(fig, sweep_dir, "fig1_qwem_vs_word2vec")


def fig5(sweep_dir, rows, out: dict) -> Path | None:
    pairs = [(a, b) for a, b in (("word2vec", "qwem"), ("word2vec", "svd_ppmi")) if a in rows and b in rows]
    if not pairs:
        return None
    fig, axes = subplots(1, len(pairs), size=(3.6, 3.4))
    for k, (a, b) in enumerate(pairs):
        Wa = np.load(rows[a] / "embeddings" / f"{benchmark.embedding_of(a)}.npy")
        Wb = np.load(rows[b] / "embeddings" / f"{benchmark.embedding_of(b)}.npy")
        O = overlaps.squared_overlaps(Wa, Wb, 64)
        out[f"band_fraction_{a}_vs_{b}"] = overlaps.band_fraction(O)
        axes[0, k].imshow(O, cmap="viridis", vmin=0, vmax=1)
        axes[0, k].set_title(f"{a} vs {b} (band {out[f'band_fraction_{a}_vs_{b}']:.2f})", fontsize=9)
        axes[0, k].grid(False)
    return save(fig, sweep_dir, "fig5_overlaps")


def fig7(sweep_dir, rows) -> Path | None:
    names = tuple(benchmark.ABLATIONS)
    if not all(n in rows for n in names):
        return None
    fig, axes = subplots(2, 2, size=(4.0, 3.0), sharex=True, sharey=True)
    titles = ("regular SGNS", "quartic loss only", "Setting 3.1 only", "QWEM")
    for k, (name, title) in enumerate(zip(names, titles)):
        x, sv, _ = _sv_time(rows[name])
        _sv_panel(axes[k // 2, k % 2], x, sv, title)
    for ax in axes[1]:
        ax.set_xlabel("t / τ₁")
    return save(fig, sweep_dir, "fig7_ablation")


def spectra(sweep_dir, rows) -> Path | None:
    path = rows.get("svd_mstar", Path("/nonexistent")) / "spectra.json"
    if not path.exists():
        return None
    sp = json.loads(path.read_text())
    fig, axes = subplots(1, 1, size=(4.6, 3.6))
    ax = axes[0, 0]
    for name, label in sp["labels"].items():
        w = np.asarray(sp[f"{name}_normalised"])
        k = np.arange(1, len(w) + 1)
        ax.plot(k[w > 0], w[w > 0], label=label)
    k = np.arange(1, sp["n"] + 1)
    ax.plot(k, k ** -0.6, "k--", lw=0.8, label="k^-0.6")
    ax.set(xscale="log", yscale="log", xlabel="k", ylabel="λ_k / λ_1")
    ax.legend(fontsize=8)
    return save(fig, sweep_dir, "appendix_spectra")


def fig3_features(sweep_dir, rows) -> Path | None:
    tables = {}
    for name, key in (("word2vec", None), ("qwem", None), ("svd_ppmi", "svd(PPMI)")):
        if name in rows and (rows[name] / "eigen_features.json").exists():
            t = json.loads((rows[name] / "eigen_features.json").read_text())
            k = key or next(k for k in t if not k.startswith("svd("))
            tables[name] = t[k]
    if not tables:
        return None
    path = Path(sweep_dir) / "eigen_features.md"
    atomic_write_text(path, features.table_markdown(tables))
    return path


def plot_benchmark_sweep(sweep_dir, runs) -> list[Path]:
    sweep_dir = Path(sweep_dir)
    rows = _rows(runs)
    if not rows:
        return []
    out: dict = {}
    made = benchmark.write_table(sweep_dir)
    for name, fn in (("fig1", lambda: fig1(sweep_dir, rows)), ("fig2", lambda: fig2(sweep_dir, rows)),
                     ("fig3", lambda: fig3_features(sweep_dir, rows)), ("fig5", lambda: fig5(sweep_dir, rows, out)),
                     ("fig7", lambda: fig7(sweep_dir, rows)), ("spectra", lambda: spectra(sweep_dir, rows))):
        p = fn()
        if p is None:
            out.setdefault("skipped", []).append(name)
        else:
            made.append(p)
    atomic_write_json(sweep_dir / "figures.json", out)
    return made + [sweep_dir / "figures.json"]
