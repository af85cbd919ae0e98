"""Kernel ridge regression's eigenframework (the omniscient risk), shared by rf_sweep and richness.

    eigenstructure(gram, y) -> (λ, v²)   the estimate from an N-point pool (rf spec §2.2):
                                         K_N = U diag(μ) Uᵀ in float64, λ = μ/N, v = Uᵀy/√N
    Spectrum(λ, v², σ²)                  what every eigenframework formula reads
    krr_theory(spec, n, δ)               KRR at n samples and ridge δ (rf spec §3): κ solves
                                         Σ λ_i/(λ_i + κ) + δ/κ = n; E_te = n/(n − Σ L_i²) (Σ (1 − L_i)² v_i² + σ²)

v_i² is summed over outputs, so E_te is the summed (not averaged) squared error of a k-output target. rf_sweep
solves whole (n, k, δ) grids with its own vectorised RF solver (rf_sweep.theory.rf_theory, k = ∞ is this KRR
limit) and uses `krr_theory` as its per-point reference; richness predicts a lazy network's test error with it,
from the eigenstructure of the network's initial NTK on a pool of inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq


@dataclass
class Spectrum:
    """Eigenvalues λ_i (descending), target coefficients v_i² (summed over outputs), noise σ²."""

    eigvals: np.ndarray
    coeffs2: np.ndarray
    noise: float = 0.0

    def __post_init__(self):
        self.eigvals = np.asarray(self.eigvals, dtype=np.float64)
        self.coeffs2 = np.asarray(self.coeffs2, dtype=np.float64)

    @property
    def modes(self) -> int:
        return len(self.eigvals)


def eigenstructure(gram: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(λ, v²), descending, from the (N, N) kernel Gram matrix of N pool points and their targets y (N, k).

    float64 eigendecomposition on gram's device; the tail with λ_i <= 1e-14 λ_1 is dropped (empirical tail
    eigenvalues are rounding noise and can be negative).
    """
    n = gram.shape[0]
    mu, u = torch.linalg.eigh(gram.double())  # ascending
    v = (u.T @ y.to(device=gram.device, dtype=torch.float64)) / n**0.5
    lam = (mu / n).flip(0).cpu().numpy()
    v2 = (v**2).sum(1).flip(0).cpu().numpy()
    keep = lam > lam[0] * 1e-14
    return lam[keep], v2[keep]


def krr_theory(spec: Spectrum, n: float, ridge: float) -> dict[str, float]:
    """KRR eigenframework (rf spec §3) for one point: brentq on ln κ, exact sums. Needs n < spec.modes when
    ridge = 0 (the ridgeless κ > 0 exists only then)."""
    lam, v2 = spec.eigvals, spec.coeffs2
    if ridge > 0:
        f = lambda s: np.sum(lam / (lam + np.exp(s))) + ridge / np.exp(s) - n  # noqa: E731
    else:
        f = lambda s: np.sum(lam / (lam + np.exp(s))) - n  # noqa: E731
    lo, hi = np.log(lam.min()) - 60, np.log(lam.sum() + ridge) + 5
    kappa = np.exp(brentq(f, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500))
    L = lam / (lam + kappa)
    e0 = n / (n - np.sum(L**2))
    test = e0 * (np.sum((1 - L) ** 2 * v2) + spec.noise)
    return {"kappa": kappa, "test_mse": test, "train_mse": (ridge / (n * kappa)) ** 2 * test}
