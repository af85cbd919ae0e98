"""Full-batch GD of stacked networks beside their exact linearised model: the engine of lazy_widths,
loss_curves and ntk_prediction (spec sec. 10).

At one width, `trials` networks (stacked weights, one batched matmul per layer) are trained centred (f - f0) by
full-batch GD on L = (1/2P) sum ||f - y||^2 at lr = P / e_max(Theta_0) (half the stable maximum), each trial at its
own lr, on the effective weights (V_l steps with lr * lam_l, the gauge-invariant form of the network's GD). Beside
them: the linearised model (theory.linearized_gd on Theta_0, float64) and, optionally, the kink-free reference of
lazy_limit (ReLU patterns frozen at init: the same f0 and Theta_0, hence the same linearised model).

One draw of standard normals per (width, trial) serves every richness point (r, gamma0): Theta_0 and the centred
linearised model do not depend on alpha (effective lr x effective init variance is alpha-free in every layer), so
they are computed once per width; only the networks are trained per point.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import Data
from .model import StackedMLP, activation_patterns, mlp_forward, mse_loss
from .ntk import as_matrix, gram_ntk
from .one_step import trial_chunk
from .theory import linearized_gd


@dataclass(frozen=True)
class GD:
    """What every width shares: the network but its width and richness, the GD and where it is recorded."""
    depth: int
    gauge: str
    bias: bool
    gain: float
    steps: int
    record: tuple[int, ...]  # steps at which outputs are kept (steps among them)
    kink_free: bool
    seed: int


def effective_gd(layers0, lams, gain, x, y, xs_eval, lr: torch.Tensor, record, masks=None, masks_eval=None) -> dict:
    """Full-batch GD of stacked trials on the effective weights (V_l steps with lr * lam_l: the gauge-invariant
    form of the network's own GD), centred on f0, L = (1/2P) sum ||f - y||^2 per trial.

    layers0 [(V (T, o, i), c (T, o))], x (T, P, d) or (P, d), y (P, k), lr (T,). masks / masks_eval: ReLU patterns
    to freeze (the gated network) on x and on each input of xs_eval. Returns {t: [f_t(x) - f0(x) for x in
    (x, *xs_eval)]} at every t in record.
    """
    fwd = lambda layers, inp, m: mlp_forward(layers, inp, gain, masks=m)[0]  # noqa: E731
    inputs = [(x, masks)] + list(zip(xs_eval, masks_eval or [None] * len(xs_eval)))
    with torch.no_grad():
        f0 = [fwd(layers0, inp, m) for inp, m in inputs]
    layers = [(V.clone().requires_grad_(), None if c is None else c.clone().requires_grad_()) for V, c in layers0]
    params = [(p, lam) for (V, c), lam in zip(layers, lams) for p in (V, c) if p is not None]
    out, last = {}, max(record)

    def keep(t):
        with torch.no_grad():
            out[t] = [fwd(layers, inp, m) - f for (inp, m), f in zip(inputs, f0)]

    for t in range(last + 1):
        if t in record:
            keep(t)
        if t == last:
            break
        loss = mse_loss(fwd(layers, x, masks) - f0[0], y, "half_sum").sum()
        grads = torch.autograd.grad(loss, [p for p, _ in params])
        with torch.no_grad():
            for (p, lam), g in zip(params, grads):
                p -= (lr * lam).view(-1, *[1] * (p.ndim - 1)) * g
    return out, [(V.detach(), None if c is None else c.detach()) for V, c in layers]


def linearised(theta, theta_test, y, lr, record) -> dict:
    """The linearised centred model per trial at every recorded step: {t: (train f - f0 (T, Pk), test (T, Qk))}."""
    out = {}
    for t in record:
        rows = [linearized_gd(th, tt, -y.flatten(), torch.zeros(tt.shape[0], dtype=torch.float64), float(a), t,
                              y.shape[0]) for th, tt, a in zip(theta, theta_test, lr)]
        out[t] = (torch.stack([y.flatten() + rl for rl, _ in rows]), torch.stack([ft for _, ft in rows]))
    return out


def width_runs(data: Data, width: int, points, g: GD, trials: int, device, dtype, pool=None) -> dict:
    """Every richness point (r, gamma0) at one width, `trials` networks each (chunked as one_step.trial_chunk).

    Returns per-trial float64 arrays: "lr", "lin" {t: (train, test)}, "points" [{"net": {t: (train, test)},
    "kink_free": ..., "flipped_fraction": (T,)}], and with `pool` (inputs) the trials' Theta_0 on the pool.
    """
    d = data.to(device, dtype)
    x, y, xt = d.x_train, d.y_train, d.x_test
    y64 = data.y_train.double()
    chunks, done = [], 0
    gen_seed = int(g.seed) * 7919 + width
    while done < trials:
        t = min(trial_chunk(width, trials, device=device), trials - done)
        nets = [StackedMLP(data.d_in, width, g.depth, data.k, t, r, g0, g.gauge, bias=g.bias, gain=g.gain,
                           generator=torch.Generator().manual_seed(gen_seed + done), device=device, dtype=dtype)
                for r, g0 in points]
        ref = nets[0]  # Theta_0 is alpha-free: any point's network gives it
        layers, lams = ref.effective_layers(), [s.lam for s in ref.scales]
        with torch.no_grad():
            th = as_matrix(gram_ntk(layers, lams, x, gain=g.gain)).double().cpu()
            tht = as_matrix(gram_ntk(layers, lams, xt, x.expand(t, *x.shape), gain=g.gain)).double().cpu()
            pool_th = None if pool is None else as_matrix(gram_ntk(
                layers, lams, pool.to(device, dtype), gain=g.gain)).double().cpu()
        lr = x.shape[0] / torch.linalg.eigvalsh(th)[:, -1]
        chunk = {"lr": lr, "lin": linearised(th, tht, y64, lr, g.record), "points": [], "pool_theta": pool_th,
                 "theta": th, "theta_test": tht}
        for net in nets:
            lams = [s.lam for s in net.scales]  # alpha-dependent, unlike Theta_0
            layers0 = [(V.detach(), None if c is None else c.detach()) for V, c in net.effective_layers()]
            lr_d = lr.to(device, dtype)
            runs, final = effective_gd(layers0, lams, g.gain, x, y, [xt], lr_d, g.record)
            row = {"net": _cpu(runs)}
            if g.kink_free:
                with torch.no_grad():
                    m_tr, m_te = activation_patterns(layers0, x, g.gain), activation_patterns(layers0, xt, g.gain)
                    now = activation_patterns(final, xt, g.gain)
                    row["flipped_fraction"] = torch.stack([(a != b).double().flatten(1).mean(1) for a, b in
                                                           zip(now, m_te)]).mean(0).cpu()
                row["kink_free"] = _cpu(effective_gd(layers0, lams, g.gain, x, y, [xt], lr_d, g.record, m_tr,
                                                     [m_te])[0])
            chunk["points"].append(row)
        chunks.append(chunk)
        done += t
    return _concat(chunks)


def _cpu(runs: dict) -> dict:
    return {t: tuple(v.detach().double().flatten(1).cpu() for v in vals) for t, vals in runs.items()}


def _concat(chunks: list[dict]) -> dict:
    cat = lambda vs: torch.cat(vs)  # noqa: E731
    first = chunks[0]
    out = {"lr": cat([c["lr"] for c in chunks]),
           "lin": {t: tuple(cat([c["lin"][t][i] for c in chunks]) for i in range(2)) for t in first["lin"]}}
    for k in ("pool_theta", "theta", "theta_test"):
        out[k] = None if first[k] is None else cat([c[k] for c in chunks])
    out["points"] = []
    for j in range(len(first["points"])):
        rows = [c["points"][j] for c in chunks]
        p = {key: {t: tuple(cat([r[key][t][i] for r in rows]) for i in range(2)) for t in rows[0][key]}
             for key in ("net", "kink_free") if key in rows[0]}
        if "flipped_fraction" in rows[0]:
            p["flipped_fraction"] = cat([r["flipped_fraction"] for r in rows])
        out["points"].append(p)
    return out


def discrepancies(res: dict, j: int, t: int, y_train: torch.Tensor, y_test: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-trial measurements of richness point j after t steps: D = ||f_net - f_lin|| / ||f_lin - f0|| (test,
    train; centred, so f0 = 0), the kink-free reference's D and ||f_net - f_kink-free|| / ||f_lin - f0|| (if run),
    the flipped fraction, and test MSEs (mean over points and outputs) of network and linearised model."""
    lin_tr, lin_te = res["lin"][t]
    p = res["points"][j]
    net_tr, net_te = p["net"][t]
    rel = lambda a, b: (a - b).norm(dim=1) / b.norm(dim=1)  # noqa: E731
    mse = lambda f, yy: ((f - yy.double().flatten()) ** 2).mean(1)  # noqa: E731
    out = {"D_test": rel(net_te, lin_te), "D_train": rel(net_tr, lin_tr), "test_mse_net": mse(net_te, y_test),
           "test_mse_linearised": mse(lin_te, y_test), "train_mse_net": mse(net_tr, y_train),
           "train_mse_linearised": mse(lin_tr, y_train)}
    if "kink_free" in p:
        kf = p["kink_free"][t][1]
        out.update(D_test_kink_free=rel(kf, lin_te), D_test_net_vs_kink_free=(net_te - kf).norm(dim=1) / lin_te.norm(dim=1),
                   flipped_fraction_test=p["flipped_fraction"])
    return out
