"""The two embedding models as losses on word pairs, with hand-written gradients.

Both models are a V×d table W (tied: the context table is W itself; untied: a second table C).
For a pair (i, j) the logit is x_ij = w_i·c_j.

- QWEM (spec §2.3, §5.5): positive pairs cost q⁺(−x + x²/4), negative pairs k_neg q⁻(x + x²/4);
  the quartic Taylor expansion of the SGNS loss, times 2, constant dropped.
- SGNS (spec §2.2): positive pairs cost ln(1 + e^{−x}), negative pairs ln(1 + e^{x}).

Gradients are written out instead of going through autograd: a step is then two gathers, a few
elementwise ops and two scatter-adds (index_add_), which is what makes the trainers fast. The SGNS
minibatch step itself lives in train.py (sgns_step) because it is compiled as one kernel.

Also here: the importance weights of spec §5.4 (reweighting modes), mean(M*²) of the Setting 3.1
target (the loss normaliser), the subsampling rule, the P^0.75 noise distribution and the init.
"""
from __future__ import annotations

import numpy as np
import torch

REWEIGHT_MODES = ("omniscient", "sgns", "unigram")


# ---------------------------------------------------------------- corpus-statistics helpers

def mean_sq_target(Pij: np.ndarray, Pi: np.ndarray, k_neg: float = 1.0, chunk: int = 2048) -> float:
    """mean_ij(M*_ij²) without holding all of M* at once (|m| of spec §4.5)."""
    V = len(Pi)
    total = 0.0
    for a in range(0, V, chunk):
        total += float(np.square(setting31_target_rows(Pij, Pi, k_neg, a, min(a + chunk, V))).sum())
    return total / V**2


def setting31_target_rows(Pij, Pi, k_neg, start, stop) -> np.ndarray:
    """Rows start:stop of M* (Setting 3.1)."""
    P = np.asarray(Pij[start:stop], dtype=np.float64)
    PP = k_neg * np.outer(Pi[start:stop], Pi)
    G = P + PP
    with np.errstate(divide="ignore", invalid="ignore"):
        M = 2.0 * (P - PP) / G
    M[G == 0] = 0.0
    return M


def subsample_keep_prob(Pi: np.ndarray, t: float) -> np.ndarray:
    """word2vec.c keep probability a_i = min(1, t/P_i + sqrt(t/P_i)); all ones for t ≤ 0."""
    Pi = np.asarray(Pi, dtype=np.float64)
    if t is None or t <= 0:
        return np.ones_like(Pi)
    with np.errstate(divide="ignore"):
        r = t / Pi
    return np.minimum(1.0, r + np.sqrt(r))


def negative_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Noise distribution ∝ count^power (word2vec's unigram^{3/4})."""
    w = np.asarray(counts, dtype=np.float64) ** power
    return w / w.sum()


class PairWeights:
    """Importance weights q⁺_ij, q⁻_ij of a reweighting mode (spec §5.4) and its loss normaliser m.

    omniscient (Setting 3.1): q⁺ = q⁻ = mean(G)/G_ij with G = P_ij + k P_iP_j, m = −mean(M*²).
    sgns: q⁺ = a_i a_j, q⁻ = ½(a_i n_j + a_j n_i), a = subsampling keep prob, n = P^{0.75}/P, both
          rescaled to an unweighted mean of 1 over the V words (our reading of "mean 1"), m = −0.12.
    unigram: q⁺ = q⁻ = 1/((V P_i)(V P_j)), m = −0.5.
    """

    def __init__(self, mode: str, Pij_flat_lookup, Pi: torch.Tensor, k_neg: float, mean_sq: float,
                 subsample: float = 1e-5):
        if mode not in REWEIGHT_MODES:
            raise ValueError(f"reweight={mode!r} is invalid; valid choices: {', '.join(REWEIGHT_MODES)}")
        self.mode, self.k_neg, self.Pi, self.lookup = mode, k_neg, Pi, Pij_flat_lookup
        V = len(Pi)
        if mode == "omniscient":
            # Σ_ij G_ij / V² with Σ P_ij and Σ P_i taken as given (normally both 1).
            self.mean_G = (float(Pij_flat_lookup.total) + k_neg * float(Pi.sum()) ** 2) / V**2
            self.m = -mean_sq
        elif mode == "sgns":
            a = torch.as_tensor(subsample_keep_prob(Pi.cpu().numpy(), subsample), dtype=Pi.dtype, device=Pi.device)
            n = Pi**0.75 / Pi
            self.a, self.n = a / a.mean(), n / n.mean()
            self.m = -0.12
        else:
            self.inv = 1.0 / (V * Pi)
            self.m = -0.5

    def positive(self, i: torch.Tensor, j: torch.Tensor, Pij_vals: torch.Tensor | None) -> torch.Tensor:
        if self.mode == "omniscient":
            return self.mean_G / (Pij_vals + self.k_neg * self.Pi[i] * self.Pi[j])
        if self.mode == "sgns":
            return self.a[i] * self.a[j]
        return self.inv[i] * self.inv[j]

    def negative(self, i: torch.Tensor, j: torch.Tensor, Pij_vals: torch.Tensor | None) -> torch.Tensor:
        if self.mode == "omniscient":
            return self.positive(i, j, Pij_vals)
        if self.mode == "sgns":
            return 0.5 * (self.a[i] * self.n[j] + self.a[j] * self.n[i])
        return self.inv[i] * self.inv[j]


# ---------------------------------------------------------------- losses and gradients

def qwem_pair_terms(x_pos, x_neg, q_pos, q_neg, k_neg: float):
    """Per-pair QWEM losses and their derivatives dℓ/dx (spec §5.5, before normalisation)."""
    loss = q_pos * (-x_pos + 0.25 * x_pos**2), k_neg * q_neg * (x_neg + 0.25 * x_neg**2)
    grad = q_pos * (-1.0 + 0.5 * x_pos), k_neg * q_neg * (1.0 + 0.5 * x_neg)
    return loss, grad


def pair_sgd_update(W: torch.Tensor, C: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                    g: torch.Tensor, lr: float, Wi: torch.Tensor | None = None,
                    Cj: torch.Tensor | None = None) -> None:
    """Apply W_i −= lr·g·c_j and C_j −= lr·g·w_i for every pair (sums over repeated words).

    Gathered rows Wi, Cj may be passed in if already computed. For tied weights pass C = W:
    both halves of the gradient of x_ij = w_i·w_j then land on the same table.
    """
    Wi = W[i] if Wi is None else Wi
    Cj = C[j] if Cj is None else Cj
    step = (-lr) * g.unsqueeze(-1)
    W.index_add_(0, i, step * Cj)
    C.index_add_(0, j, step * Wi)


def init_embedding(V: int, d: int, init: str, init_scale: float | None, generator: torch.Generator,
                   dtype: torch.dtype, device) -> torch.Tensor:
    """W_ij ~ N(0, init_scale²/d) (spec §5.6). Default scale: 1e-12 (init=small), 0.1 (init=w2v)."""
    if init not in ("small", "w2v"):
        raise ValueError(f"init={init!r} is invalid; valid choices: small, w2v")
    scale = init_scale if init_scale is not None else (1e-12 if init == "small" else 0.1)
    W = torch.randn(V, d, generator=generator, dtype=torch.float64, device="cpu") * (float(scale) / np.sqrt(d))
    return W.to(device=device, dtype=dtype)
