"""The paper's word2vec: the harness's SGNS loss on importance-weighted pairs (spec §2.2, §5.3–§5.5),
trained two ways on one loss, both on the theory-time axis of spec §4.5.

    train_harness_gd(Pij, Pi, t, h, r, device, callback=None)  -> W   full-batch GD, exact population loss
    train_harness_sgd(Pij, Pi, t, h, r, device, callback=None) -> W   minibatch SGD on sampled pairs

Pij (V, V) and Pi (V,) are the run's cached statistics; t the Train settings (lr schedule,
log_every, subsample, compile), h the Harness settings (loss: sgns | quartic, reweight: sgns |
omniscient | unigram), r the Resolved values (d, negatives, steps, lr, batch_size, init_scale,
dtype, seed). The minibatch loss is the expectation-preserving sample of the full-batch one, so
with the same lr both advance theory time by the same Δt = lr · time_per_lr per step
(sgns_population). This is a different algorithm from sgns.py (word2vec.c's loop on the token
stream, the gensim peer), kept as its own method.

callback(step, W, info) at step 0, every log_every steps and after the last: W a float64 numpy copy,
info `loss` (GD: the exact ℒ of that W; SGD: the mean minibatch ℒ since the last call, exact at
step 0), `lr`, `steps`, `theory_time`, `mean_sq_target` (|m|), `dt_per_step`, `time_per_lr`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from repro.experiments.common.compile import compiled_or_eager, use_compile
from repro.experiments.common.errors import Diverged
from repro.experiments.common.log import logger

from . import targets, theory
from .models import PairWeights, init_embedding, snapshot
from .sampling import AliasTable, PairSampler
from .sgns_population import PairMass, Population, pair_cost

log = logger("word2vec")
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _start(V, r, device):
    """The seeded generator and the initial table (the same draws as qwem.py's for the same seed)."""
    gen = torch.Generator(device=device).manual_seed(r.seed % 2**63)
    return gen, init_embedding(V, r.d, r.init_scale, gen, DTYPES[r.dtype], device)


def _checked(loss: float, step: int, what: str) -> float:
    if not math.isfinite(loss):
        raise Diverged(f"harness SGNS {what} diverged at step {step} (loss {loss}); lower train.lr or train.dt_per_step")
    return loss


def _info(loss, lr, r, t_theory, m, time_per_lr):
    return dict(loss=loss, lr=lr, steps=r.steps, theory_time=t_theory, mean_sq_target=abs(m),
                dt_per_step=r.lr * time_per_lr, time_per_lr=time_per_lr)


def train_harness_gd(Pij, Pi, t, h, r, device="cpu", callback=None, max_halvings: int = 8):
    """Full-batch gradient descent on the exact population loss ℒ(W) (sgns_population.Population):
    W ← W − η ∂ℒ/∂W, one Gram matrix and one V×V by V×d product per step (the CPU default).

    The run covers the theory time that r.steps steps at the scheduled lr would. GD on a smooth loss
    at a stable step descends at every step, so a logged loss above the previous one means the step
    is too large there: under the sgns weights the curvature of the heaviest pairs (max S / mean S ~
    10³ on the Wikipedia sample) exceeds what the mean-normalised step allows once the modes grow.
    Then W and the theory time go back to the last logged point and η is halved for the rest of the
    run (at most max_halvings times, else Diverged): every logged row stays a point of one descending
    trajectory on one time axis, and a smaller Euler step only follows the flow more closely.
    """
    device = torch.device(device)
    mass = PairMass(Pij, Pi, h.reweight, r.negatives, t.subsample, h.loss, device)
    pop = Population(mass, DTYPES[r.dtype])
    _, W = _start(mass.V, r, device)
    dt0 = r.lr * mass.time_per_lr
    t_end = float(np.sum(theory.lr_at(np.arange(r.steps), r.lr, r.steps, t.lr_decay_at, t.lr_decay))) * mass.time_per_lr
    t_theory, scale, n, halvings, last, restored = 0.0, 1.0, 0, 0, None, False
    while True:
        done = t_theory >= t_end * (1 - 1e-12)
        due = (n % t.log_every == 0 or done) and not restored   # a restored point is logged already
        restored = False
        grad, loss = pop.gradient(W, want_loss=due)
        lr = scale * theory.lr_at(int(t_theory / dt0 + 1e-6), r.lr, r.steps, t.lr_decay_at, t.lr_decay)
        if due:
            if last is not None and not loss <= last[2] + 1e-12 * abs(last[2]):
                halvings += 1
                if halvings > max_halvings:
                    raise Diverged(f"harness SGNS GD: the loss still rose after step {last[1]} with the lr halved "
                                   f"{max_halvings} times (x{scale:g}); lower train.lr or train.dt_per_step")
                log(f"harness GD: loss rose to {loss:.6g} at step {n} (from {last[2]:.6g}); back to step {last[1]}, "
                    f"lr x{scale / 2:g} from here (theory time {last[3]:.4g} of {t_end:.4g})")
                W.copy_(last[0])
                n, t_theory, scale, restored = last[1], last[3], scale / 2, True
                continue
            info = _info(_checked(loss, n, "GD"), lr, r, t_theory, mass.m, mass.time_per_lr)
            info["steps"] = n + int(math.ceil((t_end - t_theory) / (lr * mass.time_per_lr) - 1e-9))
            if callback is not None:
                callback(n, snapshot(W), info)
            last = (W.clone(), n, loss, t_theory)
        if done:
            break
        lr = min(lr, (t_end - t_theory) / mass.time_per_lr)   # land on t_end exactly
        W.sub_(grad.to(W.dtype), alpha=lr)
        t_theory += lr * mass.time_per_lr
        n += 1
    return snapshot(W)


def harness_sgd_update(W, I, J, qk, sign, scale_lr, loss: str):
    """One fused SGD update on 2B pairs (positives first, then negatives): cost qk·pair_cost(x),
    both rows of a pair move (tied). scale_lr = lr/(B|m|) (0-d tensor). Returns the summed cost."""
    WI, WJ = W[I], W[J]
    x = (WI * WJ).sum(1)
    cost, dcost = pair_cost(x, sign, loss)
    g = (qk * dcost * scale_lr).unsqueeze(1)
    W.index_add_(0, I, -g * WJ)
    W.index_add_(0, J, -g * WI)
    return (qk * cost).sum()


def train_harness_sgd(Pij, Pi, t, h, r, device="cpu", callback=None):
    """Plain SGD on B positive pairs ~ P_ij and B negative pairs ~ P_iP_j per step (spec §5.3's
    importance-weighted pairs, drawn exactly from the cached statistics as qwem.train_qwem_sgd
    draws them): ℒ_step = 1 − (1/B) Σ_b [q⁺ f(−x_b) + k q⁻ f(x′_b)] / m (the GPU path)."""
    device = torch.device(device)
    dtype = DTYPES[r.dtype]
    V, k_neg, B, steps = len(Pi), r.negatives, r.batch_size, r.steps
    time_per_lr = PairMass(Pij, Pi, h.reweight, k_neg, t.subsample, h.loss, device, store=False).time_per_lr
    sampler = PairSampler(Pij, device)
    Pi_t = torch.as_tensor(np.asarray(Pi, dtype=np.float64), device=device)
    uni = AliasTable(Pi, device)
    mean_sq = targets.mean_sq(Pij, Pi, k_neg) if h.reweight == "omniscient" else 0.0
    weights = PairWeights(h.reweight, sampler, Pi_t, k_neg, mean_sq, t.subsample)
    scale = 1.0 / (B * abs(weights.m))
    gen, W = _start(V, r, device)
    ones = torch.ones(B, dtype=dtype, device=device)
    sign, kvec = torch.cat([-ones, ones]), torch.cat([ones, k_neg * ones])
    kernel = compiled_or_eager(harness_sgd_update, use_compile(t.compile, 2.0 * B * steps))
    if callback is not None:
        exact = Population(PairMass(Pij, Pi, h.reweight, k_neg, t.subsample, h.loss, "cpu"), torch.float64)
        callback(0, snapshot(W), _info(exact.loss(W.detach().to("cpu", torch.float64)), r.lr, r, 0.0, weights.m,
                                       time_per_lr))
        del exact
    loss_sum, loss_n, t_theory = 0.0, 0, 0.0
    for step in range(1, steps + 1):
        lr = theory.lr_at(step - 1, r.lr, steps, t.lr_decay_at, t.lr_decay)
        i, j = sampler.sample(B, gen)
        I = torch.cat([i, uni.draw(B, gen)])
        J = torch.cat([j, uni.draw(B, gen)])
        q = torch.cat([weights.positive(i, j), weights.negative(I[B:], J[B:])]).to(dtype)
        cost = kernel(W, I, J, q * kvec, sign, torch.tensor(scale * lr, dtype=dtype, device=device), h.loss)
        loss_sum += 1.0 + scale * float(cost)
        loss_n += 1
        t_theory += lr * time_per_lr
        if step % t.log_every == 0 or step == steps:
            info = _info(_checked(loss_sum / loss_n, step, "SGD"), lr, r, t_theory, weights.m, time_per_lr)
            if callback is not None:
                callback(step, snapshot(W), info)
            loss_sum, loss_n = 0.0, 0
    return snapshot(W)
