"""gamma_sweep (extension, spec sec. 12.4): final train MSE over a gamma0 x base-lr grid at one width; `sweep` is the
grid lr_laws fits the learning-rate laws of spec sec. 8 on.

Prediction [D/U]: for gamma0 << 1 the optimal base lr hardly depends on gamma0; for gamma0 >> 1 it falls like
gamma0^(2/L - 2). Diverged runs are recorded as inf; gamma0 below `float64_below` trains in float64.
"""
from __future__ import annotations

import numpy as np
import torch

from repro.experiments.common.errors import Diverged
from repro.experiments.common.progress import Progress

from .context import Context
from .data import load_for
from .settings import Resolved
from .train import net_from, setting_from, train


def sweep(b, c, data, g0s, lrs, seeds, metric: str, ctx: Context, name: str) -> np.ndarray:
    """(len(g0s), len(lrs), len(seeds)) final `metric` ("train_mse" | "test_mse") of every run; inf if diverged."""
    grid = np.full((len(g0s), len(lrs), len(seeds)), np.nan)
    with Progress(grid.size, f"richness {name}", unit="runs") as p:
        for i, g0 in enumerate(g0s):
            dtype = torch.float64 if g0 < b.float64_below else ctx.dtype
            for k, seed in enumerate(seeds):
                net = net_from(c, model=b.model, width=b.width, depth=b.depth, r=b.r, gamma0=g0, gauge=b.gauge,
                               seed=seed)
                for j, lr in enumerate(lrs):
                    s = setting_from(c, net, lr=lr, momentum=b.momentum, batch=b.batch, steps=b.steps,
                                     center=b.center, probe=0, ntk_probe=0, log_every=b.steps, ntk_every=b.steps)
                    try:
                        grid[i, j, k] = train(s, data, ctx.device, dtype)["final"][metric]
                    except Diverged:
                        grid[i, j, k] = np.inf
                    ctx.writer.log(gamma0=g0, lr=lr, seed=seed, **{metric: grid[i, j, k]})
                    p.update(1)
    return grid


def run_gamma_sweep(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    g0s, lrs = list(b.gamma0_values), list(b.lrs)
    grid = sweep(b, c, data, g0s, lrs, [c.seed], "train_mse", ctx, rs.experiment)[:, :, 0]

    # ---- best lr per gamma0, save
    best = [lrs[int(np.nanargmin(np.where(np.isfinite(row), row, np.nan)))] if np.isfinite(row).any() else None
            for row in grid]
    ctx.save_results("gamma_sweep", gamma0_values=g0s, lrs=lrs, train_mse=grid.tolist(), optimal_base_lr=best)
    return {"richness": {"r": b.r, "width": b.width, "gamma0_values": g0s, "alpha": [g * b.width ** b.r for g in g0s]},
            "gamma0_values": g0s, "lrs": lrs, "optimal_base_lr": best,
            "label": "extension (spec sec. 12.4), not a claim of the paper",
            "lr_reported": "base lr, after the alpha^2 factor the tool applies to non-readout layers",
            "prediction": {"gamma0<<1": "optimal base lr ~ independent of gamma0 [D/U]",
                           "gamma0>>1": f"optimal base lr ~ gamma0^(2/L - 2) = gamma0^{2 / b.depth - 2:.3f} [D/U]"}}
