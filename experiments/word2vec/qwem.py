"""QWEM training: minibatch SGD on sampled pairs, and full-batch GD on the exact loss.

    train_qwem_sgd(Pij, Pi, t, r, device, callback=None) -> W   (V, d) float64 numpy
    train_qwem_gd(Pij, Pi, t, r, device, callback=None)  -> W

Pij is the (V, V) symmetric joint co-occurrence distribution (float64, sums to 1), Pi the (V,)
unigram distribution; t the Train settings (schedule, reweighting, log_every, compile), r the
Resolved values (d, negatives, steps, lr, batch_size, init_scale, dtype, seed).

callback(step, W, info) is called at step 0, every `log_every` steps and after the last step, with
W a float64 numpy copy of the embedding and info a dict: `loss` (the normalised loss ℒ of spec §5.5;
at step 0 the exact loss of the initial W), `lr`, `steps` (total), `theory_time` (spec §4.5, so
measured and predicted singular values share one axis), `mean_sq_target` and `dt_per_step`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from repro.experiments.common.compile import compiled_or_eager, use_compile
from repro.experiments.common.errors import Diverged

from . import targets, theory
from .models import PairWeights, init_embedding, snapshot
from .sampling import AliasTable, PairSampler

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def qwem_sgd_update(W, I, J, qk, sign, scale_lr):
    """One fused QWEM SGD update on 2B pairs (positives first, then negatives).

    qk: importance weight times 1 (positives) or k_neg (negatives); sign: −1 for positives, +1 for
    negatives, so the per-pair loss is qk(sign·x + x²/4) and its derivative qk(sign + x/2).
    scale_lr = lr/(B|m|) (0-d tensor). Tied: both rows of a pair move. Returns the summed
    un-normalised loss.
    """
    WI, WJ = W[I], W[J]
    x = (WI * WJ).sum(1)
    loss = (qk * (sign * x + 0.25 * x * x)).sum()
    g = (qk * (sign + 0.5 * x) * scale_lr).unsqueeze(1)
    W.index_add_(0, I, -g * WJ)
    W.index_add_(0, J, -g * WI)
    return loss


def exact_loss(W: torch.Tensor, M: torch.Tensor, frob_sq: float, k_neg: float) -> float:
    """ℒ(W) = 1 + ((1+k)/(4‖M*‖²)) (‖WWᵀ − M*‖² − ‖M*‖²), with ‖WWᵀ−M‖² − ‖M‖² = ‖WᵀW‖² − 2 tr(WᵀMW)."""
    return 1.0 + (1.0 + k_neg) / (4.0 * frob_sq) * float(((W.T @ W) ** 2).sum() - 2.0 * (W * (M @ W)).sum())


def _start(Pi, r, device):
    """The seeded generator and the initial table."""
    gen = torch.Generator(device=device).manual_seed(r.seed % 2**63)
    return gen, init_embedding(len(Pi), r.d, r.init_scale, gen, DTYPES[r.dtype], device)


def _time(step, t, r, V, mean_sq):
    return float(theory.theory_time(step, r.lr, V, r.negatives, mean_sq, r.steps, t.lr_decay_at, t.lr_decay))


def _checked(loss: float, step: int, what: str) -> float:
    if not math.isfinite(loss):
        raise Diverged(f"QWEM {what} diverged at step {step} (loss {loss}); lower train.lr or train.dt_per_step")
    return loss


def train_qwem_sgd(Pij, Pi, t, r, device="cpu", callback=None):
    """QWEM by plain SGD on B positive pairs ~ P_ij and B negative pairs ~ P_iP_j per step.

    Per-step loss (spec §4.5/§5.5): ℒ = 1 − (1/B) Σ_b [q⁺(−x + x²/4) + k q⁻(x′ + x′²/4)] / m, with
    the importance weights and normaliser m of `reweight` (models.PairWeights). Its expectation in
    Setting 3.1 is 1 + ((1+k)/(4V²|m|))(‖WWᵀ − M*‖² − ‖M*‖²), so one step is an Euler step of the
    gradient flow of theory.py with Δt = 2η(1+k)/(V²|m|). Tied weights (the QWEM model).
    """
    device = torch.device(device)
    dtype = DTYPES[r.dtype]
    V, k_neg, B, steps = len(Pi), r.negatives, r.batch_size, r.steps
    mean_sq = targets.mean_sq(Pij, Pi, k_neg)
    sampler = PairSampler(Pij, device)
    Pi_t = torch.as_tensor(np.asarray(Pi, dtype=np.float64), device=device)
    uni = AliasTable(Pi, device)
    weights = PairWeights(t.reweight, sampler, Pi_t, k_neg, mean_sq, t.subsample)
    scale = 1.0 / (B * abs(weights.m))  # d ℒ / d(Σ per-pair losses)
    gen, W = _start(Pi, r, device)
    # Per-pair constants of the fused update: positives (first B) −x, negatives k_neg·(+x).
    sign = torch.cat([-torch.ones(B, dtype=dtype, device=device), torch.ones(B, dtype=dtype, device=device)])
    kvec = torch.cat([torch.ones(B, dtype=dtype, device=device), torch.full((B,), k_neg, dtype=dtype, device=device)])
    kernel = compiled_or_eager(qwem_sgd_update, use_compile(t.compile, 2.0 * B * steps))
    info = dict(loss=_initial_loss(Pij, Pi, W, k_neg, mean_sq), lr=r.lr, steps=steps, theory_time=0.0,
                mean_sq_target=mean_sq, dt_per_step=theory.time_per_step(r.lr, V, k_neg, mean_sq))
    if callback is not None:
        callback(0, snapshot(W), info)
    # The loss sum stays on the device and the lr tensor is rebuilt only when the schedule changes it:
    # no host synchronisation or host-to-device copy per step, only at the logging interval.
    loss_sum, loss_n = torch.zeros((), dtype=dtype, device=device), 0
    lr_now, scale_lr = None, None
    for step in range(1, steps + 1):
        lr = theory.lr_at(step - 1, r.lr, steps, t.lr_decay_at, t.lr_decay)
        if lr != lr_now:
            lr_now, scale_lr = lr, torch.tensor(scale * lr, dtype=dtype, device=device)
        i, j = sampler.sample(B, gen)
        # Negatives (i', j') ~ P_i P_j; positives and negatives then share one gather/scatter.
        I = torch.cat([i, uni.draw(B, gen)])
        J = torch.cat([j, uni.draw(B, gen)])
        q = torch.cat([weights.positive(i, j), weights.negative(I[B:], J[B:])]).to(dtype)
        loss_sum += kernel(W, I, J, q * kvec, sign, scale_lr)
        loss_n += 1
        if step % t.log_every == 0 or step == steps:
            info = dict(info, loss=_checked(1.0 + scale * float(loss_sum) / loss_n, step, "SGD"), lr=lr,
                        theory_time=_time(step, t, r, V, mean_sq))
            if callback is not None:
                callback(step, snapshot(W), info)
            loss_sum.zero_()
            loss_n = 0
    return snapshot(W)


def _initial_loss(Pij, Pi, W, k_neg, mean_sq) -> float:
    """The Setting 3.1 loss of the initial table, computed exactly (≈ 1 from a small init)."""
    M = torch.as_tensor(targets.m_star(Pij, Pi, k_neg), dtype=torch.float64)
    return exact_loss(W.detach().to("cpu", torch.float64), M, mean_sq * len(Pi) ** 2, k_neg)


def train_qwem_gd(Pij, Pi, t, r, device="cpu", callback=None):
    """QWEM by full-batch gradient descent on the exact Setting 3.1 loss (spec §3, §4.1).

    ℒ(W) = 1 + ((1+k)/(4‖M*‖²)) (‖WWᵀ − M*‖² − ‖M*‖²) — the expectation of the SGD loss — so
    W ← W + Δt · ½ (M* − WWᵀ) W with Δt = 2η(1+k)/(V²|m|): the same lr means the same theory time
    per step as train_qwem_sgd. Euler is stable while Δt·λ_1 ≲ 1 (settings.resolve picks the lr).
    """
    assert t.reweight == "omniscient", t.reweight  # constant G makes the full gradient a matmul
    device = torch.device(device)
    V, k_neg, steps = len(Pi), r.negatives, r.steps
    M = torch.as_tensor(targets.m_star(Pij, Pi, k_neg), device=device).to(DTYPES[r.dtype])
    frob_sq = float((M.double() ** 2).sum())
    mean_sq = frob_sq / V**2
    _, W = _start(Pi, r, device)
    info = dict(loss=exact_loss(W, M, frob_sq, k_neg), lr=r.lr, steps=steps, theory_time=0.0,
                mean_sq_target=mean_sq, dt_per_step=theory.time_per_step(r.lr, V, k_neg, mean_sq))
    if callback is not None:
        callback(0, snapshot(W), info)
    for step in range(1, steps + 1):
        lr = theory.lr_at(step - 1, r.lr, steps, t.lr_decay_at, t.lr_decay)
        MW = M @ W
        W = W + (theory.time_per_step(lr, V, k_neg, mean_sq) * 0.5) * (MW - W @ (W.T @ W))
        if step % t.log_every == 0 or step == steps:
            # Exact loss of the W handed to the callback.
            info = dict(info, loss=_checked(exact_loss(W, M, frob_sq, k_neg), step, "GD"), lr=lr,
                        theory_time=_time(step, t, r, V, mean_sq))
            if callback is not None:
                callback(step, snapshot(W), info)
    return snapshot(W)
