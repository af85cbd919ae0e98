"""Target matrices built from corpus statistics (spec §2.4, §5.4, §7), all float64.

The general Ψ-weighted target is M*_ij = (Ψ⁺P_ij − kΨ⁻P_iP_j)/(½G_ij), G_ij = Ψ⁺P_ij + kΨ⁻P_iP_j;
the importance weights Ψ of each reweighting mode are models.PairWeights. In Setting 3.1
(Ψ⁺ = Ψ⁻ ∝ 1/(P_ij + k P_i P_j), G constant):
    M*_ij = 2 (P_ij − k P_i P_j) / (P_ij + k P_i P_j) = 2 tanh((PMI_ij − ln k)/2)
PMI_ij = ln(P_ij / (P_i P_j)) with never-co-occurring pairs set to `zero_value` (0 by default,
the usual choice; the spec leaves it open), PPMI = max(PMI, 0).

Work is done in row blocks so that a 10k × 10k target needs no more than one extra V×V array.
"""
from __future__ import annotations

import numpy as np


def _row_blocks(V: int, block: int = 1024):
    for a in range(0, V, block):
        yield slice(a, min(a + block, V))


def m_star_rows(Pij: np.ndarray, Pi: np.ndarray, k_neg: float, rows: slice) -> np.ndarray:
    """Rows `rows` of the Setting 3.1 target M* = 2(P − k PP)/(P + k PP) ∈ [−2, 2] (0 where G = 0)."""
    P = np.asarray(Pij[rows], dtype=np.float64)
    PP = k_neg * np.outer(Pi[rows], Pi)
    G = P + PP
    with np.errstate(divide="ignore", invalid="ignore"):
        M = 2.0 * (P - PP) / G
    M[G == 0] = 0.0
    return M


def m_star(Pij: np.ndarray, Pi: np.ndarray, k_neg: float) -> np.ndarray:
    """The Setting 3.1 target M*, (V, V) float64."""
    V = len(Pi)
    out = np.empty((V, V), np.float64)
    for rows in _row_blocks(V):
        out[rows] = m_star_rows(Pij, Pi, k_neg, rows)
    return out


def mean_sq(Pij: np.ndarray, Pi: np.ndarray, k_neg: float) -> float:
    """mean_ij(M*_ij²) = |m| of spec §4.5, without holding all of M* at once."""
    V = len(Pi)
    return sum(float(np.square(m_star_rows(Pij, Pi, k_neg, rows)).sum()) for rows in _row_blocks(V, 2048)) / V**2


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
