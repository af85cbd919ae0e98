"""Task vectors of an analogy family in the theoretical embedding, their localisation and SNR (spec §8).

W_d = V*[:, :d] Λ_d^{1/2} (eigen.embedding_from_eigs): column k of W_d is eigen-feature k scaled by
√λ_k, and W_d is the first d columns of W_n for any n ≥ d. So one matrix of task vectors

    R_n = W_n[b] − W_n[a]   (N × n, row i = w_{b_i} − w_{a_i})

serves every d ≤ n: R_d = R_n[:, :d].

- mean task vector ⟨r⟩ = (1/N) R_dᵀ 1; its normalised power p_k = ⟨r⟩_k² / Σ_{j<d} ⟨r⟩_j² says on which
  eigen-features the family's relation lives (localisation: Fig. 4 top shows k < 100);
- SNR(d) = λ_max(G) · rank(G) / Tr(G), G = R_d R_dᵀ (N × N): the top eigenvalue over the mean
  nonzero one; 1 for a rank-one or an isotropic G, large when one direction (the spike) dominates.
  rank(G) is numpy.linalg.matrix_rank's: eigenvalues above λ_max · N · ε (float64).
"""
from __future__ import annotations

import numpy as np

from .eigen import embedding_from_eigs


def task_vectors(eigvals: np.ndarray, eigvecs: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """R_n (N × n) for the n eigenpairs given: rows w_b − w_a of W_n = V Λ^{1/2} (negative λ: zero columns)."""
    return embedding_from_eigs(eigvals, eigvecs[b] - eigvecs[a])


def mean_task_vector(R: np.ndarray) -> np.ndarray:
    """⟨r⟩ = (1/N) Rᵀ 1."""
    return R.mean(axis=0)


def localisation(R: np.ndarray, d: int) -> np.ndarray:
    """p_k = ⟨r⟩_k² / Σ_{j<d} ⟨r⟩_j² for k < d (sums to 1; zeros if ⟨r⟩ vanishes on the first d)."""
    m2 = mean_task_vector(R[:, :d]) ** 2
    total = m2.sum()
    return m2 / total if total > 0 else m2


def localisation_summary(p: np.ndarray, top: int = 5) -> dict:
    """Scalars of one power profile: the share of its `top` largest entries, the number of features
    holding it (participation ratio 1/Σp²), and the largest ones (0-based index, share)."""
    order = np.argsort(-p)
    pr = 1.0 / float(np.sum(p**2)) if p.sum() > 0 else 0.0
    return {"top_share": float(p[order[:top]].sum()), "participation": pr,
            "top_features": [[int(k), float(p[k])] for k in order[:top]]}


def gram_eigvals(R_d: np.ndarray) -> np.ndarray:
    """Eigenvalues of G = R_d R_dᵀ, descending (N,)."""
    return np.linalg.eigvalsh(R_d @ R_d.T)[::-1]


def numerical_rank(eigvals: np.ndarray) -> int:
    """#{λ > λ_max · N · ε}: numpy.linalg.matrix_rank's tolerance, on a PSD spectrum."""
    lam = np.asarray(eigvals)
    top = float(lam.max()) if lam.size else 0.0
    return int(np.sum(lam > top * len(lam) * np.finfo(np.float64).eps)) if top > 0 else 0


def snr(R_d: np.ndarray) -> float:
    """SNR(d) = λ_max(G) · rank(G) / Tr(G) with G = R_d R_dᵀ (0 for R_d = 0)."""
    lam = gram_eigvals(R_d)
    tr = float(lam.sum())
    return float(lam[0]) * numerical_rank(lam) / tr if tr > 0 else 0.0


def snr_curve(R: np.ndarray, grid: list[int]) -> np.ndarray:
    """SNR(d) for every d of the grid (d ≤ R's columns)."""
    return np.array([snr(R[:, :d]) for d in grid])
