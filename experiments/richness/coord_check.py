"""coord_check: mup-style coordinate checks (spec section 12.3): mean |coordinate| of every layer's output and of its
change from init, over the first steps, across widths. Expected [D]: hidden coordinates flat in n for any
r in [0, 1/2]; changes ~ n^(r - 1/2) (flat in muP); the output at init ~ n^(-r).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from repro.experiments.common.progress import Progress

from .context import Context
from .data import Data, load_for
from .model import mse_loss
from .settings import Resolved
from .train import Setting, batches, build_model, make_optimizer, net_from, setting_from


def coord_rows(s: Setting, data: Data, device, dtype) -> list[dict]:
    """Rows (width, seed, step, layer, mean_abs, mean_abs_change) for steps 0..s.steps on a fixed batch."""
    model = build_model(s.net, data, device, dtype)
    d = data.to(device, dtype)
    x = d.x_train[: s.batch]
    opt = make_optimizer(model, s)
    rows = []
    with torch.no_grad():
        _, h0 = model.forward_all(x)

    def record(step):
        with torch.no_grad():
            _, hs = model.forward_all(x)
        for i, (h, a) in enumerate(zip(hs, h0)):
            rows.append({"width": s.net.width, "seed": s.net.seed, "step": step, "layer": i + 1,
                         "mean_abs": float(h.abs().mean()), "mean_abs_change": float((h - a).abs().mean())})

    record(0)
    for t, idx in batches(len(d.x_train), s.batch, s.steps, s.net.seed, device):
        loss = mse_loss(model(d.x_train[idx]), d.y_train[idx], s.loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        record(t + 1)
    return rows


def run_coord_check(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=True)
    net = net_from(c, model="mlp", width=b.widths[0], depth=b.depth, r=b.r, gamma0=b.gamma0, gauge=b.gauge)
    s = setting_from(c, net, lr=b.lr, momentum=b.momentum, batch=b.batch, steps=b.steps, center=False, probe=0,
                     ntk_probe=0, log_every=b.steps, ntk_every=b.steps)
    rows = []
    with Progress(len(b.widths) * b.seeds, "richness coord_check", unit="runs") as p:
        for w in b.widths:
            for seed in range(b.seeds):
                run_rows = coord_rows(replace(s, net=replace(net, width=w, seed=c.seed + seed)), data, ctx.device,
                                      ctx.dtype)
                for row in run_rows:
                    ctx.writer.log(**row)
                rows += run_rows
                p.update(1)
    slopes = coord_slopes(rows, b.r)
    ctx.save_results("coord", r=b.r, rows=rows, slopes=slopes)
    return {"richness": {"r": b.r, "gamma0": b.gamma0, "gauge": b.gauge, "widths": list(b.widths)},
            "slopes": slopes,
            "label": "extension (spec sec. 12.3), not a claim of the paper",
            "note": "output coordinates are not flat over the first steps in muP: they start ~n^-r (expected)"}


def coord_slopes(rows: list[dict], r: float) -> dict:
    """Fitted log-log slopes against width, with the predictions beside them."""
    widths = sorted({row["width"] for row in rows})
    layers = sorted({row["layer"] for row in rows})
    last_step = max(row["step"] for row in rows)
    out_layer = layers[-1]

    def slope(layer, step, key):
        m = [np.mean([q[key] for q in rows if q["width"] == w and q["layer"] == layer and q["step"] == step])
             for w in widths]
        return float(np.polyfit(np.log(widths), np.log(np.maximum(m, 1e-300)), 1)[0])

    res = {}
    for layer in layers[:-1]:
        res[f"hidden{layer}_coord_init"] = {"measured": slope(layer, 0, "mean_abs"), "predicted": 0.0}
        res[f"hidden{layer}_change_step{last_step}"] = {"measured": slope(layer, last_step, "mean_abs_change"),
                                                         "predicted": r - 0.5}
    res["output_init"] = {"measured": slope(out_layer, 0, "mean_abs"), "predicted": -r}
    return res
