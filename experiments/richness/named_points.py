"""named_points_mlp (E1: MLP on MNIST), named_points_cnn (E4: Myrtle-5 on CIFAR-10) and named_points_mixer (E5: the
Myrtle Mixer, mixer.py): every named point of the richness family, trained with the same seeds, test MSE at each
epoch start.

Predictions [A]: the gauges of one family (ntp, ntp-lr | mup, mup-lr, mfp) give the same curves; muP ends below NTP.
"""
from __future__ import annotations

import math

import numpy as np

from repro.experiments.common.progress import Progress

from .context import Context
from .data import load_for
from .parametrization import FAMILY, POINTS
from .settings import Resolved
from .train import net_from, setting_from, train


def run_named_points(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    per_epoch = math.ceil(len(data.x_train) / b.batch)
    steps = b.epochs * per_epoch

    def net(name: str, seed: int):
        r, gauge = POINTS[name]
        return net_from(c, model=b.model, width=b.width, depth=b.depth, groups=b.groups, r=r, gamma0=b.gamma0,
                        gauge=gauge, seed=seed)

    # ---- train every named point, `trials` seeds each
    curves = {}
    with Progress(len(b.params) * b.trials, f"richness {rs.experiment}", unit="runs") as p:
        for name in b.params:
            curves[name] = []
            for t in range(b.trials):
                s = setting_from(c, net(name, c.seed + t), lr=b.lr, momentum=b.momentum, batch=b.batch, steps=steps,
                                 center=b.center, probe=b.probe, ntk_probe=b.ntk_probe, log_every=per_epoch,
                                 ntk_every=steps)
                res = train(s, data, ctx.device, ctx.dtype, log=lambda row, nm=name, tr=t: ctx.writer.log(
                    param=nm, trial=tr, epoch=row["step"] / per_epoch, **row))
                curves[name].append([row["test_mse"] for row in res["curve"]])
                p.update(1)

    # ---- compare the families and save
    final = {nm: {"mean": float(np.mean([cv[-1] for cv in cs])), "std": float(np.std([cv[-1] for cv in cs]))}
             for nm, cs in curves.items()}
    fams = {f: float(np.mean([final[nm]["mean"] for nm in final if FAMILY[nm] == f]))
            for f in set(FAMILY[nm] for nm in final)}
    summary = {"final_test_mse": final, "epochs": b.epochs, "width": b.width, "dataset": data.name,
               "richness": {nm: net(nm, c.seed).richness_record() for nm in b.params},
               "gauge_families": family_agreement(curves)}
    if "mup" in fams and "ntp" in fams:
        summary["mup_below_ntp"] = {"prediction": "muP reaches lower test MSE than NTP [A]",
                                    "measured": {"mup_family": fams["mup"], "ntp_family": fams["ntp"]},
                                    "pass": fams["mup"] < fams["ntp"]}
    ctx.save_results("named_points", epochs=list(range(b.epochs + 1)), curves=curves, experiment=rs.experiment)
    return summary


def family_agreement(curves: dict) -> dict:
    """Max relative difference between test-MSE curves of gauges in the same family (same seeds)."""
    out = {}
    for fam in ("ntp", "mup"):
        members = [nm for nm in curves if FAMILY[nm] == fam]
        if len(members) < 2:
            continue
        ref = np.array(curves[members[0]])
        diff = max(float(np.max(np.abs(np.array(curves[m]) - ref) / np.abs(ref))) for m in members[1:])
        out[fam] = {"members": members, "prediction": "curves coincide (gauge equivalence) [A]",
                    "measured_max_rel_diff": diff}
    return out
