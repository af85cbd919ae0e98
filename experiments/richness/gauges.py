"""Gauge equivalence (spec section 7): equal (r, gamma0) in the stp, mup and rescale gauges give the
same SGD trajectory, because V = gW moves by g^2 eta grad_V and every gauge has the same g^2 eta and g sigma.

One draw of standard normals Z sets W_l = sigma_l Z_l in every gauge; identical batches, base lr and
momentum; float64. Reruns with weight decay or Adam must break the agreement.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .data import Data
from .model import draw_normals
from .parametrization import GAUGES
from .train import Setting, build_model, train


def trajectory(s: Setting, data: Data, device, normals) -> dict:
    """Train one gauge; return what all gauges must agree on: outputs, hidden representations, V = gW."""
    model = build_model(s, data, device, torch.float64, normals=normals)
    train(replace(s, probe=0, ntk_probe=0, log_every=s.steps), data, device, torch.float64, model=model)
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
    ref_model = build_model(replace(s, gauge="stp"), data, "cpu", torch.float64)
    shapes = [tuple(w.shape) for w in ref_model.weights]
    normals = draw_normals(shapes, s.bias, torch.Generator().manual_seed(int(s.seed)), torch.float64)
    runs = {g: trajectory(replace(s, gauge=g), data, device, normals) for g in GAUGES}
    return {g: max_rel_diff(runs[g], runs["stp"]) for g in GAUGES if g != "stp"}


def gauge_check(s: Setting, data: Data, device, tolerance: float, breakers=("weight_decay", "adam")) -> dict:
    exact = gauge_disagreement(s, data, device)
    out = {"prediction": "identical SGD trajectories in every gauge at equal (r, gamma0) [A/D]",
           "setting": {"steps": s.steps, "momentum": s.momentum, "lr": s.lr, **s.richness_record()},
           "measured_max_rel_diff": max(exact.values()), "per_gauge_vs_stp": exact, "tolerance": tolerance,
           "pass": max(exact.values()) <= tolerance, "breakers": {}}
    for b in breakers:
        broken = replace(s, weight_decay=1e-3) if b == "weight_decay" else replace(s, optimizer="adam", lr=s.lr * 1e-3)
        d = gauge_disagreement(broken, data, device)
        out["breakers"][b] = {"prediction": "agreement breaks [D]", "measured_max_rel_diff": max(d.values()),
                              "breaks": max(d.values()) > 1e3 * tolerance}
    return out
