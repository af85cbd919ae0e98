"""Kernel ridge regression at every ridge from one eigendecomposition (spec §5.3, kernel form), and the
noisy one-hot labels of the Fig. 2 experiment (spec §10).

    KernelRidge(K_tr, K_te_tr).errors(y_tr, y_te, ridges) -> (train MSE (R,), test MSE (R,))

K_tr = Q diag(μ) Qᵀ once (float64, on K's device); then with c = Qᵀ y_tr and the filter
f_a(δ) = 1/(μ_a + δ) (ridge.inverse_filter: at δ = 0, 1/μ above the rank cut-off μ_max·n·eps, else 0):

  test predictions   (K_te,tr Q) diag(f) c          one GEMM over all ridges and outputs
  train residual     n·E_tr = Σ_a (1 − μ_a f_a)² ‖c_a‖²   (δ/(μ+δ) for δ > 0; 0 or 1 at δ = 0)

The residual form is exact because Q is a full orthonormal basis of the training space, and avoids
forming ŷ_tr. Errors are summed over outputs and averaged over points (spec §1.4). Cost: the n³
eigendecomposition, one n_te·n² product, then O(n_te·n·R·C) for all R ridges.

    noisy_labels(onehot, variance, generator) -> labels

one-hot rows plus N(0, variance) noise on every output (variance = σ²_rel · base_mse / C, so the
noise summed over the C outputs is σ²_rel · base_mse), each row then renormalised to unit norm.
"""
from __future__ import annotations

import numpy as np
import torch

from .ridge import inverse_filter

ONE_THREAD_MAX = 2048  # CPU eigendecompositions up to this size run on one thread (see _eigh)


def _eigh(k: torch.Tensor):
    """torch.linalg.eigh; on CPU up to ONE_THREAD_MAX on one thread: on the shared 2-core machine a
    1000 × 1000 float64 eigh took 0.47 s on one thread and 9.6 s on two (2000: 5.3 s vs 26 s), as
    ridge.eigh found for small Gram matrices."""
    if k.device.type != "cpu" or k.shape[0] > ONE_THREAD_MAX:
        return torch.linalg.eigh(k)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.linalg.eigh(k)
    finally:
        torch.set_num_threads(before)


class KernelRidge:
    """One training set's eigendecomposition, reused for every label set and ridge."""

    def __init__(self, k_tr: torch.Tensor, k_te_tr: torch.Tensor):
        mu, self.q = _eigh(k_tr.double())
        self.mu = mu.clamp_min(0.0)  # rounding makes tail eigenvalues slightly negative
        self.n = k_tr.shape[0]
        self.cutoff = float(self.mu.max() * self.n * torch.finfo(torch.float64).eps)
        self.basis = k_te_tr.double() @ self.q  # (n_te, n)

    @property
    def top_eigenvalue(self) -> float:
        return float(self.mu.max())

    def errors(self, y_tr: torch.Tensor, y_te: torch.Tensor, ridges: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Train and test MSE for every ridge (two (R,) arrays)."""
        filt = inverse_filter(self.mu, ridges, self.cutoff)  # (n, R)
        c = self.q.T @ y_tr  # (n, C)
        train = (((1.0 - self.mu[:, None] * filt) ** 2) * (c * c).sum(1, keepdim=True)).sum(0) / self.n
        r, C = filt.shape[1], c.shape[1]
        pred = (self.basis @ (filt[:, :, None] * c[:, None, :]).reshape(self.n, r * C)).reshape(-1, r, C)
        test = ((pred - y_te[:, None, :]) ** 2).sum(dim=(0, 2)) / y_te.shape[0]
        return train.cpu().numpy(), test.cpu().numpy()


def noisy_labels(onehot: torch.Tensor, variance: float, generator: torch.Generator) -> torch.Tensor:
    """One-hot rows + N(0, variance) per output, each row renormalised to unit norm (spec §10)."""
    noise = torch.randn(onehot.shape, generator=generator, dtype=torch.float64).to(onehot.device)
    y = onehot + noise * variance**0.5
    return y / torch.linalg.vector_norm(y, dim=1, keepdim=True)


def ridge_grid(top_eigenvalue: float, n: int, num: int, ridgeless: bool) -> np.ndarray:
    """The authors' CNTK grid (spec §5.2): `num` log-spaced ridges from
    10^(round(log10(λ_max/n^1.5)) − 1) to 10^(round(log10 λ_max) + 2), λ_max the top eigenvalue of
    the unnormalised training kernel; δ = 0 first when ridgeless."""
    lo = round(np.log10(top_eigenvalue / n**1.5)) - 1
    hi = round(np.log10(top_eigenvalue)) + 2
    vals = np.logspace(lo, hi, num)
    return np.concatenate([[0.0], vals]) if ridgeless else vals
