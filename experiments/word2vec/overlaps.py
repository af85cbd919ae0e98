"""Squared overlaps between the principal directions of two embeddings (spec §9, Fig. 5).

Each embedding is re-rotated first (W = U S Oᵀ → W ← U S, spec §7), so its principal directions are
its left singular vectors U; O_ij = (u_iᵀ ũ_j)² for the top n of each. Two embeddings that learned
the same eigen-features in the same order give a diagonal O; band_fraction is the share of the total
overlap mass within |i − j| ≤ band (1 for identical directions, ≈ (2·band + 1)/n for unrelated ones).
"""
from __future__ import annotations

import numpy as np


def left_singular_vectors(W: np.ndarray, n: int) -> np.ndarray:
    U, _, _ = np.linalg.svd(np.asarray(W, np.float64), full_matrices=False)
    return U[:, :n]


def squared_overlaps(W1: np.ndarray, W2: np.ndarray, n: int = 64) -> np.ndarray:
    """(n, n) matrix of (v_iᵀ ṽ_j)², n cut at both embeddings' widths."""
    n = min(n, W1.shape[1], W2.shape[1])
    return (left_singular_vectors(W1, n).T @ left_singular_vectors(W2, n)) ** 2


def band_fraction(O: np.ndarray, band: int = 2) -> float:
    i, j = np.indices(O.shape)
    total = float(O.sum())
    return float(O[np.abs(i - j) <= band].sum()) / total if total > 0 else float("nan")
