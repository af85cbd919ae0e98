"""Gauge equivalence (spec section 7): equal (r, gamma0) in the stp, mup and rescale gauges give the
same SGD trajectory, because V = gW moves by g^2 eta grad_V and every gauge has the same g^2 eta and g sigma.

One draw of standard normals Z sets W_l = sigma_l Z_l in every gauge; identical batches, base lr and
momentum; float64. Reruns with weight decay or Adam must break the agreement. The trajectories are compared
with the stp gauge's, so the run's recorded gauge is stp.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .context import Context
from .data import Data, load_for
from .model import draw_normals
from .parametrization import GAUGES
from .settings import Common, Gauges, Resolved
from .train import Setting, build_model, net_from, setting_from, train


def trajectory(s: Setting, data: Data, device, normals) -> dict:
    """Train one gauge; return what all gauges must agree on: outputs, hidden representations, V = gW."""
    model = build_model(s.net, data, device, torch.float64, normals=normals)
    train(s, data, device, torch.float64, model=model)
    with torch.no_grad():
        x = data.x_test.to(device, torch.float64)
        f, hs = model.forward_all(x)
        return {"outputs": f, "hidden": hs[:-1], "effective_weights": model.effective_weights()}


def max_rel_diff(a: dict, b: dict) -> float:
    worst = 0.0
    for key in a:
        xs, ys = (a[key], b[key]) if isinstance(a[key], list) else ([a[key]], [b[key]])
        for x, y in zip(xs, ys):
            worst = max(worst, float((x - y).norm() / y.norm()))
    return worst


def gauge_disagreement(s: Setting, data: Data, device) -> dict:
    """Max relative difference of every gauge's trajectory from the stp gauge's, after s.steps steps."""
    ref_model = build_model(replace(s.net, gauge="stp"), data, "cpu", torch.float64)
    shapes = [tuple(w.shape) for w in ref_model.weights]
    normals = draw_normals(shapes, s.net.bias, torch.Generator().manual_seed(int(s.net.seed)), torch.float64)
    runs = {g: trajectory(replace(s, net=replace(s.net, gauge=g)), data, device, normals) for g in GAUGES}
    return {g: max_rel_diff(runs[g], runs["stp"]) for g in GAUGES if g != "stp"}


def gauge_check(b: Gauges, common: Common, data: Data, device) -> dict:
    """The equivalence at the block's (r, gamma0) (every gauge against stp), then the reruns that must break it."""
    net = net_from(common, model="mlp", width=b.width, depth=b.depth, r=b.r, gamma0=b.gamma0, gauge="stp")
    s = setting_from(common, net, lr=b.lr, momentum=b.momentum, batch=b.batch, steps=b.steps, center=b.center,
                     probe=0, ntk_probe=0, log_every=b.steps, ntk_every=b.steps)
    tolerance, breakers = b.tolerance, b.breakers
    exact = gauge_disagreement(s, data, device)
    out = {"prediction": "identical SGD trajectories in every gauge at equal (r, gamma0) [A/D]",
           "setting": {"steps": s.steps, "momentum": s.momentum, "lr": s.lr, **s.net.richness_record()},
           "measured_max_rel_diff": max(exact.values()), "per_gauge_vs_stp": exact, "tolerance": tolerance,
           "pass": max(exact.values()) <= tolerance, "breakers": {}}
    reruns = {"weight_decay": None if breakers.weight_decay is None else replace(s, weight_decay=breakers.weight_decay),
              "adam": None if breakers.adam_lr_factor is None else
              replace(s, optimizer="adam", lr=s.lr * breakers.adam_lr_factor)}
    for name, broken in reruns.items():
        if broken is None:
            continue
        d = gauge_disagreement(broken, data, device)
        out["breakers"][name] = {"prediction": "agreement breaks [D]", "measured_max_rel_diff": max(d.values()),
                                 "breaks": max(d.values()) > breakers.breaks_above}
    return out


def run_gauges(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=True)
    res = gauge_check(b, c, data, ctx.device)
    ctx.writer.log(step=b.steps, gauge_max_rel_diff=res["measured_max_rel_diff"])
    ctx.save_results("gauges", **res)
    return res
