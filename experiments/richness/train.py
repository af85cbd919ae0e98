"""One training run at one point of the richness scale, with the lazy-vs-rich measurements.

Logged at each evaluation step: train/test MSE (mean over examples and outputs, the author's test
MSE) and, on a fixed probe batch, per-layer ||dh||/||h||, ||dW||/||W|| (spectral and Frobenius), and the
empirical NTK's relative change and kernel-target alignment (plain and centred).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from . import measure
from .data import Data
from .model import MLP, Myrtle5, ScaledNet
from .ntk import model_ntk
from .parametrization import alpha, finite_richness


class Diverged(RuntimeError):
    """Non-finite loss: the run stops and is marked failed with this message."""


@dataclass
class Setting:
    """Every knob of one run, resolved (no nulls)."""
    model: str = "mlp"
    width: int = 512
    depth: int = 3
    r: float = 0.5
    gamma0: float = 1.0
    gauge: str = "mup"
    lr: float = 1.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    optimizer: str = "sgd"
    batch: int = 64
    steps: int = 100
    bias: bool = True
    gain: float = 2.0 ** 0.5
    loss: str = "mean"
    center: bool = False
    seed: int = 0
    probe: int = 64
    ntk_probe: int = 64
    log_every: int = 25
    ntk_every: int = 100
    n_eval: int = 1000
    log_steps: list = field(default_factory=list)  # extra evaluation steps (e.g. epoch starts)

    @property
    def alpha(self) -> float:
        return alpha(self.width, self.r, self.gamma0)

    def richness_record(self) -> dict:
        """r, gamma0, n, alpha and alpha/sqrt(n): recorded with every result (spec section 5)."""
        return {"r": self.r, "gamma0": self.gamma0, "width": self.width, "alpha": self.alpha,
                "alpha_over_sqrt_n": finite_richness(self.alpha, self.width), "gauge": self.gauge}


def build_model(s: Setting, data: Data, device, dtype, normals=None) -> ScaledNet:
    gen = torch.Generator().manual_seed(int(s.seed))
    if s.model == "mlp":
        m = MLP(data.d_in, s.width, s.depth, data.k, s.r, s.gamma0, s.gauge, s.bias, s.gain, gen, dtype)
    elif s.model == "myrtle5":
        m = Myrtle5(data.x_train.shape[1], s.width, data.k, s.r, s.gamma0, s.gauge, s.bias, s.gain, gen, dtype)
    else:
        raise ValueError(f"model={s.model!r}")
    if normals is not None:
        m.set_from_normals(normals)
    return m.to(device)


def loss_fn(f: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """'mean': MSE over batch and outputs (author); 'half_sum': (1/2P) sum_i ||f_i - y_i||^2 (spec sec. 10)."""
    sq = (f - y) ** 2
    return sq.mean() if kind == "mean" else 0.5 * sq.sum(-1).mean()


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
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            if t >= steps:
                return
            yield t, perm[i:i + batch].to(device)
            t += 1


def predict(model, x, f0=None, chunk: int = 2048):
    with torch.no_grad():
        out = torch.cat([model(x[i:i + chunk]) for i in range(0, len(x), chunk)])
    return out if f0 is None else out - f0


def divergence_message(s: Setting, step: int, loss: float) -> str:
    return (f"diverged at step {step}: loss={loss}, lr={s.lr} (base; layer lrs = lr * eta_l), "
            f"richness r={s.r}, gamma0={s.gamma0}, alpha={s.alpha:.4g}, width={s.width}, gauge={s.gauge}")


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
    model = model if model is not None else build_model(s, data, device, dtype)
    data = data.to(device, dtype)
    opt = make_optimizer(model, s)
    f0_train = predict(model, data.x_train) if s.center else None
    f0_test = predict(model, data.x_test) if s.center else None
    probe = Probe(model, data, s) if s.probe > 0 else None
    n_eval = min(s.n_eval, len(data.x_train))
    eval_steps = set(range(0, s.steps + 1, max(1, s.log_every))) | set(s.log_steps) | {s.steps}
    curve = []

    def evaluate(step: int):
        tr = predict(model, data.x_train[:n_eval], None if f0_train is None else f0_train[:n_eval])
        te = predict(model, data.x_test, f0_test)
        row = {"step": step, "train_mse": float(((tr - data.y_train[:n_eval]) ** 2).mean()),
               "test_mse": float(((te - data.y_test) ** 2).mean())}
        if probe is not None and step > 0:
            row.update(probe.measure(model, with_ntk=(step % max(1, s.ntk_every) == 0 or step == s.steps)))
        curve.append(row)
        if log is not None:
            log(row)

    evaluate(0)
    for t, idx in batches(len(data.x_train), s.batch, s.steps, s.seed, device):
        f = model(data.x_train[idx])
        if f0_train is not None:
            f = f - f0_train[idx]
        loss = loss_fn(f, data.y_train[idx], s.loss)
        if not math.isfinite(loss.item()):
            raise Diverged(divergence_message(s, t, loss.item()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if t + 1 in eval_steps:
            evaluate(t + 1)
            if not math.isfinite(curve[-1]["train_mse"]):
                raise Diverged(divergence_message(s, t + 1, curve[-1]["train_mse"]))
    result = {"setting": asdict(s), "richness": s.richness_record(), "curve": curve, "final": curve[-1]}
    if probe is not None:
        result["init"] = probe.init_record()
    result["model"] = model
    return result
