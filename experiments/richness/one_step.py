"""E2 and the exponent table: one SGD step from many re-initialisations, batched as stacked weights.

Each trial re-initialises the MLP, draws its own random batch, takes one SGD step (base lr; momentum
is irrelevant on the first step) and records the section-9 quantities. Update quantities can be
divided by the trial's initial residual norm ||f0(X) - Y|| (caveat (a)) or the model centred (caveat (b)).

The NTK change is the exception: the spec's row is "after O(1) steps", and after one small step the
change is linear in the lr with random-sign leading terms that cancel, so it under-measures the change
over an O(1) training time. `ntk_after_training` trains each trial's network by full-batch GD on the
NTK probe batch for `ntk_steps` steps at one base lr for all widths (a fixed fraction of the stable
lr of the widest network's initial kernel), i.e. a fixed O(1) training time, and measures the change there.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import measure
from .model import StackedMLP, mse_loss, mse_loss_grad
from .ntk import as_matrix, gram_ntk

@dataclass(frozen=True)
class OneStep:
    """What every trial at every width shares: the network (but its width and r), the two steps and the NTK
    training (ntk_steps full-batch GD steps at base lr ntk_lr on the first ntk_probe points; 0 = off)."""
    depth: int
    gamma0: float
    gauge: str
    bias: bool
    gain: float
    lr: float
    batch: int
    table_batch: int
    trials: int
    loss: str
    center: bool
    ntk_probe: int
    ntk_steps: int
    ntk_lr: float
    seed: int


UPDATE_QUANTITIES = ("df_norm", "dh_norm", "dh_rel", "grad_h", "dW_hidden_op", "dW_hidden_fro",
                     "dW_readin_op", "dW_readin_fro", "dW_readout_op", "dW_readout_fro", "ntk_change_one_step")


def random_batches(n: int, trials: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """(trials, batch) indices, each row a sample without replacement."""
    return torch.rand(trials, n, generator=gen).argsort(dim=1)[:, :batch]


def sgd_step(net: StackedMLP, x, y, lr: float, loss_kind: str, center: bool):
    """One SGD step for every trial at once (each trial's own loss and gradient), with an explicit backward.

    GEMMs only where the maths needs them: per layer one forward product, one weight-gradient product fused
    with the update (W1 = W - lr eta g delta^T a by baddbmm, so no gradient tensor, no g*W copy, no separate
    subtraction), one backward product per layer above the read-in, and the second forward. Biases and the multipliers
    g enter the baddbmm scalars. Equals autograd + torch.optim.SGD (tests). x: (T, B, d) or (B, d) shared.
    """
    with torch.no_grad():
        T = net.trials
        if x.ndim == 2:
            x = x.expand(T, *x.shape)
        f0, zs, acts = net.forward_fused(x, net.W, net.b)
        off = f0 if center else 0
        delta = mse_loss_grad(f0 - off - y, loss_kind)  # dL_t/df, per trial; the centred residual is exactly -y
        L = len(net.W)
        W1, b1, grad_h = [None] * L, [None] * L, None
        for l in range(L - 1, -1, -1):
            s, W = net.scales[l], net.W[l]
            step = lr * s.eta * s.g  # dL/dW = g delta^T a; raw W steps with lr eta
            if l > 0:  # dL/da_{l-1} = g delta_l W_l, before W_l is replaced
                back = torch.bmm(delta, W)
            W1[l] = torch.baddbmm(W.detach(), delta.transpose(-1, -2), acts[l], alpha=-step)
            if net.b[l] is not None:
                b1[l] = net.b[l].detach() - step * delta.sum(-2)
            if l > 0:
                if l == L - 1:
                    grad_h = back.flatten(1).norm(dim=1) * s.g
                # delta_{l-1} = phi'(z_{l-1}) * dL/da_{l-1}, phi' = gain [z > 0]; g_l and the gain in one pass
                delta = back.mul_(s.g * net.gain).masked_fill_(zs[l - 1] <= 0, 0.0)
        f1, _, acts1 = net.forward_fused(x, W1, b1)
    resid = (f0 - off - y).flatten(1).norm(dim=1)
    return {"f0": f0, "f1": f1, "acts0": acts, "acts1": acts1, "grad_h": grad_h, "W1": W1, "b1": b1, "resid": resid}


def rms_rows(t: torch.Tensor) -> torch.Tensor:
    """Per-trial root-mean-square over examples of the per-example vector norm: (T, B, n) -> (T,)."""
    return t.pow(2).sum(-1).mean(-1).sqrt()


def trial_chunk(width: int, trials: int, budget: float | None = None, device="cpu") -> int:
    """How many trials to stack so that the hidden weights take about `budget` numbers.

    CPU: 2^22 (16 MB of float32 hidden weights, 4 trials at width 1024): the step's elementwise passes then
    stay near the caches; 32 stacked trials at width 1024 were 1.3-1.6x slower per trial (benchmarks/README).
    GPU: 2^26, where bigger batched GEMMs pay.
    """
    if budget is None:
        budget = 2 ** 26 if torch.device(device).type == "cuda" else 2 ** 22
    return max(1, min(trials, int(budget // (width * width))))


def step_factor(loss_kind: str, n_points: int, k: int) -> float:
    """c in f_{t+1} - y = (I - lr c Theta)(f_t - y) for GD on the linearised model: 2/(Pk) for 'mean', 1/P for 'half_sum'."""
    return 2.0 / (n_points * k) if loss_kind == "mean" else 1.0 / n_points


def reference_ntk_lr(data, width: int, spec: OneStep, lr_frac: float, draws: int, device, dtype) -> dict:
    """One base lr for the NTK-change training at every width and r: lr_frac x the linearised model's stable
    maximum 2/(c e_max), e_max the top eigenvalue of Theta_0(X, X) on the probe batch averaged over `draws`
    networks of `width` (the widest: nearest the width-independent kernel).

    Theta_0 does not depend on r for a given draw (effective lr x effective init variance is r-free in every
    layer), so one lr serves every r, and a fixed number of steps is the same O(1) training time at every width.
    """
    gen = torch.Generator().manual_seed(int(spec.seed) * 7919 + 104729)
    x = data.x_train[:spec.ntk_probe].to(device, dtype)
    net = StackedMLP(data.d_in, width, spec.depth, data.k, draws, 0.5, 1.0, "mup", bias=spec.bias, gain=spec.gain,
                     generator=gen, device=device, dtype=dtype)
    with torch.no_grad():
        th0 = gram_ntk(net.effective_layers(), [s.lam for s in net.scales], x, gain=net.gain)
        e_max = torch.linalg.eigvalsh(as_matrix(th0).double())[:, -1]
    c = step_factor(spec.loss, spec.ntk_probe, data.k)
    return {"lr": float(lr_frac * 2.0 / (c * e_max.mean())), "e_max_mean": float(e_max.mean()),
            "e_max_std": float(e_max.std()) if draws > 1 else 0.0, "width": width, "draws": draws}


def ntk_after_training(net: StackedMLP, x, y, steps: int, lr: float, loss_kind: str,
                       center: bool) -> dict[str, torch.Tensor]:
    """Relative NTK change on the probe batch after `steps` full-batch GD steps on that batch, per trial.

    `lr` is the base lr (layer l steps with lr * eta_l), the same at every width (reference_ntk_lr), so the
    training time is fixed. Also returned: the change with the ReLU activation patterns frozen at init
    ('weights': what the weight change alone does) and the remainder from units whose pre-activation
    changed sign ('flips': ||Theta_T - Theta_T^(patterns of init)|| / ||Theta_0||), and the loss ratio
    L_T / L_0, which shows the loss moved by O(1).
    """
    lams = [s.lam for s in net.scales]
    with torch.no_grad():
        f0, zs0, _ = net.forward(x)
        masks0 = [z > 0 for z in zs0[:-1]]
        th0 = gram_ntk(net.effective_layers(), lams, x, gain=net.gain)
    W = [w.detach().clone().requires_grad_() for w in net.W]
    b = [None if c is None else c.detach().clone().requires_grad_() for c in net.b]
    params = [(p, s.eta) for s, w, c in zip(net.scales, W, b) for p in (w, c) if p is not None]
    off = f0 if center else torch.zeros_like(f0)
    loss0 = mse_loss(f0 - off, y, loss_kind)
    for _ in range(steps):
        f = net.forward(x, W, b)[0] - off
        grads = torch.autograd.grad(mse_loss(f, y, loss_kind).sum(), [p for p, _ in params])
        with torch.no_grad():
            for (p, eta), g in zip(params, grads):
                p -= lr * eta * g
    with torch.no_grad():
        layers = net.effective_layers(W, b)
        th = gram_ntk(layers, lams, x, gain=net.gain)
        th_w = gram_ntk(layers, lams, x, gain=net.gain, masks=masks0)
        lossT = mse_loss(net.forward(x, W, b)[0] - off, y, loss_kind)
    return {"ntk_change": measure.ntk_change(th, th0), "ntk_change_weights": measure.ntk_change(th_w, th0),
            "ntk_change_flips": (th - th_w).flatten(1).norm(dim=1) / th0.flatten(1).norm(dim=1),
            "ntk_loss_ratio": lossT / loss0}


def measure_width(data, width: int, r: float, spec: OneStep, device, dtype) -> dict[str, torch.Tensor]:
    """All per-trial quantities at one width: E2's ||dh_2||/||h_2|| at spec.batch, the table at spec.table_batch,
    and the NTK change on the first spec.ntk_probe training points after one step and after spec.ntk_steps GD
    steps at base lr spec.ntk_lr (reference_ntk_lr)."""
    gen = torch.Generator().manual_seed(int(spec.seed) * 7919 + width)
    x_all, y_all = data.x_train.to(device, dtype), data.y_train.to(device, dtype)
    px, py = x_all[:spec.ntk_probe], y_all[:spec.ntk_probe]
    out: dict[str, list] = {}
    done = 0
    while done < spec.trials:
        t = min(trial_chunk(width, spec.trials, device=device), spec.trials - done)
        net = StackedMLP(data.d_in, width, spec.depth, data.k, t, r, spec.gamma0, spec.gauge, bias=spec.bias,
                         gain=spec.gain, generator=gen, device=device, dtype=dtype)
        rows = {}
        # E2 (author): relative change of the last hidden representation on the step's own batch.
        idx = random_batches(len(x_all), t, spec.batch, gen).to(device)
        st = sgd_step(net, x_all[idx], y_all[idx], spec.lr, spec.loss, spec.center)
        rows["e2_dh_rel"] = measure.rel_change(st["acts1"][-1], st["acts0"][-1])
        rows["e2_resid"] = st["resid"]
        # Exponent table: a small batch keeps rank(dW) << n, so Frobenius ratios mean what section 9 says.
        idx = random_batches(len(x_all), t, spec.table_batch, gen).to(device)
        st = sgd_step(net, x_all[idx], y_all[idx], spec.lr, spec.loss, spec.center)
        rows.update(table_quantities(net, st, width, spec.table_batch + 1))
        if spec.ntk_probe > 0:
            with torch.no_grad():
                lams = [s.lam for s in net.scales]
                th0 = gram_ntk(net.effective_layers(), lams, px, gain=net.gain)
                th1 = gram_ntk(net.effective_layers(st["W1"], st["b1"]), lams, px, gain=net.gain)
                # One small step (on the table batch): reported, not checked (module docstring).
                rows["ntk_change_one_step"] = measure.ntk_change(th1, th0)
            if spec.ntk_steps > 0:
                rows.update(ntk_after_training(net, px, py, spec.ntk_steps, spec.ntk_lr, spec.loss, spec.center))
        for k, v in rows.items():
            out.setdefault(k, []).append(v.detach().double().cpu())
        done += t
        del net, st
    return {k: torch.cat(v) for k, v in out.items()}


def table_quantities(net: StackedMLP, st: dict, width: int, rank: int) -> dict[str, torch.Tensor]:
    a0, a1 = st["acts0"], st["acts1"]
    h0, h1 = a0[-1], a1[-1]  # last hidden representation (h_2 of the 3-layer net)
    f0, f1 = st["f0"], st["f1"]
    with torch.no_grad():
        q = {
            "f0_norm": rms_rows(f0),
            "h_init_coord": rms_rows(h0) / width ** 0.5,
            "df_norm": rms_rows(f1 - f0),
            "dh_norm": rms_rows(h1 - h0),
            "dh_rel": measure.rel_change(h1, h0),
            "grad_h": st["grad_h"],
            "resid": st["resid"],
        }
        L = len(net.W)
        for name, i in (("readin", 0), ("hidden", 1 if L > 2 else None), ("readout", L - 1)):
            if i is None:
                continue
            ch = measure.weight_change(net.W[i].detach(), st["W1"][i], lead=1, low_rank=rank)
            q[f"dW_{name}_op"], q[f"dW_{name}_fro"] = ch["op"], ch["fro"]
    return q
