"""lr_transfer (E3): test MSE against the base learning rate at several widths, per named point.

Prediction [A]: under muP the optimal base lr stays put across widths; under NTP it drifts. A diverged run, or a
test MSE above `cap`, counts as `cap` (the author's protocol), so the curves stay finite.
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
from .train import net_from, setting_from, train


def run_lr_transfer(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    widths, params = list(b.widths), list(b.params)
    grids = {nm: np.geomspace(*[float(v) for v in b.lr_grid[nm]], b.n_lrs).tolist() for nm in params}
    steps = b.epochs * math.ceil(len(data.x_train) / b.batch)

    # ---- every (point, width, lr), `trials` seeds each
    table = {nm: {str(w): [] for w in widths} for nm in params}
    with Progress(len(params) * len(widths) * b.n_lrs * b.trials, "richness lr_transfer", unit="runs") as p:
        for nm in params:
            r, gauge = POINTS[nm]
            for w in widths:
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
                    ctx.writer.log(param=nm, width=w, lr=lr, test_mse=float(np.mean(losses)))

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
