"""Ridge regression for every ridge from one factorisation (spec §5.3).

The factorisation is the eigendecomposition of the smaller Gram matrix — FFᵀ (n×n) when n ≤ k,
FᵀF (k×k) when n > k — which gives the same singular values s² = μ and singular vectors as the
thin SVD of F. On CPU LAPACK an SVD of a wide 256 × 10⁴ matrix is 30-70x slower than forming
and diagonalising its Gram matrix, and in float64 the squared condition number costs nothing at the
ridges we use; tests check every ridge against a direct solve. After the O(n k min(n, k))
factorisation each ridge costs O((n + n_te) min(n, k)):

  n ≤ k:  c = Uᵀy,  train fit U diag(μ/(μ+δ)) c,  test fit (F_te Fᵀ U) diag(1/(μ+δ)) c
  n > k:  b = Vᵀ Fᵀ y,  fits (F V) diag(1/(μ+δ)) b  and  (F_te V) diag(1/(μ+δ)) b

δ = 0 keeps 1/μ above a rank cut-off μ_max · max(n, k) · eps and drops the rest (least squares for
n > k, minimum-norm interpolation for n < k). The ridge is added to the unnormalised Gram (no 1/n).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

SMALL = 512  # below this size a CPU eigensolver is fastest on one thread


@contextmanager
def _threads_for(size: int, device: torch.device):
    """One CPU thread for small eigendecompositions: LAPACK's threading only adds synchronisation
    there, and on a busy machine it made 100 × 100 problems ~100x slower (measured)."""
    if device.type != "cpu" or size >= SMALL:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def eigh(gram: torch.Tensor):
    with _threads_for(gram.shape[0], gram.device):
        return torch.linalg.eigh(gram)


def inverse_filter(mu: torch.Tensor, ridges: torch.Tensor, cutoff: float) -> torch.Tensor:
    """(r, R) matrix of 1/(μ + δ), with the ridgeless column cut off below `cutoff`."""
    d = ridges[None, :]
    keep = (mu > cutoff)[:, None]
    ridgeless = torch.where(keep, 1.0 / torch.where(keep, mu[:, None], torch.ones_like(mu[:, None])), torch.zeros_like(d))
    return torch.where(d > 0, 1.0 / (mu[:, None] + d), ridgeless)


def _cutoff(mu: torch.Tensor, n: int, k: int) -> float:
    return float(mu.max().clamp_min(0) * max(n, k) * torch.finfo(mu.dtype).eps) if mu.numel() else 0.0


def _apply(basis: torch.Tensor, filt: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """basis @ diag(filt[:, r]) @ coef for every ridge r, as one GEMM: (R, N, C)."""
    r, R = filt.shape
    weights = (filt[:, :, None] * coef[:, None, :]).reshape(r, -1)  # (r, R·C)
    return (basis @ weights).reshape(basis.shape[0], R, -1).permute(1, 0, 2)


def _fit(f_tr: torch.Tensor, y_tr: torch.Tensor, f_x: torch.Tensor, ridges: torch.Tensor):
    """Fitted values on the training set and at f_x for every ridge: (R, n, C), (R, N, C)."""
    n, k = f_tr.shape
    if n <= k:
        mu, u = eigh(f_tr @ f_tr.T)
        inv = inverse_filter(mu, ridges, _cutoff(mu, n, k))  # (n, R)
        c = u.T @ y_tr
        return _apply(u, inv * mu[:, None], c), _apply(f_x @ (f_tr.T @ u), inv, c)
    mu, v = eigh(f_tr.T @ f_tr)
    inv = inverse_filter(mu, ridges, _cutoff(mu, n, k))  # (k, R)
    b = v.T @ (f_tr.T @ y_tr)
    return _apply(f_tr @ v, inv, b), _apply(f_x @ v, inv, b)


def ridge_errors(f_tr: torch.Tensor, y_tr: torch.Tensor, f_te: torch.Tensor, y_te: torch.Tensor,
                 ridges: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test MSE (summed over outputs, averaged over samples) for every ridge: two (R,) tensors."""
    fit_tr, fit_te = _fit(f_tr, y_tr, f_te, ridges)
    train = ((fit_tr - y_tr[None]) ** 2).sum(dim=(1, 2)) / y_tr.shape[0]
    test = ((fit_te - y_te[None]) ** 2).sum(dim=(1, 2)) / y_te.shape[0]
    return train, test


def ridge_predictions(f_tr: torch.Tensor, y_tr: torch.Tensor, f_x: torch.Tensor, ridges: torch.Tensor) -> torch.Tensor:
    """Predictions at f_x for every ridge from one factorisation: (R, N, C)."""
    return _fit(f_tr, y_tr, f_x, ridges)[1]
