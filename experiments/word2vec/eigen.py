"""Top-d eigenpairs (algebraically largest) of a symmetric matrix such as M*, in float64.

Solvers:
- `exact`: LAPACK's MRRR (scipy.linalg.eigh, subset_by_index, driver evr): only the wanted
  eigenvectors are computed, but the tridiagonal reduction is memory-bound: ~60 s at V = 10⁴ on a
  2-core CPU. The default for small matrices.
- `torch`: full torch.linalg.eigh on the device (float64); the default on CUDA, seconds on a GPU.
- `krylov`: restarted block Lanczos (block Krylov subspace + Rayleigh–Ritz, thick restart on the top
  Ritz vectors), float32 products first and float64 to finish. All the heavy work is M @ (V × b)
  matrix products (BLAS-3, or the GPU through torch); it stops when every wanted Ritz pair has
  relative residual ‖Mv − λv‖/|λ| < tol (the eigenvalues are then good to ~tol²). The default on
  CPU for V ≥ 2000: 25 s for the top 200 of the 10k M* at tol 1e-5, 30 s at 1e-6, vs 73-80 s for
  `exact` (2-core CPU, benchmarks/word2vec_eigs.py).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla
import torch

from repro.experiments.common.cache import cached
from repro.experiments.common.log import logger

log = logger("word2vec")


def resolve_method(method: str, V: int, d: int, device=None) -> str:
    """What `auto` means: torch on CUDA; on CPU krylov for large matrices with d ≪ V, else exact."""
    if method != "auto":
        return method
    if device is not None and getattr(device, "type", str(device)) == "cuda":
        return "torch"
    return "krylov" if V >= 2000 and 8 * d <= V else "exact"


def top_eigenpairs(M: np.ndarray, d: int, method: str = "auto", tol: float = 1e-5, device=None,
                   seed: int = 0, log=None) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues descending (d,), eigenvectors (V, d)) of symmetric M."""
    V = M.shape[0]
    d = min(int(d), V)
    method = resolve_method(method, V, d, device)
    if method == "torch":
        import torch

        Mt = torch.as_tensor(M, dtype=torch.float64, device=device or "cpu")
        w, v = torch.linalg.eigh(Mt)
        return w[-d:].flip(0).cpu().numpy(), v[:, -d:].flip(1).cpu().numpy()
    if method == "exact":
        w, v = sla.eigh(M, subset_by_index=[V - d, V - 1], driver="evr")
        return w[::-1].copy(), v[:, ::-1].copy()
    assert method == "krylov", method
    return block_lanczos(M, d, tol=tol, device=device, seed=seed, log=log)


def _orthonormalize(Y, Q, b: int, blockwise: bool = False):
    """Y made orthogonal to span(Q) by two passes of block Gram–Schmidt, then QR. Each pass projects
    against the whole basis at once (one GEMM pair), or, blockwise, against one b-column block at a
    time, each seeing the previous ones' updates (modified Gram–Schmidt order: more accurate in float32)."""
    blocks = [Q[:, i:i + b] for i in range(0, Q.shape[1], b)] if blockwise else [Q]
    for _ in range(2):
        for P in blocks:
            Y -= P @ (P.T @ Y)
    return torch.linalg.qr(Y)[0]


def _ritz(Q, MQ, b: int, d: int, T=None):
    """Rayleigh–Ritz on span(Q): top-b Ritz values and vectors X = QU, their images MQ·U, and the
    top-d relative residuals ‖Mx − θx‖/|θ| (from the true images, so a converged verdict never rests
    on T), all in Q's precision. T = QᵀMQ unless the caller has it."""
    T = Q.T @ MQ if T is None else T
    theta, U = torch.linalg.eigh(0.5 * (T + T.T))
    theta, U = theta[-b:].flip(0), U[:, -b:].flip(1)
    X, MX = Q @ U, MQ @ U
    resid = torch.linalg.vector_norm(MX[:, :d] - X[:, :d] * theta[:d], dim=0) / theta[:d].abs().clamp_min(1e-30)
    return theta.double(), X, MX, float(resid.max())


def _block_tridiagonal(Q, MQ, b: int, blocks: int):
    """QᵀMQ of a block Krylov basis: M·Q_j lies in span(Q_0 … Q_{j+1}) by construction, so only the
    diagonal and first off-diagonal blocks are nonzero (b²V flops each instead of the (blocks·b)²V
    of the full product, which cost as much as the products with M)."""
    T = torch.zeros(blocks * b, blocks * b, dtype=Q.dtype, device=Q.device)
    for i in range(blocks):
        s, n = slice(i * b, (i + 1) * b), slice((i + 1) * b, (i + 2) * b)
        T[s, s] = Q[:, s].T @ MQ[:, s]
        if i + 1 < blocks:
            T[n, s] = Q[:, n].T @ MQ[:, s]
            T[s, n] = T[n, s].T
    return T


def _krylov_cycle(A, X, MX, steps: int, b: int, d: int, full_projection: bool = False):
    """One restart cycle in A's dtype: basis [X, AX, …, A^steps X] (orthonormalised) in one
    preallocated block, then Rayleigh–Ritz. MX, when known from the previous cycle's Ritz step,
    saves one product. full_projection: blockwise Gram–Schmidt and the whole QᵀMQ instead of its
    block-tridiagonal band, for the cycles near float32's floor, where the dropped rounding-level
    terms start to matter (10k M*: float32 plateau 2.1-2.3e-5 with them, 2.7-2.8e-5 without)."""
    V, width = X.shape[0], (steps + 1) * b
    Q = torch.empty(V, width, dtype=A.dtype, device=A.device)
    MQ = torch.empty_like(Q)
    Q[:, :b] = X
    MQ[:, :b] = A @ Q[:, :b] if MX is None else MX
    for j in range(1, steps + 1):
        lo, hi = (j - 1) * b, j * b
        Q[:, hi:hi + b] = _orthonormalize(MQ[:, lo:hi].clone(), Q[:, :hi], b, blockwise=full_projection)
        MQ[:, hi:hi + b] = A @ Q[:, hi:hi + b]
    return _ritz(Q, MQ, b, d, None if full_projection else _block_tridiagonal(Q, MQ, b, steps + 1))


def block_lanczos(M: np.ndarray, d: int, block: int | None = None, steps: int = 6, tol: float = 1e-6,
                  max_restarts: int = 40, device=None, seed: int = 0, log=None, mixed: bool = True):
    """Top-d eigenpairs by restarted block Krylov iteration; eigenpairs are float64.

    Each cycle builds the Krylov space [X, MX, …, M^steps X] for the current block X (b columns),
    solves the projected eigenproblem, and restarts from the top-b Ritz vectors. Polynomial
    filtering by the Krylov space is what makes it fast when λ_d sits close to λ_{d+1} inside a
    wide spectrum (M* has eigenvalues down to about −V).

    mixed: the cycles run in float32 (twice the GEMM rate, half the memory traffic) until the
    residual is within 3× of float32's floor ε₃₂‖M‖/|λ_d| or stalls; one float64 Rayleigh–Ritz on the
    block then measures the residual in float64, and float64 cycles finish if it is above tol.
    All linear algebra goes through torch: on a loaded CPU, numpy/scipy's threaded OpenBLAS
    LAPACK calls were measured ~25× slower than torch's for the same 1750 × 1750 eigh.
    """
    V = M.shape[0]
    b = block or min(V, d + max(32, d // 4))
    steps = min(steps, V // b - 1)       # the Krylov basis must stay well inside R^V
    if steps < 1:
        w, v = sla.eigh(M, subset_by_index=[V - d, V - 1], driver="evr")
        return w[::-1].copy(), v[:, ::-1].copy()
    dev = torch.device(device or "cpu")
    M64 = torch.as_tensor(M, dtype=torch.float64, device=dev)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    X = torch.linalg.qr(torch.randn(V, b, generator=gen, dtype=torch.float64).to(dev))[0]
    MX, resid, cycle = None, None, 0
    if mixed:
        M32 = M64.float()
        # float32 rounding of M·x limits the relative residual to ~ε₃₂‖M‖/|λ_d| (‖M‖_F bounds ‖M‖₂)
        norm, prev, floor = float(torch.linalg.matrix_norm(M64)), np.inf, 0.0
        while cycle < max_restarts:
            cycle += 1
            theta, X, MX, resid = _krylov_cycle(M32, X, MX, steps, b, d, full_projection=prev < 100 * floor)
            _log(log, f"block Lanczos cycle {cycle} (float32): max relative residual {resid:.2e}")
            floor = float(np.finfo(np.float32).eps) * norm / abs(float(theta[d - 1]))
            if resid < max(tol, 3 * floor) or resid > 0.5 * prev:      # converged, at or stalling near the floor
                break
            prev = resid
        del M32
        Q = torch.linalg.qr(X.double())[0]
        theta, X, MX, resid = _ritz(Q, M64 @ Q, b, d)
        _log(log, f"float64 Rayleigh-Ritz on the float32 block: max relative residual {resid:.2e}")
    while (resid is None or resid >= tol) and cycle < max_restarts:
        cycle += 1
        theta, X, MX, resid = _krylov_cycle(M64, X, MX, steps, b, d)
        _log(log, f"block Lanczos cycle {cycle}: max relative residual {resid:.2e}")
    return theta[:d].cpu().numpy().copy(), X[:, :d].cpu().numpy().copy()


def _log(log, msg: str) -> None:
    if log is not None:
        log(msg)


def subspace_overlap(A: np.ndarray, B: np.ndarray) -> float:
    """Mean squared cosine of the principal angles between span(A) and span(B) (1 = same subspace)."""
    Qa, Qb = np.linalg.qr(A)[0], np.linalg.qr(B)[0]
    s = np.linalg.svd(Qa.T @ Qb, compute_uv=False)
    return float(np.mean(s**2) * len(s) / max(Qa.shape[1], Qb.shape[1]))


def embedding_from_eigs(w: np.ndarray, v: np.ndarray, d: int | None = None) -> np.ndarray:
    """The closed form W = V*[:, :d] Λ_d^{1/2}; negative eigenvalues give zero columns (best PSD rank-d)."""
    d = len(w) if d is None else d
    return v[:, :d] * np.sqrt(np.clip(w[:d], 0.0, None))


def cached_top_eigenpairs(name: str, matrix_fn, d: int, ev, seed: int, key_parts: dict, device,
                          use_cache: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """(w, v, seconds): top-d eigenpairs of the matrix_fn() (V x V), through the checked on-disk cache.

    ev: settings.Eigen; key_parts: what the matrix depends on. exact and torch are both dense solvers
    (the same pairs up to rounding); krylov's depend on tol and seed. seconds is 0 on a cache hit.
    """
    dev = device if getattr(device, "type", "cpu") == "cuda" else None
    V = int(key_parts["V"])
    method = resolve_method(ev.method, V, d, dev)
    solver = f"krylov:{ev.tol:g}:{seed}" if method == "krylov" else "dense"
    spent = []

    def compute() -> dict:
        M = matrix_fn()
        t = time.perf_counter()
        w, v = top_eigenpairs(M, d, method, ev.tol, device=dev, seed=seed, log=log)
        spent.append(time.perf_counter() - t)
        log(f"top-{d} eigenpairs of {name} ({V}x{V}) in {spent[0]:.1f} s")
        return dict(w=w, v=v)

    z = cached("word2vec_eig", dict(kind="eig", name=name, d=int(d), solver=solver, version=2, **key_parts), compute,
               enabled=use_cache)
    return z["w"], z["v"], spent[0] if spent else 0.0
