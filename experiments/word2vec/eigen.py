"""Top-d eigenpairs (algebraically largest) of a symmetric matrix such as M*, in float64.

Solvers:
- `exact`: LAPACK's MRRR (scipy.linalg.eigh, subset_by_index, driver evr): only the wanted
  eigenvectors are computed, but the tridiagonal reduction is memory-bound and takes minutes at
  V = 10⁴ on a small CPU. The default on CPU.
- `torch`: full torch.linalg.eigh on the device (float64); the default on CUDA, seconds on a GPU.
- `krylov`: restarted block Lanczos (block Krylov subspace + Rayleigh–Ritz, thick restart on the top
  Ritz vectors). All the heavy work is M @ (V × b) matrix products (BLAS-3, or the GPU through torch),
  and it stops when every wanted Ritz pair has relative residual ‖Mv − λv‖/|λ| < tol. M* spans
  about [−V, λ_1] with λ_d close to λ_{d+1}, so it needs many products; measured on the 10k M* it
  is not faster than `exact` on a 2-core CPU (benchmarks/word2vec_eigs.py).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

METHODS = ("auto", "exact", "torch", "krylov")


def top_eigenpairs(M: np.ndarray, d: int, method: str = "auto", tol: float = 1e-6, device=None,
                   seed: int = 0, log=None) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues descending (d,), eigenvectors (V, d)) of symmetric M."""
    V = M.shape[0]
    d = min(int(d), V)
    if method == "auto":
        method = "torch" if device is not None and getattr(device, "type", str(device)) == "cuda" else "exact"
    if method == "torch":
        import torch

        Mt = torch.as_tensor(M, dtype=torch.float64, device=device or "cpu")
        w, v = torch.linalg.eigh(Mt)
        return w[-d:].flip(0).cpu().numpy(), v[:, -d:].flip(1).cpu().numpy()
    if method == "exact":
        w, v = sla.eigh(M, subset_by_index=[V - d, V - 1], driver="evr")
        return w[::-1].copy(), v[:, ::-1].copy()
    if method == "krylov":
        return block_lanczos(M, d, tol=tol, device=device, seed=seed, log=log)
    raise ValueError(f"eigen method {method!r}; valid: {', '.join(METHODS)}")


def _matmul_op(M: np.ndarray, device):
    """X ↦ M X in float64, on the torch device when one is given (the matrix is moved once)."""
    if device is None or str(device) == "cpu":
        return lambda X: M @ X
    import torch

    Mt = torch.as_tensor(M, dtype=torch.float64, device=device)
    return lambda X: (Mt @ torch.as_tensor(X, device=device)).cpu().numpy()


def _orthonormalize(Y: np.ndarray, basis: list[np.ndarray]) -> np.ndarray:
    """Y made orthogonal to the blocks already in `basis` (two passes of block Gram–Schmidt), then QR."""
    for _ in range(2):
        for P in basis:
            Y -= P @ (P.T @ Y)
    return np.linalg.qr(Y)[0]


def block_lanczos(M: np.ndarray, d: int, block: int | None = None, steps: int = 6, tol: float = 1e-6,
                  max_restarts: int = 40, device=None, seed: int = 0, log=None):
    """Top-d eigenpairs by restarted block Krylov iteration (float64 throughout).

    Each cycle builds the Krylov space [X, MX, …, M^steps X] for the current block X (b columns),
    solves the projected eigenproblem, and restarts from the top-b Ritz vectors. Polynomial
    filtering by the Krylov space is what makes it fast when λ_d sits close to λ_{d+1} inside a
    wide spectrum (M* has eigenvalues down to about −V).
    """
    V = M.shape[0]
    b = block or min(V, d + max(32, d // 4))
    steps = min(steps, V // b - 1)       # the Krylov basis must stay well inside R^V
    if steps < 1:
        w, v = sla.eigh(M, subset_by_index=[V - d, V - 1], driver="evr")
        return w[::-1].copy(), v[:, ::-1].copy()
    matmul = _matmul_op(M, device)
    X = np.linalg.qr(np.random.default_rng(seed).standard_normal((V, b)))[0]
    w = vecs = None
    for cycle in range(max_restarts):
        basis, images = [X], []
        for _ in range(steps):
            Z = matmul(basis[-1])
            images.append(Z)
            basis.append(_orthonormalize(Z.copy(), basis))
        images.append(matmul(basis[-1]))
        Q, MQ = np.hstack(basis), np.hstack(images)
        T = Q.T @ MQ
        T = 0.5 * (T + T.T)
        theta, U = sla.eigh(T, subset_by_index=[T.shape[0] - b, T.shape[0] - 1])
        theta, U = theta[::-1], U[:, ::-1]
        X = Q @ U                                   # top-b Ritz vectors (orthonormal)
        resid = np.linalg.norm(MQ @ U[:, :d] - X[:, :d] * theta[:d], axis=0) / np.maximum(np.abs(theta[:d]), 1e-300)
        w, vecs = theta[:d], X[:, :d]
        if log is not None:
            log(f"block Lanczos cycle {cycle + 1}: max relative residual {resid.max():.2e}")
        if resid.max() < tol:
            break
    return w.copy(), vecs.copy()


def subspace_overlap(A: np.ndarray, B: np.ndarray) -> float:
    """Mean squared cosine of the principal angles between span(A) and span(B) (1 = same subspace)."""
    Qa, Qb = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    s = np.linalg.svd(Qa.T @ Qb, compute_uv=False)
    return float(np.mean(s**2) * len(s) / max(Qa.shape[1], Qb.shape[1]))


def embedding_from_eigs(w: np.ndarray, v: np.ndarray, d: int | None = None) -> np.ndarray:
    """The closed form W = V*[:, :d] Λ_d^{1/2}; negative eigenvalues give zero columns (best PSD rank-d)."""
    d = len(w) if d is None else d
    return v[:, :d] * np.sqrt(np.clip(w[:d], 0.0, None))
