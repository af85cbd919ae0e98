"""The task's eigenstructure (λ_i, v_i²) for the theory.

Gaussian task: exact power law. Real data: the spec §2.2 estimate from N pool points,
K_N = U diag(μ) Uᵀ in float64, λ = μ/N, v = Uᵀy/√N (v_i² summed over outputs), with the
non-positive tail dropped; cached on disk (common.cache) keyed by dataset, N, kernel and seed.
"""
from __future__ import annotations

import numpy as np
import torch

from repro.experiments.common.cache import cached
from repro.experiments.common.krr import eigenstructure

from .features import kernel


def estimate(x: torch.Tensor, y: torch.Tensor, kind: str, weight_var: float, device) -> tuple[np.ndarray, np.ndarray]:
    """(λ, v²) from the kernel Gram matrix of the given points (float64 eigendecomposition)."""
    xg = x.to(device=device, dtype=torch.float64)
    return eigenstructure(kernel(xg, xg, kind, weight_var), y)


def cached_estimate(name: str, x: torch.Tensor, y: torch.Tensor, kind: str, weight_var: float, seed: int,
                    device) -> tuple[np.ndarray, np.ndarray]:
    """`estimate`, through the checked on-disk cache keyed by everything the spectrum depends on."""
    parts = dict(version=1, dataset=name, n=int(x.shape[0]), kind=kind, weight_var=weight_var, seed=seed,
                 checksum=float(x[:, :8].double().sum()), ysum=float(y.double().sum()))

    def compute():
        lam, v2 = estimate(x, y, kind, weight_var, device)
        return {"eigvals": lam, "coeffs2": v2}

    z = cached("rf_sweep_spectra", parts, compute)
    return z["eigvals"], z["coeffs2"]
