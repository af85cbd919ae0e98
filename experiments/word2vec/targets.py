"""Target matrices built from corpus statistics (spec §2.4, §5.4, §7), all float64.

General Ψ-weighted form (k_neg multiplies the negative term):
    G_ij  = Ψ⁺_ij P_ij + k Ψ⁻_ij P_i P_j
    M*_ij = (Ψ⁺_ij P_ij − k Ψ⁻_ij P_i P_j) / (½ G_ij)
Setting 3.1 (Ψ⁺ = Ψ⁻ ∝ 1/(P_ij + k P_i P_j), G constant):
    M*_ij = 2 (P_ij − k P_i P_j) / (P_ij + k P_i P_j) = 2 tanh((PMI_ij − ln k)/2)
PMI_ij = ln(P_ij / (P_i P_j)) with never-co-occurring pairs set to `zero_value` (0 by default,
the usual choice; the spec leaves it open), PPMI = max(PMI, 0).

Work is done in row blocks so that a 10k × 10k target needs no more than one extra V×V array.
"""
from __future__ import annotations

import numpy as np

REWEIGHTINGS = ("omniscient", "sgns", "unigram")


def _row_blocks(V: int, block: int = 1024):
    for a in range(0, V, block):
        yield slice(a, min(a + block, V))


def m_star(Pij: np.ndarray, Pi: np.ndarray, k_neg: float = 1.0) -> np.ndarray:
    """Setting 3.1 target M* = 2(P − k PP)/(P + k PP) ∈ [−2, 2]."""
    V = len(Pi)
    out = np.empty((V, V), np.float64)
    for rows in _row_blocks(V):
        pp = k_neg * np.outer(Pi[rows], Pi)
        p = Pij[rows]
        out[rows] = 2.0 * (p - pp) / (p + pp)
    return out


def m_star_general(Pij: np.ndarray, Pi: np.ndarray, psi_plus, psi_minus, k_neg: float = 1.0):
    """(M*, G) for arbitrary per-pair weights; psi_plus/psi_minus are (V,V) arrays or
    callables rows -> (len(rows), V) block (so rank-one weights need not be materialised)."""
    V = len(Pi)
    M = np.empty((V, V), np.float64)
    G = np.empty((V, V), np.float64)
    for rows in _row_blocks(V):
        wp = psi_plus(rows) if callable(psi_plus) else psi_plus[rows]
        wm = psi_minus(rows) if callable(psi_minus) else psi_minus[rows]
        pos = wp * Pij[rows]
        neg = k_neg * wm * np.outer(Pi[rows], Pi)
        G[rows] = pos + neg
        with np.errstate(invalid="ignore", divide="ignore"):
            M[rows] = np.where(G[rows] > 0, (pos - neg) / (0.5 * G[rows]), 0.0)
    return M, G


def reweighting(mode: str, Pij: np.ndarray, Pi: np.ndarray, k_neg: float = 1.0, subsample_t: float = 1e-5):
    """(Ψ⁺, Ψ⁻) of the authors' reweighting modes (spec §5.4) as block callables.

    omniscient: Ψ⁺ = Ψ⁻ = mean(G)/G with G = P + k PP  (Setting 3.1; mean over all V² entries)
    sgns:       Ψ⁺ = a_i a_j, Ψ⁻ = ½(a_i n_j + a_j n_i); a = min(1, t/P + √(t/P)), n = P^0.75/P, each
                rescaled to unweighted mean 1 over the V words (the spec leaves the mean open)
    unigram:    Ψ⁺ = Ψ⁻ = 1/((V P_i)(V P_j))
    """
    V = len(Pi)
    if mode == "omniscient":
        mean_g = (Pij.sum() + k_neg) / V**2

        def psi(rows):
            return mean_g / (Pij[rows] + k_neg * np.outer(Pi[rows], Pi))
        return psi, psi
    if mode == "sgns":
        r = subsample_t / Pi
        a = np.minimum(1.0, r + np.sqrt(r))
        a = a / a.mean()
        n = Pi ** 0.75 / Pi
        n = n / n.mean()
        return (lambda rows: np.outer(a[rows], a)), (lambda rows: 0.5 * (np.outer(a[rows], n) + np.outer(n[rows], a)))
    if mode == "unigram":
        u = 1.0 / (V * Pi)
        psi = lambda rows: np.outer(u[rows], u)  # noqa: E731
        return psi, psi
    raise ValueError(f"reweighting={mode!r}; valid: {', '.join(REWEIGHTINGS)}")


def pmi(Pij: np.ndarray, Pi: np.ndarray, zero_value: float = 0.0) -> np.ndarray:
    """PMI_ij = ln(P_ij/(P_i P_j)); entries with P_ij = 0 get zero_value (not −∞)."""
    V = len(Pi)
    out = np.empty((V, V), np.float64)
    for rows in _row_blocks(V):
        p = Pij[rows]
        with np.errstate(divide="ignore"):
            block = np.log(p) - np.log(np.outer(Pi[rows], Pi))
        block[p <= 0] = zero_value
        out[rows] = block
    return out


def ppmi(Pij: np.ndarray, Pi: np.ndarray) -> np.ndarray:
    """PPMI = max(PMI, 0) (zero counts → 0)."""
    return np.maximum(pmi(Pij, Pi, 0.0), 0.0, out=None)


def loss_normaliser(M: np.ndarray) -> float:
    """m = −mean(M*²): the authors' loss normaliser in Setting-3.1 mode (spec §4.5)."""
    return -float(np.mean(M * M))
