"""lr_transfer (E3) and lr_transfer_widths (extension 12.5): test MSE against the base learning rate at several
widths, per named point (E3) or per r (12.5), and the optimal base lr against width.

Prediction [A]: under muP the optimal base lr stays put across widths; under NTP it drifts. 12.5: no prediction for
intermediate r (spec). A diverged run, or a test MSE above `cap`, counts as `cap` (the author's protocol), so the
curves stay finite.
"""
from __future__ import annotations

import math

import numpy as np

from repro.experiments.common.errors import Diverged
from repro.experiments.common.progress import Progress

from .context import Context
from .data import load_for
from .parametrization import POINTS
from .settings import Resolved
from .theory import fit_line, refined_argmin
from .train import net_from, setting_from, train


def transfer_table(points: dict, grids: dict, b, c, data, ctx: Context, name: str) -> dict:
    """{point: {width: [mean test MSE over trials per lr]}}; points {label: (r, gauge)}, grids {label: [lrs]}."""
    steps = b.epochs * math.ceil(len(data.x_train) / b.batch)
    table = {nm: {str(w): [] for w in b.widths} for nm in points}
    with Progress(len(points) * len(b.widths) * len(next(iter(grids.values()))) * b.trials, f"richness {name}",
                  unit="runs") as p:
        for nm, (r, gauge) in points.items():
            for w in b.widths:
                for lr in grids[nm]:
                    losses = []
                    for t in range(b.trials):
                        net = net_from(c, model=b.model, width=w, depth=b.depth, r=r, gamma0=b.gamma0, gauge=gauge,
                                       seed=c.seed + t)
                        s = setting_from(c, net, lr=lr, momentum=b.momentum, batch=b.batch, steps=steps,
                                         center=b.center, probe=0, ntk_probe=0, log_every=steps, ntk_every=steps)
                        try:
                            mse = train(s, data, ctx.device, ctx.dtype)["final"]["test_mse"]
                        except Diverged:
                            mse = float("inf")
                        losses.append(min(mse, b.cap) if math.isfinite(mse) else b.cap)
                        p.update(1)
                    table[nm][str(w)].append(float(np.mean(losses)))
                    ctx.writer.log(param=nm, r=r, width=w, lr=lr, test_mse=float(np.mean(losses)))
    return table


def run_lr_transfer(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    widths, params = list(b.widths), list(b.params)
    grids = {nm: np.geomspace(*[float(v) for v in b.lr_grid[nm]], b.n_lrs).tolist() for nm in params}
    table = transfer_table({nm: POINTS[nm] for nm in params}, grids, b, c, data, ctx, rs.experiment)

    # ---- optimum per width and its drift
    optimum = {nm: {w: grids[nm][int(np.argmin(v))] for w, v in table[nm].items()} for nm in params}
    drift = {nm: float(np.log2(optimum[nm][str(widths[-1])] / optimum[nm][str(widths[0])])) for nm in params}
    ctx.save_results("e3", widths=widths, lrs=grids, test_mse=table, optimum=optimum, cap=b.cap)
    richness = {nm: {"r": POINTS[nm][0], "gauge": POINTS[nm][1], "gamma0": b.gamma0,
                     "alpha_per_width": {w: b.gamma0 * w ** POINTS[nm][0] for w in widths}}
                for nm in params}
    return {"richness": richness, "optimal_base_lr": optimum, "log2_optimum_drift_narrowest_to_widest": drift,
            "prediction": "under muP the optimal base lr stays put across widths; under NTP it drifts [A]",
            "lr_reported": "base lr (layer lrs are base lr * eta_l)"}


def run_lr_transfer_widths(rs: Resolved, ctx: Context) -> dict:
    """Extension 12.5: every r of b.r_values on one lr grid; the optimum per width refined in log lr, and its
    fitted slope against width (log lr* vs log n)."""
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    widths = list(b.widths)
    lrs = np.geomspace(b.lr_range[0], b.lr_range[1], b.n_lrs).tolist()
    points = {f"r={r:g}": (r, b.gauge) for r in b.r_values}
    table = transfer_table(points, {nm: lrs for nm in points}, b, c, data, ctx, rs.experiment)
    optimum = {nm: {w: refined_argmin(lrs, v) for w, v in table[nm].items()} for nm in points}
    at_edge = {nm: [w for w, v in table[nm].items() if int(np.argmin(v)) in (0, len(lrs) - 1)] for nm in points}
    slopes = {nm: fit_line(widths, [optimum[nm][str(w)] for w in widths]) for nm in points}
    ctx.save_results("e3", widths=widths, lrs={nm: lrs for nm in points}, test_mse=table,
                     optimum=optimum, cap=b.cap)
    return {"label": "extension (spec sec. 12.5), not a claim of the paper",
            "richness": {nm: {"r": r, "gamma0": b.gamma0, "alpha_per_width": {w: b.gamma0 * w ** r for w in widths}}
                         for nm, (r, _) in points.items()},
            "optimal_base_lr": optimum, "optimum_at_grid_edge": at_edge,
            "fitted_slope_log_lr_star_vs_log_width": slopes,
            "prediction": "muP (r = 1/2): flat; NTP (r = 0): drifts [A]; intermediate r: no prediction (spec)",
            "lr_reported": "base lr (layer lrs are base lr * eta_l); optimum refined by a parabola in log lr"}
