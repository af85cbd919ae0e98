"""Figures from a run directory's results.json / metrics.jsonl (repro plot redraws them)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from matplotlib.ticker import NullFormatter

from repro.experiments.common.atomic import read_json
from repro.experiments.common.plotting import save, subplots

RESULTS_FILE = "results.json"


def plot_run(run_dir) -> list[Path]:
    run_dir = Path(run_dir)
    res = read_json(run_dir / RESULTS_FILE)
    if not res:
        return []
    from .plots_lazy import DRAW  # the later experiments' figures (it imports this module's helpers)

    draw = {"train": _train, "named_points": _named_points, "e2": _e2, "e3": _e3, "gamma_sweep": _gamma_sweep,
            "coord": _coord, "lazy": _lazy, "gauges": _gauges, **DRAW}.get(res.get("kind"))
    return draw(run_dir, res) if draw else []


def _train(run_dir, res):
    curve = res["curve"]
    steps = [c["step"] for c in curve]
    rich = res["richness"]
    title = f"r={rich['r']:g}, gamma0={rich['gamma0']:g}, n={rich['width']}, alpha={rich['alpha']:.3g}"
    fig, ax = subplots(1, 3, size=(4.2, 3.3))
    ax[0, 0].semilogy(steps, [c["train_mse"] for c in curve], label="train")
    ax[0, 0].semilogy(steps, [c["test_mse"] for c in curve], label="test")
    ax[0, 0].set(xlabel="step", ylabel="MSE", title=title)
    ax[0, 0].legend()
    later = [c for c in curve if c["step"] > 0]
    layers = sorted(int(k.split("_")[-1]) for k in (later[0] if later else {}) if k.startswith("dh_rel_"))
    for l in layers:
        ax[0, 1].loglog([c["step"] for c in later], [c[f"dh_rel_{l}"] for c in later], label=f"||dh||/||h|| l{l}")
        ax[0, 1].loglog([c["step"] for c in later], [c[f"dW_op_{l}"] for c in later], "--", label=f"||dW||op/||W||op l{l}")
    ax[0, 1].set(xlabel="step", title="relative change")
    if layers:
        ax[0, 1].legend(fontsize=6)
    nt = [c for c in later if "ntk_change" in c]
    if nt:
        ax[0, 2].plot([c["step"] for c in nt], [c["ntk_change"] for c in nt], "o-", label="||Th_t-Th_0||/||Th_0||")
        ax[0, 2].plot([c["step"] for c in nt], [c["kta"] for c in nt], "s-", label="KTA")
        ax[0, 2].plot([c["step"] for c in nt], [c["kta_centered"] for c in nt], "^-", label="centred KTA")
        ax[0, 2].legend(fontsize=7)
    ax[0, 2].set(xlabel="step", title="NTK (probe batch)")
    return [save(fig, run_dir, "train")]


def _named_points(run_dir, res):
    fig, ax = subplots(1, 1, size=(5, 3.6))
    for name, cs in res["curves"].items():
        c = np.array(cs)
        m, s = c.mean(0), c.std(0)
        style = "--" if name.startswith("ntp") else "-"
        ax[0, 0].plot(res["epochs"], m, style, label=name)
        ax[0, 0].fill_between(res["epochs"], m - s, m + s, alpha=0.2)
    ax[0, 0].set(yscale="log", xlabel="epoch", ylabel="test MSE", title=f"{res['experiment'].upper()}: curves per gauge")
    ax[0, 0].legend()
    return [save(fig, run_dir, res["experiment"] + "_curves")]


def _e2(run_dir, res):
    widths = np.array(res["widths"], dtype=float)
    fig, ax = subplots(1, 2, size=(4.4, 3.5))
    for r, d in res["per_r"].items():
        e2 = np.array(d["e2_per_trial"]).mean(1)
        line = ax[0, 0].loglog(widths, e2, "o", label=f"r={float(r):g}: fit {d['fits']['e2_dh_rel']['slope']:+.2f}")
        pred = float(r) - 0.5
        ax[0, 0].loglog(widths, e2[0] * (widths / widths[0]) ** pred, "--", color=line[0].get_color(), lw=1)
        ntk = np.array(d["means"].get("ntk_change", [np.nan] * len(widths)))
        fit = d["fits"].get("ntk_change", {}).get("slope", np.nan)
        line = ax[0, 1].loglog(widths, ntk, "o-", label=f"r={float(r):g}: after GD, fit {fit:+.2f}")
        one = np.array(d["means"].get("ntk_change_one_step", [np.nan] * len(widths)))
        ax[0, 1].loglog(widths, one, "x:", color=line[0].get_color(), label=f"r={float(r):g}: one step")
    ax[0, 0].set(xlabel="width n", ylabel="||h2' - h2|| / ||h2||", title="E2: one-step update (dashed: n^(r-1/2))")
    ax[0, 0].legend(fontsize=7)
    ax[0, 1].set(xlabel="width n", ylabel="||Th_t - Th_0|| / ||Th_0||", title="NTK change (deviation, README)")
    ax[0, 1].legend(fontsize=6, loc="lower left")
    for a in ax[0]:
        _width_ticks(a, widths)
    return [save(fig, run_dir, "e2_update_vs_width")]


def _width_ticks(ax, widths):
    """Plain integer ticks at the measured widths (log axes otherwise crowd minor labels)."""
    ax.set_xticks([float(w) for w in widths])
    ax.set_xticklabels([str(int(w)) for w in widths], fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())


def _e3(run_dir, res):
    params = list(res["test_mse"])
    fig, ax = subplots(1, len(params), size=(4.2, 3.4))
    for i, nm in enumerate(params):
        for w, vals in res["test_mse"][nm].items():
            vals = np.array(vals)
            cut = np.argmax(vals >= res["cap"]) if (vals >= res["cap"]).any() else len(vals)
            lrs = np.array(res["lrs"][nm])
            line = ax[0, i].plot(lrs[:cut], vals[:cut], "-", label=f"n={w}")
            j = int(np.argmin(vals))
            ax[0, i].plot([lrs[j]], [vals[j]], "*", ms=10, color=line[0].get_color())
        ax[0, i].set(xscale="log", yscale="log", xlabel="base lr", ylabel="test MSE", title=f"E3: {nm}")
        ax[0, i].xaxis.set_minor_formatter(NullFormatter())
        ax[0, i].legend(fontsize=7)
    return [save(fig, run_dir, "e3_lr_transfer")]


def _gamma_sweep(run_dir, res):
    grid = np.array(res["train_mse"], dtype=float)
    fig, ax = subplots(1, 1, size=(5, 3.8))
    im = ax[0, 0].imshow(np.log10(np.where(np.isfinite(grid), grid, np.nan)), aspect="auto", origin="lower")
    ax[0, 0].set(xticks=range(len(res["lrs"])), xticklabels=[f"{v:g}" for v in res["lrs"]],
                 yticks=range(len(res["gamma0_values"])), yticklabels=[f"{v:g}" for v in res["gamma0_values"]],
                 xlabel="base lr", ylabel="gamma0", title="log10 train MSE (extension)")
    fig.colorbar(im, ax=ax[0, 0])
    return [save(fig, run_dir, "gamma_sweep")]


def _coord(run_dir, res):
    rows = res["rows"]
    layers = sorted({r["layer"] for r in rows})
    steps = sorted({r["step"] for r in rows})
    widths = sorted({r["width"] for r in rows})
    fig, ax = subplots(2, len(steps), size=(2.6, 2.4))
    for j, t in enumerate(steps):
        for l in layers:
            for i, key in enumerate(("mean_abs", "mean_abs_change")):
                m = [np.mean([q[key] for q in rows if q["width"] == w and q["layer"] == l and q["step"] == t])
                     for w in widths]
                if key == "mean_abs_change" and t == 0:
                    continue
                ax[i, j].loglog(widths, m, "o-", label=f"layer {l}")
        ax[0, j].set(title=f"t={t}", xlabel="width")
        ax[1, j].set(xlabel="width")
        _width_ticks(ax[0, j], widths)
        _width_ticks(ax[1, j], widths)
    ax[0, 0].set(ylabel="mean |h|")
    ax[1, 0].set(ylabel="mean |h_t - h_0|")
    ax[0, 0].legend(fontsize=6)
    return [save(fig, run_dir, "coord_check")]


def _lazy(run_dir, res):
    pts = sorted(res["points"], key=lambda p: p["alpha_over_sqrt_n"])
    x = [p["alpha_over_sqrt_n"] for p in pts]
    fig, ax = subplots(1, 2, size=(4.4, 3.5))
    ax[0, 0].loglog(x, [p["D_test"] for p in pts], "o-", label="D test")
    ax[0, 0].loglog(x, [p["D_train"] for p in pts], "s-", label="D train")
    if "D_test_kink_free" in pts[0]:
        ax[0, 0].loglog(x, [p["D_test_kink_free"] for p in pts], "^--", label="D test, kink-free (patterns of init)")
        ax[0, 0].loglog(x, [pts[0]["D_test_kink_free"] * xi / x[0] for xi in x], ":", color="gray", lw=1,
                        label="~ richness^1")
    ax[0, 0].axhline(res["tolerance"], ls=":", color="k")
    ax[0, 0].set(xlabel="richness alpha/sqrt(n)", ylabel="||f_net - f_lin|| / ||f_lin - f0||", title="lazy limit")
    ax[0, 0].legend()
    ax[0, 1].loglog(x, [p["ntk_change"] for p in pts], "o-", label="NTK change")
    ax[0, 1].semilogx(x, [p["kta_final"] for p in pts], "s-", label="KTA final")
    ax[0, 1].semilogx(x, [p["kta_init"] for p in pts], "k:", label="KTA init")
    ax[0, 1].set(xlabel="richness alpha/sqrt(n)", title="NTK change and alignment")
    ax[0, 1].legend(fontsize=7)
    return [save(fig, run_dir, "lazy_limit")]


def _gauges(run_dir, res):
    names = list(res["per_gauge_vs_stp"]) + [f"{b} (breaks)" for b in res["breakers"]]
    vals = list(res["per_gauge_vs_stp"].values()) + [v["measured_max_rel_diff"] for v in res["breakers"].values()]
    fig, ax = subplots(1, 1, size=(5, 3.2))
    ax[0, 0].bar(names, np.maximum(vals, 1e-18))
    ax[0, 0].axhline(res["tolerance"], ls=":", color="k")
    ax[0, 0].set(yscale="log", ylabel="max rel. diff vs stp gauge", title="gauge equivalence (float64)")
    return [save(fig, run_dir, "gauges")]


def plot_sweep(sweep_dir, run_dirs) -> list[Path]:
    """Across train runs of a sweep: final relative changes and NTK change against richness alpha/sqrt(n)."""
    pts = []
    for d in run_dirs:
        res = read_json(Path(d) / RESULTS_FILE) or {}
        if res.get("kind") == "train" and res.get("curve"):
            pts.append((res["richness"]["alpha_over_sqrt_n"], res["curve"][-1]))
    if not pts:
        return []
    pts.sort(key=lambda p: p[0])
    fig, ax = subplots(1, 1, size=(5, 3.6))
    x = [p[0] for p in pts]
    for key in sorted(k for k in pts[0][1] if k.startswith("dh_rel_") or k == "ntk_change"):
        ax[0, 0].loglog(x, [p[1].get(key, np.nan) for p in pts], "o-", label=key)
    ax[0, 0].set(xlabel="richness alpha/sqrt(n)", ylabel="relative change at the end", title="lazy -> rich")
    ax[0, 0].legend(fontsize=7)
    return [save(fig, Path(sweep_dir), "richness_sweep")]
