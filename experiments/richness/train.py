"""One training run at one point of the richness scale, with the lazy-vs-rich measurements.

Logged at each evaluation step: train/test MSE (mean over examples and outputs, the author's test
MSE) and, on a fixed probe batch, per-layer ||dh||/||h||, ||dW||/||W|| (spectral and Frobenius), and the
empirical NTK's relative change and kernel-target alignment (plain and centred).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from repro.experiments.common.errors import Diverged
from repro.experiments.common.progress import Progress

from . import measure
from .data import Data, load_for
from .mixer import MyrtleMixer, mixer_fan_ins
from .model import MLP, Myrtle5, ScaledNet, mse_loss
from .ntk import model_ntk
from .parametrization import alpha, finite_richness


@dataclass(frozen=True)
class Net:
    """One network: architecture, point on the richness scale and init draw (the experiment's driver fills it)."""
    model: str  # mlp | myrtle5 | mixer
    width: int
    depth: int | None  # weight layers of the MLP; None for the convs (fixed depth)
    groups: int | None  # the mixer's spatial-conv groups (None: groups = width, depthwise); None for the others
    r: float
    gamma0: float
    gauge: str
    bias: bool
    gain: float
    seed: int

    @property
    def alpha(self) -> float:
        return alpha(self.width, self.r, self.gamma0)

    def richness_record(self) -> dict:
        """r, gamma0, n, alpha and alpha/sqrt(n): recorded with every result (spec section 5)."""
        return {"r": self.r, "gamma0": self.gamma0, "width": self.width, "alpha": self.alpha,
                "alpha_over_sqrt_n": finite_richness(self.alpha, self.width), "gauge": self.gauge}


@dataclass(frozen=True)
class Setting:
    """One training run of `net`, every field resolved (no defaults: drivers build it from the settings)."""
    net: Net
    lr: float  # base lr; layer l steps with lr * eta_l
    momentum: float
    weight_decay: float
    optimizer: str  # sgd | adam
    batch: int
    steps: int
    loss: str  # mean | half_sum (model.mse_loss)
    center: bool  # train f - f0
    probe: int  # probe points for dh/dW (0 = off)
    ntk_probe: int  # probe points for the NTK (0 = off)
    log_every: int  # evaluation interval in steps
    ntk_every: int  # NTK measurement interval in steps
    n_eval: int  # training points of the logged train MSE


def net_from(common, **arch) -> Net:
    """A Net with the common bias, gain and seed; `arch` gives the rest (and may give another seed; only the
    mixer has groups)."""
    return Net(**{"bias": common.bias, "gain": common.gain, "seed": common.seed, "groups": None, **arch})


def setting_from(common, net: Net, **run) -> Setting:
    """A Setting with the common optimizer, weight decay, loss and n_eval; `run` gives every other field."""
    return Setting(net=net, optimizer=common.optimizer, weight_decay=common.weight_decay, loss=common.loss,
                   n_eval=common.n_eval, **run)


def build_model(net: Net, data: Data, device, dtype, normals=None) -> ScaledNet:
    gen = torch.Generator().manual_seed(int(net.seed))
    if net.model == "mlp":
        m = MLP(data.d_in, net.width, net.depth, data.k, net.r, net.gamma0, net.gauge, net.bias, net.gain, gen, dtype)
    elif net.model == "mixer":
        c_in, groups = data.x_train.shape[1], net.groups or net.width
        m = MyrtleMixer(c_in, net.width, groups, data.k, net.r, net.gamma0, net.gauge,
                        mixer_fan_ins(c_in, net.width, groups), net.bias, net.gain, gen, dtype)
    else:
        assert net.model == "myrtle5", net.model
        m = Myrtle5(data.x_train.shape[1], net.width, data.k, net.r, net.gamma0, net.gauge, net.bias, net.gain, gen,
                    dtype)
    if normals is not None:
        m.set_from_normals(normals)
    return m.to(device)


def make_optimizer(model: ScaledNet, s: Setting):
    groups = model.param_groups(s.lr, s.weight_decay)
    if s.optimizer == "adam":
        return torch.optim.Adam(groups)
    return torch.optim.SGD(groups, momentum=s.momentum)


def batches(n: int, batch: int, steps: int, seed: int, device):
    """Index batches: a fresh permutation each epoch, identical for every gauge with the same seed."""
    gen = torch.Generator().manual_seed(int(seed) + 1)
    t = 0
    while t < steps:
        # one host-to-device copy per epoch, not per step (the same permutation on every device)
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, batch):
            if t >= steps:
                return
            yield t, perm[i:i + batch]
            t += 1


def predict(model, x, f0=None, chunk: int = 2048):
    with torch.no_grad():
        out = torch.cat([model(x[i:i + chunk]) for i in range(0, len(x), chunk)])
    return out if f0 is None else out - f0


def divergence_message(s: Setting, step: int, loss) -> str:
    n = s.net
    return (f"diverged at step {step}: loss={loss}, lr={s.lr} (base; layer lrs = lr * eta_l), "
            f"richness r={n.r}, gamma0={n.gamma0}, alpha={n.alpha:.4g}, width={n.width}, gauge={n.gauge}; "
            f"lower lr")


class Probe:
    """Fixed probe batch: representations, weights and NTK at init, compared with the current network."""

    def __init__(self, model: ScaledNet, data: Data, s: Setting):
        self.s = s
        self.x = data.x_train[: s.probe]
        self.y = data.y_train[: s.ntk_probe]
        self.xn = data.x_train[: s.ntk_probe]
        with torch.no_grad():
            self.f0, self.h0 = model.forward_all(self.x)
            self.w0 = [w.detach().clone() for w in model.weights]
            self.theta0 = model_ntk(model, self.xn) if s.ntk_probe > 0 else None
            self.w0_op = [measure.spectral_norm(measure.as_matrix_weight(w)) for w in self.w0]

    def init_record(self) -> dict:
        rec = {"f0_norm_rms": float(self.f0.pow(2).sum(-1).mean().sqrt()),
               "h_init_coord": [measure.mean_abs(h) for h in self.h0]}
        if self.theta0 is not None:
            rec["kta_init"] = float(measure.kernel_target_alignment(self.theta0, self.y))
            rec["kta_centered_init"] = float(measure.kernel_target_alignment(self.theta0, self.y, centered=True))
        return rec

    def measure(self, model: ScaledNet, with_ntk: bool) -> dict:
        out = {}
        with torch.no_grad():
            _, hs = model.forward_all(self.x)
            for i, (h, h0) in enumerate(zip(hs, self.h0)):
                out[f"dh_rel_{i + 1}"] = float(measure.rel_change(h.flatten(1), h0.flatten(1)))
            for i, (w, w0, op0) in enumerate(zip(model.weights, self.w0, self.w0_op)):
                dw = measure.as_matrix_weight(w - w0)
                out[f"dW_op_{i + 1}"] = float(measure.spectral_norm(dw, iters=30) / op0)
                out[f"dW_fro_{i + 1}"] = float(dw.norm() / w0.norm())
        if with_ntk and self.theta0 is not None:
            theta = model_ntk(model, self.xn)
            out["ntk_change"] = float(measure.ntk_change(theta, self.theta0))
            out["kta"] = float(measure.kernel_target_alignment(theta, self.y))
            out["kta_centered"] = float(measure.kernel_target_alignment(theta, self.y, centered=True))
        return out


def train(s: Setting, data: Data, device, dtype, log=None, model: ScaledNet | None = None) -> dict:
    """Train with SGD (per-layer lrs) and return curves and final measurements.

    `log(row)` receives each evaluation row. Raises Diverged on a non-finite loss.
    """
    model = model if model is not None else build_model(s.net, data, device, dtype)
    data = data.to(device, dtype)
    opt = make_optimizer(model, s)
    f0_train = predict(model, data.x_train) if s.center else None
    f0_test = predict(model, data.x_test) if s.center else None
    probe = Probe(model, data, s) if s.probe > 0 else None
    n_eval = min(s.n_eval, len(data.x_train))
    eval_steps = set(range(0, s.steps + 1, max(1, s.log_every))) | {s.steps}
    curve = []

    def evaluate(step: int):
        tr = predict(model, data.x_train[:n_eval], None if f0_train is None else f0_train[:n_eval])
        te = predict(model, data.x_test, f0_test)
        row = {"step": step, "train_mse": float(mse_loss(tr, data.y_train[:n_eval], "mean")),
               "test_mse": float(mse_loss(te, data.y_test, "mean"))}
        if probe is not None and step > 0:
            row.update(probe.measure(model, with_ntk=(step % max(1, s.ntk_every) == 0 or step == s.steps)))
        curve.append(row)
        if log is not None:
            log(row)

    evaluate(0)
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    for t, idx in batches(len(data.x_train), s.batch, s.steps, s.net.seed, device):
        f = model(data.x_train[idx])
        if f0_train is not None:
            f = f - f0_train[idx]
        loss = mse_loss(f, data.y_train[idx], s.loss)
        # Non-finite losses are flagged on the device and read at evaluation steps only: a per-step
        # .item() would synchronise a CUDA run every step. The first bad step is kept for the message.
        first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss), t, first_bad)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if t + 1 in eval_steps:
            bad = int(first_bad)
            if bad >= 0:
                raise Diverged(divergence_message(s, bad, "non-finite"))
            evaluate(t + 1)
            if not math.isfinite(curve[-1]["train_mse"]):
                raise Diverged(divergence_message(s, t + 1, curve[-1]["train_mse"]))
    result = {"setting": asdict(s), "richness": s.net.richness_record(), "curve": curve, "final": curve[-1]}
    if probe is not None:
        result["init"] = probe.init_record()
    result["model"] = model
    return result


def run_train(rs, ctx) -> dict:
    """Experiment `train`: one run with the lazy-vs-rich measurements, logged at every evaluation."""
    b, c = rs.block, rs.common
    data = load_for(rs, flatten=b.model == "mlp")
    net = net_from(c, model=b.model, width=b.width, depth=b.depth, r=b.r, gamma0=b.gamma0, gauge=b.gauge)
    s = setting_from(c, net, lr=b.lr, momentum=b.momentum, batch=b.batch, steps=b.steps, center=b.center,
                     probe=b.probe, ntk_probe=b.ntk_probe, log_every=b.log_every, ntk_every=b.ntk_every)
    n_evals = len(set(range(0, s.steps + 1, max(1, s.log_every))) | {s.steps})
    with Progress(n_evals, "richness train", unit="evals") as p:
        def log(row):
            ctx.writer.log(**row)
            p.update(1, test_mse=row["test_mse"])
        res = train(s, data, ctx.device, ctx.dtype, log=log)
    res.pop("model")
    ctx.save_results("train", **res)
    return {"richness": res["richness"], "init": res.get("init"), "final": res["final"], "dataset": data.name,
            "labels": {"ntk_change, kta": "extension (spec sec. 12.1), not a claim of the paper",
                       "dW_op/dW_fro": "extension (spec sec. 12.2); W-ratios of layer l, spectral (op) and Frobenius",
                       "lr": "base lr; layer l steps with lr * eta_l"}}
