"""The spiked random-matrix picture of a family's task vectors (spec §8, Figs 4 and 6).

Model: R_d = 1 ⟨r⟩ᵀ + E, a rank-one spike (every pair shares the mean task vector) plus noise E whose
rows are i.i.d. with entry variance σ² and live in an effective d_eff-dimensional subspace. Then
(1/d) E Eᵀ = σ² (1/d_eff) Z Zᵀ with Z an N × d_eff Gaussian matrix: a Marchenko–Pastur bulk of
aspect ratio γ = N/d_eff on [σ²(1 − √γ)², σ²(1 + √γ)²], and the spike is an outlier above it.

Fit (the spec's procedure, step by step):
  1. centre: R_c = R_d − 1⟨r⟩ᵀ (removes the spike);
  2. σ² = mean squared entry of R_c;
  3. λ₊ = the top non-outlier eigenvalue of (1/d) R_c R_cᵀ: eigenvalue number `outliers` (0-based)
     of its descending spectrum (the authors' code skips one: outliers = 1; 0 takes the top);
  4. γ̂ = (√(λ₊/σ²) − 1)², d_eff = N/γ̂ (from the MP upper edge σ²(1 + √(N/d_eff))²).
The outlier: the top eigenvalue of the uncentred (1/d) R_d R_dᵀ; its eigenvector "carries the mean
task vector": overlap = (v₁ · ⟨r⟩/‖⟨r⟩‖)², v₁ the top right singular vector of R_d (in R^d, where
⟨r⟩ lives); also (u₁ · 1/√N)², the same statement for the left one (in pair space).
"""
from __future__ import annotations

import numpy as np


def spectrum(R_d: np.ndarray) -> np.ndarray:
    """Eigenvalues of (1/d) R_d R_dᵀ, descending (N,)."""
    d = R_d.shape[1]
    return np.linalg.eigvalsh(R_d @ R_d.T / d)[::-1]


def mp_fit(R_d: np.ndarray, outliers: int) -> dict:
    """σ², λ₊, γ̂, d_eff of the centred task vectors (module docstring, steps 1-4). d_eff is None
    when λ₊ ≤ σ² (no bulk edge above σ²: nothing to fit)."""
    N, d = R_d.shape
    Rc = R_d - R_d.mean(axis=0, keepdims=True)
    sigma2 = float(np.mean(Rc**2))
    lam = spectrum(Rc)
    lam_plus = float(lam[min(outliers, N - 1)])
    ratio = lam_plus / sigma2 if sigma2 > 0 else 0.0
    gamma = (np.sqrt(ratio) - 1.0) ** 2 if ratio > 1.0 else 0.0
    return {"sigma2": sigma2, "lambda_plus": lam_plus, "gamma_hat": float(gamma),
            "d_eff": float(N / gamma) if gamma > 0 else None}


def mp_edges(gamma: float, sigma2: float) -> tuple[float, float]:
    """The Marchenko–Pastur support [σ²(1 − √γ)², σ²(1 + √γ)²]."""
    return sigma2 * (1 - np.sqrt(gamma)) ** 2, sigma2 * (1 + np.sqrt(gamma)) ** 2


def mp_density(lam: np.ndarray, gamma: float, sigma2: float) -> np.ndarray:
    """The MP density of the nonzero eigenvalues (per unit λ) of σ²(1/d_eff) Z Zᵀ, γ = N/d_eff:
    √((λ₊ − λ)(λ − λ₋)) / (2π γ σ² λ) on the support, normalised to min(1, 1/γ) (the rest of the
    mass sits at 0 when γ > 1)."""
    lo, hi = mp_edges(gamma, sigma2)
    lam = np.asarray(lam, np.float64)
    out = np.zeros_like(lam)
    inside = (lam > lo) & (lam < hi) & (lam > 0)
    x = lam[inside]
    out[inside] = np.sqrt((hi - x) * (x - lo)) / (2 * np.pi * gamma * sigma2 * x)
    return out


def spike(R_d: np.ndarray) -> dict:
    """The outlier of (1/d) R_d R_dᵀ and its eigenvectors' squared overlaps with ⟨r⟩ and with 1/√N."""
    N, d = R_d.shape
    lam, U = np.linalg.eigh(R_d @ R_d.T / d)
    u1, top = U[:, -1], float(lam[-1])
    v1 = R_d.T @ u1
    mean = R_d.mean(axis=0)
    nv, nm = float(np.linalg.norm(v1)), float(np.linalg.norm(mean))
    overlap = float((v1 @ mean) ** 2 / (nv**2 * nm**2)) if nv > 0 and nm > 0 else 0.0
    return {"outlier": top, "second": float(lam[-2]) if N > 1 else 0.0, "overlap": overlap,
            "uniformity": float(u1.sum() ** 2 / N)}


def analyse(R_d: np.ndarray, outliers: int) -> dict:
    """Spike and MP fit of one family at one d, with whether the outlier clears the fitted bulk edge."""
    out = {**spike(R_d), **mp_fit(R_d, outliers)}
    edge = mp_edges(out["gamma_hat"], out["sigma2"])[1] if out["d_eff"] is not None else out["lambda_plus"]
    out["bulk_edge"] = float(edge)
    out["separated"] = bool(out["outlier"] > edge)
    return out
