"""The harness's pair losses on importance-weighted pairs, and their exact population loss (spec §5.5).

Per pair (x = w_i·w_j, tied), a positive pair (i, j) ~ P_ij with weight q⁺ and a negative pair
(i, j) ~ P_iP_j with weight k q⁻ (models.PairWeights, spec §5.4) cost

    sgns:     q⁺ (ln(1+e^{−x}) − ln 2)      and   k q⁻ (ln(1+e^{x}) − ln 2)     (0 at W = 0)
    quartic:  q⁺ (−x + x²/4)                and   k q⁻ (x + x²/4)               (QWEM, spec §2.3)

and the optimised, logged loss is ℒ = 1 − batch-mean(pos + neg)/m, m < 0 the normaliser of the
reweighting. Its expectation over the pair draws is the population loss

    ℒ(W) = 1 + (1/|m|) Σ_ij [A_ij f(−x_ij) + B_ij f(x_ij)],   A = q⁺ P/ΣP,  B = k q⁻ P_iP_j/(ΣP_i)²,

(f the per-pair cost above; P and P_i normalised as the samplers draw them). With S = A + B
(softplus(−x) = softplus(x) − x) the value and the derivative g = ∂ℒ/∂x_ij are

    sgns:     |m| ℒ − |m| = Σ S (softplus(x) − ln 2) − A x,      |m| g = S σ(x) − A
    quartic:  |m| ℒ − |m| = Σ (S − 2A) x + S x²/4,               |m| g = (S − 2A) + S x/2

and ∂ℒ/∂W = 2 g W (A, S symmetric). One step therefore costs the Gram matrix x = WWᵀ and the
product gW: on the CPU a symmetric rank-d update (BLAS syrk, V²d flops, upper triangle only), the
elementwise g on that triangle, and a symmetric product (symm, 2V²d): 3V²d flops against QWEM's
2V²d for M*W (benchmarks/word2vec_sgns_gd.py measures the ratio). Elsewhere (CUDA) plain matmuls.

Theory time (spec §4.5): near x = 0 the sgns cost is exactly half the quartic one, and in Setting
3.1 (S constant = mean(G)) the quartic step is an Euler step of dW/dt = ½(M* − WWᵀ)W with
Δt = 2η mean(S)/|m|. So one step of either loss advances theory time by `time_per_lr` × η with
    time_per_lr = c · mean(S)/|m|,  c = 2 (quartic) or 1 (sgns);
exact for the quartic loss in Setting 3.1, for sgns to first order in x; for other reweightings it
uses the mean of their (non-constant) G, a definition, not a theorem.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import targets
from .models import PairWeights

LOSSES = ("sgns", "quartic")
LN2 = math.log(2.0)
ROWS = 1024  # row block of the dense passes


def pair_cost(x: torch.Tensor, sign: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(cost, d cost/dx) of one pair: sign −1 for positives, +1 for negatives (weights applied by the caller)."""
    if loss == "sgns":
        return torch.nn.functional.softplus(sign * x) - LN2, sign * torch.sigmoid(sign * x)
    assert loss == "quartic", loss
    return sign * x + 0.25 * x * x, sign + 0.5 * x


class DenseJoint:
    """P_ij read from a dense table, as PairWeights reads it from a PairSampler (values, total)."""

    def __init__(self, P: torch.Tensor):
        self.P, self.V = P, P.shape[0]
        self.flat = P.reshape(-1)
        self.total = float(P.sum())

    def values(self, i, j):
        return self.flat[i * self.V + j]


class PairMass:
    """The dense positive mass A and total mass S = A + B of one reweighting (float64 on `device`),
    its normaliser m and time_per_lr. Built in row blocks from models.PairWeights (the one table of
    weights), so A and S are exactly the expectations of what the minibatch trainer draws.
    store=False sums the blocks (for mean(S), time_per_lr) without keeping A and S."""

    def __init__(self, Pij, Pi, reweight: str, k_neg: float, subsample: float, loss: str, device="cpu",
                 store: bool = True):
        assert loss in LOSSES, loss
        P = torch.as_tensor(np.asarray(Pij, np.float64), device=device)
        Pi_t = torch.as_tensor(np.asarray(Pi, np.float64), device=device)
        V = len(Pi_t)
        joint = DenseJoint(P)
        mean_sq = targets.mean_sq(np.asarray(Pij), np.asarray(Pi), k_neg) if reweight == "omniscient" else 0.0
        w = PairWeights(reweight, joint, Pi_t, k_neg, mean_sq, subsample)
        self.A = torch.empty(V, V, dtype=torch.float64, device=device) if store else None
        self.S = torch.empty(V, V, dtype=torch.float64, device=device) if store else None
        cols, pi_n, total_S = torch.arange(V, device=device), Pi_t / Pi_t.sum(), 0.0
        for a in range(0, V, ROWS):
            rows = torch.arange(a, min(a + ROWS, V), device=device)
            I = rows[:, None].expand(-1, V).reshape(-1)
            J = cols[None, :].expand(len(rows), -1).reshape(-1)
            pos = (w.positive(I, J) * P[a:a + len(rows)].reshape(-1) / joint.total).reshape(len(rows), V)
            tot = pos + (k_neg * w.negative(I, J) * (pi_n[I] * pi_n[J])).reshape(len(rows), V)
            total_S += float(tot.sum())
            if store:
                self.A[a:a + len(rows)], self.S[a:a + len(rows)] = pos, tot
        self.loss, self.m, self.V = loss, float(w.m), V
        self.mean_S = total_S / V**2
        self.time_per_lr = (2.0 if loss == "quartic" else 1.0) * self.mean_S / abs(self.m)


def time_per_lr(Pij, Pi, reweight: str, k_neg: float, subsample: float, loss: str, device="cpu") -> float:
    """Theory time per unit learning rate of one harness step (module docstring)."""
    return PairMass(Pij, Pi, reweight, k_neg, subsample, loss, device, store=False).time_per_lr


def _block_terms(x, A, S, loss: str, want_value: bool):
    """In place: x ← |m|·g on one block; returns the block's |m|(ℒ − 1) terms (or None)."""
    value = None
    if loss == "sgns":
        if want_value:
            value = S * (torch.nn.functional.softplus(x) - LN2) - A * x
        x.sigmoid_().mul_(S).sub_(A)
    else:
        if want_value:
            value = (S - 2.0 * A) * x + 0.25 * S * x * x
        x.mul_(0.5).mul_(S).add_(S).sub_(A).sub_(A)
    return value


class Population:
    """ℒ(W) and ∂ℒ/∂W of one PairMass, with a V×V work buffer reused every step.

    gradient(W, want_loss) -> (∂ℒ/∂W, ℒ or None), W (V, d) of the training dtype on the mass's
    device. On the CPU in float32/float64 the BLAS path of the module docstring; else matmuls.
    """

    def __init__(self, mass: PairMass, dtype: torch.dtype):
        self.mass, self.dtype = mass, dtype
        dev = mass.A.device
        self.A, self.S = mass.A.to(dtype), mass.S.to(dtype)
        self.blas = dev.type == "cpu"
        V = mass.V
        if self.blas:
            from scipy.linalg import blas

            p = "d" if dtype == torch.float64 else "s"
            self.syrk, self.symm = getattr(blas, p + "syrk"), getattr(blas, p + "symm")
            self.buf = np.zeros((V, V), dtype=np.float64 if p == "d" else np.float32, order="F")
        else:
            self.buf = torch.empty(V, V, dtype=dtype, device=dev)

    def gradient(self, W: torch.Tensor, want_loss: bool = False):
        inv_m = 1.0 / abs(self.mass.m)
        if not self.blas:
            x = torch.mm(W, W.T, out=self.buf)
            value = _block_terms(x, self.A, self.S, self.mass.loss, want_loss)
            loss = 1.0 + inv_m * float(value.double().sum()) if want_loss else None
            return (2.0 * inv_m) * (x @ W), loss
        Wn = np.asfortranarray(W.numpy())
        self.syrk(1.0, Wn, c=self.buf, overwrite_c=1)  # upper triangle of WWᵀ (F order)
        T = torch.from_numpy(self.buf.T)                # its lower triangle in C order (T[j, i] = x[i, j])
        total = 0.0
        for a in range(0, self.mass.V, ROWS):
            b = min(a + ROWS, self.mass.V)
            value = _block_terms(T[a:b, :b], self.A[a:b, :b], self.S[a:b, :b], self.mass.loss, want_loss)
            if want_loss:  # off-diagonal entries stand for two pairs, the diagonal for one
                sq = value[:, a:b]
                total += 2.0 * float(value[:, :a].double().sum()) + 2.0 * float(torch.tril(sq, -1).double().sum()) \
                    + float(torch.diagonal(sq).double().sum())
        grad = self.symm(2.0 * inv_m, self.buf, Wn, side=0, lower=0)  # reads the upper triangle
        return torch.from_numpy(np.ascontiguousarray(grad)), (1.0 + inv_m * total if want_loss else None)

    def loss(self, W: torch.Tensor) -> float:
        """ℒ(W) exactly (no gradient step taken)."""
        x = (W @ W.T).to(self.dtype)
        value = _block_terms(x, self.A, self.S, self.mass.loss, True)
        return 1.0 + float(value.double().sum()) / abs(self.mass.m)
