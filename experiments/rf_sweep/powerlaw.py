"""Closed forms for power-law tasks in the KRR limit (spec §7; continuum approximation).

λ_i = i^-α, v_i² = i^-β, admissible for α > 1 and 1 < β < 2α + 1. With s = √R (R = E_tr/E_te):

  E_te(R) ≈ C_n [(1 − s)^(1−β) + α σ²_rel] / (1 + (α − 1) s)
  C_n     = π^β (α − β + 1) sin(π/α) / [sin(π(β − 1)/α) (α sin(π/α))^β] · n^-(β−1)

σ²_rel is the noise relative to the ridgeless noiseless test risk at the same n.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def admissible(alpha: float, beta: float) -> bool:
    return alpha > 1 and 1 < beta < 2 * alpha + 1


def c_n(alpha: float, beta: float, n: float) -> float:
    """Ridgeless, noiseless test risk E_te|δ=σ=0 at n samples."""
    s = np.sin(np.pi / alpha)
    return (np.pi**beta * (alpha - beta + 1) * s / (np.sin(np.pi * (beta - 1) / alpha) * (alpha * s) ** beta)
            * n ** (-(beta - 1)))


def risk_vs_fitting_ratio(R, alpha: float, beta: float, noise_rel: float, n: float = 1.0):
    """E_te as a function of the fitting ratio R ∈ [0, 1)."""
    s = np.sqrt(np.asarray(R, dtype=np.float64))
    return c_n(alpha, beta, n) * ((1 - s) ** (1 - beta) + alpha * noise_rel) / (1 + (alpha - 1) * s)


def optimal_fitting_ratio(alpha: float, beta: float, noise_rel: float) -> float:
    """R* = s*², s* ∈ [0, 1) solving (β−1)(1+(α−1)s) = (α−1)[(1−s) + α σ²_rel (1−s)^β], or 0."""
    def g(s):
        return (beta - 1) * (1 + (alpha - 1) * s) - (alpha - 1) * ((1 - s) + alpha * noise_rel * (1 - s) ** beta)

    if g(0.0) >= 0:
        return 0.0  # zero ridge (interpolation) is optimal
    return brentq(g, 0.0, 1.0 - 1e-15, xtol=1e-14) ** 2


def zero_ridge_optimal(alpha: float, beta: float, noise_rel: float) -> bool:
    """Interpolation is optimal iff σ²_rel ≤ (β − α)/(α(α − 1))."""
    return noise_rel <= noise_threshold(alpha, beta)


def noise_threshold(alpha: float, beta: float) -> float:
    """(β − α)/(α(α − 1)): zero ridge is optimal iff σ²_rel is at most this (negative: never, as β < α)."""
    return (beta - alpha) / (alpha * (alpha - 1))


def rescaled_to(curve: np.ndarray, target_min: float) -> np.ndarray:
    """The closed form times (min of experiment)/(min of closed form): Fig. 2 predicts only the shape
    (spec §7.3), so each noise level's line is matched to its measured minimum."""
    curve = np.asarray(curve, dtype=np.float64)
    return curve * (target_min / np.nanmin(curve))
