"""E2 and the exponent table: one SGD step from many re-initialisations, batched as stacked weights.

Each trial re-initialises the MLP, draws its own random batch, takes one SGD step (base lr; momentum
is irrelevant on the first step) and records the section-9 quantities. Update quantities can be
divided by the trial's initial residual norm ||f0(X) - Y|| (caveat (a)) or the model centred (caveat (b)).
"""
from __future__ import annotations

import torch

from . import measure
from .model import StackedMLP
from .ntk import gram_ntk
from .train import loss_fn

UPDATE_QUANTITIES = ("df_norm", "dh_norm", "dh_rel", "grad_h", "dW_hidden_op", "dW_hidden_fro",
                     "dW_readin_op", "dW_readin_fro", "dW_readout_op", "dW_readout_fro", "ntk_change")


def random_batches(n: int, trials: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """(trials, batch) indices, each row a sample without replacement."""
    return torch.rand(trials, n, generator=gen).argsort(dim=1)[:, :batch]


def sgd_step(net: StackedMLP, x, y, lr: float, loss_kind: str, center: bool):
    """One SGD step for every trial at once: the grad of the summed losses is each trial's own grad."""
    f0, zs, acts = net.forward(x)
    h_last = acts[-1]
    h_last.retain_grad()
    f = f0 - f0.detach() if center else f0
    loss = sum(loss_fn(f[t], y[t], loss_kind) for t in range(f.shape[0]))
    for p in net.params():
        p.grad = None
    loss.backward()
    W1 = [(w - lr * s.eta * w.grad).detach() for s, w in zip(net.scales, net.W)]
    b1 = [None if b is None else (b - lr * s.eta * b.grad).detach() for s, b in zip(net.scales, net.b)]
    with torch.no_grad():
        f1, _, acts1 = net.forward(x, W1, b1)
    resid = (f0.detach() - (f0.detach() if center else 0) - y).flatten(1).norm(dim=1)
    return {"f0": f0.detach(), "f1": f1, "acts0": [a.detach() for a in acts], "acts1": acts1,
            "grad_h": h_last.grad.flatten(1).norm(dim=1), "W1": W1, "b1": b1, "resid": resid}


def rms_rows(t: torch.Tensor) -> torch.Tensor:
    """Per-trial root-mean-square over examples of the per-example vector norm: (T, B, n) -> (T,)."""
    return t.pow(2).sum(-1).mean(-1).sqrt()


def trial_chunk(width: int, trials: int, budget: float = 2 ** 26) -> int:
    """How many trials to stack so that the hidden weights take about `budget` numbers."""
    return max(1, min(trials, int(budget // (width * width))))


def measure_width(data, width: int, depth: int, r: float, gamma0: float, gauge: str, trials: int, batch: int,
                  table_batch: int, lr: float, loss_kind: str, center: bool, ntk_probe: int, seed: int,
                  device, dtype, bias: bool = True) -> dict[str, torch.Tensor]:
    """All per-trial quantities at one width: E2's ||dh_2||/||h_2|| at `batch` and the table at `table_batch`."""
    gen = torch.Generator().manual_seed(int(seed) * 7919 + width)
    x_all, y_all = data.x_train.to(device, dtype), data.y_train.to(device, dtype)
    px = x_all[:ntk_probe]
    out: dict[str, list] = {}
    done = 0
    while done < trials:
        t = min(trial_chunk(width, trials), trials - done)
        net = StackedMLP(data.d_in, width, depth, data.k, t, r, gamma0, gauge, bias=bias, generator=gen,
                         device=device, dtype=dtype)
        rows = {}
        # E2 (author): relative change of the last hidden representation on the step's own batch.
        idx = random_batches(len(x_all), t, batch, gen).to(device)
        st = sgd_step(net, x_all[idx], y_all[idx], lr, loss_kind, center)
        rows["e2_dh_rel"] = measure.rel_change(st["acts1"][-1], st["acts0"][-1])
        rows["e2_resid"] = st["resid"]
        # Exponent table: a small batch keeps rank(dW) << n, so Frobenius ratios mean what section 9 says.
        idx = random_batches(len(x_all), t, table_batch, gen).to(device)
        st = sgd_step(net, x_all[idx], y_all[idx], lr, loss_kind, center)
        rows.update(table_quantities(net, st, width, table_batch + 1))
        if ntk_probe > 0:
            with torch.no_grad():
                lams = [s.lam for s in net.scales]
                th0 = gram_ntk(net.effective_layers(), lams, px, gain=net.gain)
                th1 = gram_ntk(net.effective_layers(st["W1"], st["b1"]), lams, px, gain=net.gain)
                rows["ntk_change"] = measure.ntk_change(th1, th0)
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
