"""Figures of lazy_widths, loss_curves, ntk_prediction and lr_laws (plots.plot_run dispatches here on `kind`)."""
from __future__ import annotations

import numpy as np

from repro.experiments.common.plotting import save, subplots

from .plots import _width_ticks


def lazy_widths(run_dir, res):
    widths = np.array(res["widths"], dtype=float)
    fig, ax = subplots(1, 2, size=(4.4, 3.5))
    for r, q in res["per_r"].items():
        fit = res["fits"][r]
        for i, key in enumerate(("D_test", "D_test_kink_free")):
            m = np.array(q[key]).mean(1)
            line = ax[0, i].loglog(widths, m, "o-", label=f"r={float(r):g}: fit {fit[key]['slope']:+.2f} "
                                                            f"[{fit[key]['ci95'][0]:+.2f}, {fit[key]['ci95'][1]:+.2f}]")
            ax[0, i].loglog(widths, m[0] * (widths / widths[0]) ** fit[key]["expected_ours"], ":", lw=1,
                            color=line[0].get_color())
    ax[0, 0].set(xlabel="width n", ylabel="||f_net - f_lin|| / ||f_lin - f0|| (test)",
                 title=f"D(n), gamma0={res['gamma0']:g} (dotted: n^max(2r-1, r/2-3/4))")
    ax[0, 1].set(xlabel="width n", title="kink-free reference (dotted: n^(2r-1))")
    for a in ax[0]:
        a.legend(fontsize=6)
        _width_ticks(a, widths)
    return [save(fig, run_dir, "lazy_widths")]


def loss_curves(run_dir, res):
    steps = np.array(res["steps"], dtype=float)
    rs = list(res["curves"])
    fig, ax = subplots(2, len(rs), size=(3.4, 2.8))
    t = np.maximum(steps, 0.5)  # step 0 on a log axis
    for j, r in enumerate(rs):
        for w, cv in res["curves"][r].items():
            for i, split in enumerate(("train", "test")):
                line = ax[i, j].loglog(t, cv[f"{split}_mse_net"], "-", label=f"n={w}")
                if float(r) == 0.0:
                    ax[i, j].loglog(t, cv[f"{split}_mse_linearised"], "--", color=line[0].get_color(), lw=1)
        ax[0, j].set(title=f"r={float(r):g} (extension 12.6)" + (": dashed = linearised" if float(r) == 0 else ""))
        ax[1, j].set(xlabel="GD step")
    ax[0, 0].set(ylabel="train MSE")
    ax[1, 0].set(ylabel="test MSE")
    ax[0, 0].legend(fontsize=6)
    return [save(fig, run_dir, "loss_curves")]


def ntk_prediction(run_dir, res):
    rows = res["rows"]
    fig, ax = subplots(1, 1, size=(5.2, 3.8))
    for r in sorted({row["r"] for row in rows}):
        for w in sorted({row["width"] for row in rows}):
            pts = sorted((row for row in rows if row["r"] == r and row["width"] == w), key=lambda q: q["alpha_over_sqrt_n"])
            x = [p["alpha_over_sqrt_n"] for p in pts]
            line = ax[0, 0].loglog(x, [p["network_test_mse"] for p in pts], "o-" if r == 0 else "s-",
                                   label=f"network r={r:g} n={w}")
            ax[0, 0].loglog(x, [p["predicted_test_mse"] for p in pts], "_", ms=14, mew=2, color=line[0].get_color())
    ax[0, 0].set(xlabel="richness alpha/sqrt(n)", ylabel="test MSE",
                 title="measured (markers+lines) vs predicted from Theta_0 (bars)")
    ax[0, 0].legend(fontsize=6)
    return [save(fig, run_dir, "ntk_prediction")]


def lr_laws(run_dir, res):
    grid = np.array(res["test_mse"], dtype=float)
    g0s, lrs = res["gamma0_values"], res["lrs"]
    fig, ax = subplots(1, 2, size=(4.4, 3.6))
    im = ax[0, 0].imshow(np.log10(np.where(np.isfinite(grid), grid, np.nan)), aspect="auto", origin="lower")
    ax[0, 0].set(xticks=range(0, len(lrs), 3), xticklabels=[f"{v:.0e}" for v in lrs[::3]],
                 yticks=range(len(g0s)), yticklabels=[f"{v:g}" for v in g0s], xlabel="base lr", ylabel="gamma0",
                 title="log10 test MSE")
    fig.colorbar(im, ax=ax[0, 0])
    best = [(g, b) for g, b in zip(g0s, res["optimal_base_lr"]) if b is not None]
    ax[0, 1].loglog(*zip(*best), "o-", label="measured lr*")
    for side, fit in res["fits"].items():
        if fit["slope"] is not None and len(fit["gamma0"]) >= 2:
            g = np.array(fit["gamma0"])
            b0 = dict(best).get(g[0], np.nan)
            ax[0, 1].loglog(g, b0 * (g / g[0]) ** res["predicted"][side], ":", label=f"{side}: predicted "
                            f"{res['predicted'][side]:+.2f}, fit {fit['slope']:+.2f}")
    ax[0, 1].set(xlabel="gamma0", ylabel="optimal base lr", title="spec sec. 8 (our convention)")
    ax[0, 1].legend(fontsize=6)
    return [save(fig, run_dir, "lr_laws")]


DRAW = {"lazy_widths": lazy_widths, "loss_curves": loss_curves, "ntk_prediction": ntk_prediction, "lr_laws": lr_laws}
