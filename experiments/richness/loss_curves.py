"""loss_curves (extension 12.6, not a claim of the paper): train and test loss against step across widths at fixed
richness, each width's r = 0 curves beside its linearised model (spec sec. 10), from lazy_gd's full-batch GD.

Expected [D/U]: at r = 1/2 (fixed gamma0) the curves approach a common curve as n grows; at r = 0 they approach the
linearised-model curve; for 0 < r < 1/2 they move from muP-like toward the kernel curve. Reported per r and width:
the largest |log L_net(t) - log L_lin(t)| over the recorded steps (gap to the linearised model) and the largest
|log L_n(t) - log L_widest(t)| (gap to the widest network), for the train and the test MSE.
"""
from __future__ import annotations

import numpy as np

from repro.experiments.common.progress import Progress

from .context import Context
from .data import load_for
from .lazy_gd import GD, discrepancies, width_runs
from .settings import Resolved

KEYS = ("train_mse_net", "test_mse_net", "train_mse_linearised", "test_mse_linearised")


def record_steps(steps: int, points: int) -> tuple[int, ...]:
    """0 and `points - 1` log-spaced steps up to `steps` (duplicates merged)."""
    return tuple(sorted({0, *np.unique(np.round(np.geomspace(1, steps, max(points - 1, 1)))).astype(int).tolist()}))


def run_loss_curves(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=True)
    record = record_steps(b.steps, b.curve_points)
    g = GD(depth=b.depth, gauge=b.gauge, bias=c.bias, gain=c.gain, steps=b.steps, record=record, kink_free=False,
           seed=c.seed)
    curves = {str(r): {} for r in b.r_values}  # r -> width -> key -> [mean over trials per recorded step]
    with Progress(len(b.widths), "richness loss_curves", unit="widths") as bar:
        for w in b.widths:
            res = width_runs(data, w, [(r, b.gamma0) for r in b.r_values], g, b.trials, ctx.device, ctx.dtype)
            for j, r in enumerate(b.r_values):
                rows = [discrepancies(res, j, t, data.y_train, data.y_test) for t in record]
                curves[str(r)][str(w)] = {k: [float(q[k].mean()) for q in rows] for k in KEYS}
                for t, q in zip(record, rows):
                    ctx.writer.log(r=r, width=w, step=t, **{k: float(q[k].mean()) for k in KEYS})
            bar.update(1, width=w)

    # ---- how close each width's curves are to its linearised model and to the widest width's
    widest = str(b.widths[-1])
    gaps = {}
    for r, per_w in curves.items():
        gaps[r] = {}
        for w, cv in per_w.items():
            gap = lambda a, b_: float(np.max(np.abs(np.log(a) - np.log(b_))))  # noqa: E731
            gaps[r][w] = {f"{split}_gap_to_linearised": gap(cv[f"{split}_mse_net"], cv[f"{split}_mse_linearised"])
                          for split in ("train", "test")}
            gaps[r][w].update({f"{split}_gap_to_widest": gap(cv[f"{split}_mse_net"], per_w[widest][f"{split}_mse_net"])
                               for split in ("train", "test")})
    ctx.save_results("loss_curves", steps=list(record), widths=list(b.widths), curves=curves)
    return {"label": "extension (spec sec. 12.6), not a claim of the paper",
            "richness": {"r_values": list(b.r_values), "gamma0": b.gamma0, "widths": list(b.widths)},
            "gaps": gaps, "gap": "max over recorded steps of |log MSE_a - log MSE_b| (mean over trials)",
            "expectation": "r = 0: gap to the linearised model shrinks with width; r = 1/2: gap to the widest "
                           "shrinks (a common curve); 0 < r < 1/2: in between [D/U]",
            "protocol": f"centred full-batch GD, lr = P/e_max(Theta_0) per trial, P = {b.n_train}, {b.trials} trials"}
