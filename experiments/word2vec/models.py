"""The embedding table and what both models weigh their word pairs with.

Both models are a V×d table W (tied: the context table is W itself; untied: a second table C).
For a pair (i, j) the logit is x_ij = w_i·c_j.

- QWEM (spec §2.3, §5.5): positive pairs cost q⁺(−x + x²/4), negative pairs k_neg q⁻(x + x²/4);
  the quartic Taylor expansion of the SGNS loss, times 2, constant dropped (qwem.qwem_sgd_update).
- SGNS (spec §2.2): positive pairs cost ln(1 + e^{−x}), negative pairs ln(1 + e^{x}) (sgns.sgns_step).

Here: the importance weights of spec §5.4 (the one table of reweighting modes), the subsampling
rule, the P^0.75 noise distribution, the init and the float64 snapshot handed to callbacks.
"""
from __future__ import annotations

import numpy as np
import torch

REWEIGHTINGS = ("omniscient", "sgns", "unigram")


def subsample_keep_prob(Pi: np.ndarray, t: float) -> np.ndarray:
    """word2vec.c keep probability a_i = min(1, t/P_i + sqrt(t/P_i)); all ones for t ≤ 0."""
    Pi = np.asarray(Pi, dtype=np.float64)
    if t <= 0:
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

    omniscient (Setting 3.1): q⁺ = q⁻ = mean(G)/G_ij with G = P_ij + k P_iP_j, m = −mean(M*²);
               then q·G is constant, which makes the target M* = 2(P − kPP)/(P + kPP).
    sgns: q⁺ = a_i a_j, q⁻ = ½(a_i n_j + a_j n_i), a = subsampling keep prob, n = P^{0.75}/P, both
          rescaled to an unweighted mean of 1 over the V words (our reading of "mean 1"), m = −0.12.
    unigram: q⁺ = q⁻ = 1/((V P_i)(V P_j)), m = −0.5.
    `sampler` gives P_ij at drawn pairs (`.values(i, j)`) and their total mass (`.total`).
    """

    def __init__(self, mode: str, sampler, Pi: torch.Tensor, k_neg: float, mean_sq: float, subsample: float):
        assert mode in REWEIGHTINGS, mode
        self.mode, self.k_neg, self.Pi, self.sampler = mode, k_neg, Pi, sampler
        V = len(Pi)
        if mode == "omniscient":
            # Σ_ij G_ij / V² with Σ P_ij and Σ P_i taken as given (normally both 1).
            self.mean_G = (float(sampler.total) + k_neg * float(Pi.sum()) ** 2) / V**2
            self.m = -mean_sq
        elif mode == "sgns":
            a = torch.as_tensor(subsample_keep_prob(Pi.cpu().numpy(), subsample), dtype=Pi.dtype, device=Pi.device)
            n = Pi**0.75 / Pi
            self.a, self.n = a / a.mean(), n / n.mean()
            self.m = -0.12
        else:
            self.inv = 1.0 / (V * Pi)
            self.m = -0.5

    def positive(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        if self.mode == "omniscient":
            return self.mean_G / (self.sampler.values(i, j) + self.k_neg * self.Pi[i] * self.Pi[j])
        if self.mode == "sgns":
            return self.a[i] * self.a[j]
        return self.inv[i] * self.inv[j]

    def negative(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        if self.mode == "sgns":
            return 0.5 * (self.a[i] * self.n[j] + self.a[j] * self.n[i])
        return self.positive(i, j)


def init_embedding(V: int, d: int, init_scale: float, generator: torch.Generator, dtype: torch.dtype,
                   device) -> torch.Tensor:
    """W_ij ~ N(0, init_scale²/d) (spec §5.6), drawn in float64 on the CPU (same numbers on any device)."""
    W = torch.randn(V, d, generator=generator, dtype=torch.float64, device="cpu") * (float(init_scale) / np.sqrt(d))
    return W.to(device=device, dtype=dtype)


def snapshot(W: torch.Tensor) -> np.ndarray:
    """A float64 numpy copy of a table (what callbacks and trainers hand back)."""
    return W.detach().to("cpu", torch.float64).numpy().copy()
