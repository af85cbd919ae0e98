"""The task exponents (α, β) of a kernel on data, by the proxies of spec §9, every n from one factorisation.

α: (Tr K_n⁻¹)⁻¹ ∝ n^−α (the ridgeless κ scales as n^−α and κ ≈ 1/Tr K_n⁻¹);
β: the ridgeless test MSE ∝ n^(1−β).

Both are needed at many n on random subsets. The subsets of one trial are the prefixes of one random
permutation of the pool, and a Cholesky factor's leading block is the factor of the leading block:
with K + δI = L Lᵀ on the largest training set and M = L⁻¹,

    Tr (K_n + δI)⁻¹ = Σ_{i<n} ‖M[i, :i+1]‖²        (M is lower triangular)
    f̂_n(X_te) = Σ_{i<n} (M K_{·,te})[i]ᵀ (M y)[i]   (a running sum of rank-one terms)

so one O(N³/3) factorisation, one triangular inverse and one N×N×N_te product per trial give every n,
where the naive way (a fresh pseudo-inverse per n and trial, `naive_curves`) costs Σ_n n³ eigen-work
per trial. δ (1e-10 by default) stands in for the authors' Hermitian pseudo-inverse (1e-30 absolute
tolerance): both leave every eigenvalue ≫ δ alone. All float64.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from repro.experiments.common.errors import ConfigError


def prefix_curves(K: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, ns: np.ndarray,
                  delta: float) -> dict[str, np.ndarray]:
    """(Tr (K_n+δ)⁻¹)⁻¹ and the test MSE (summed over outputs, mean over test points) at each n of
    `ns`, the training set of size n being train[:n]. K: the pool's kernel; y: (P, C) labels."""
    ns = np.asarray(ns, dtype=np.int64)
    N = int(ns.max())
    tr = train[:N]
    try:
        L = np.linalg.cholesky(K[np.ix_(tr, tr)] + delta * np.eye(N))
    except np.linalg.LinAlgError:
        raise ConfigError(f"exponents.delta={delta!r} is invalid: K_n + delta*I is not positive definite in "
                          f"float64 at n={N}; valid: a larger delta (e.g. 1e-8)") from None
    M = scipy.linalg.solve_triangular(L, np.eye(N), lower=True, check_finite=False)
    inv_trace = np.cumsum((M * M).sum(1))[ns - 1]
    Y = y.reshape(len(y), -1)
    z = M @ Y[tr]                                                   # (N, C)
    W = M @ K[np.ix_(tr, test)]                                     # (N, N_te)
    pred = np.zeros((len(test), Y.shape[1]))
    mse, prev = np.empty(len(ns)), 0
    for j, n in enumerate(ns):
        pred += W[prev:n].T @ z[prev:n]
        prev = n
        mse[j] = ((pred - Y[test]) ** 2).sum(1).mean()
    return {"inv_trace": 1.0 / inv_trace, "test_mse": mse}


def naive_curves(K, y, train, test, ns, delta, rtol: float = 1e-15) -> dict[str, np.ndarray]:
    """The same two curves with a fresh eigendecomposition per n (the reference and the benchmark's peer)."""
    Y = y.reshape(len(y), -1)
    inv_trace, mse = [], []
    for n in np.asarray(ns):
        tr = train[:n]
        w, U = np.linalg.eigh(K[np.ix_(tr, tr)] + delta * np.eye(n))
        keep = w > rtol * w.max()
        inv = (U[:, keep] / w[keep]) @ U[:, keep].T
        inv_trace.append(1.0 / np.trace(inv))
        pred = K[np.ix_(test, tr)] @ (inv @ Y[tr])
        mse.append(((pred - Y[test]) ** 2).sum(1).mean())
    return {"inv_trace": np.array(inv_trace), "test_mse": np.array(mse)}


def fit_slope(ns: np.ndarray, curves: np.ndarray, window: tuple[float, float], n_boot: int,
              rng: np.random.Generator) -> dict:
    """Least-squares slope of log(mean over trials) against log n on ns ∈ [lo, hi], with a 95%
    bootstrap interval from resampling the trials. curves: (trials, len(ns))."""
    ns = np.asarray(ns, dtype=np.float64)
    sel = (ns >= window[0]) & (ns <= window[1])
    if sel.sum() < 3:
        raise ConfigError(f"exponents.fit={list(window)!r} is invalid: it holds {int(sel.sum())} of the n values; "
                          f"valid: a window over at least 3 of them (n from {ns.min():g} to {ns.max():g})")
    x = np.log(ns[sel])

    def slope(c):
        return float(np.polyfit(x, np.log(c.mean(0)[sel]), 1)[0])

    boots = [slope(curves[rng.integers(0, len(curves), len(curves))]) for _ in range(n_boot)]
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    return {"slope": slope(curves), "ci95": [float(lo), float(hi)], "window": [float(w) for w in window],
            "points": int(sel.sum())}


def exponents_from_curves(ns, inv_trace, test_mse, window, n_boot, rng) -> dict:
    """α = −slope of (Tr K_n⁻¹)⁻¹, β = 1 − slope of the test MSE; intervals transformed alike."""
    a = fit_slope(ns, inv_trace, window, n_boot, rng)
    b = fit_slope(ns, test_mse, window, n_boot, rng)
    return {"alpha": -a["slope"], "alpha_ci95": sorted(-v for v in a["ci95"]),
            "beta": 1.0 - b["slope"], "beta_ci95": sorted(1.0 - v for v in b["ci95"]),
            "window": a["window"], "points": a["points"]}


def direct_spectrum_fits(K: np.ndarray, y: np.ndarray, windows) -> list[dict]:
    """Log-log fits of the empirical λ_i = μ_i/N and v_i² = ‖(Uᵀy)_i‖²/N on index windows: shown beside
    the proxies because they disagree with each other (spec §9: 1.34 on [10, 10³], 0.85 on [10², 10⁴])."""
    N = len(K)
    mu, U = np.linalg.eigh(K)
    order = np.argsort(mu)[::-1]
    lam = np.clip(mu[order], 0, None) / N
    v2 = ((U[:, order].T @ y.reshape(N, -1)) ** 2).sum(1) / N
    return spectrum_fits(lam, v2, windows)


def spectrum_fits(lam: np.ndarray, v2: np.ndarray, windows) -> list[dict]:
    """The log-log fits of `direct_spectrum_fits` on a spectrum already at hand (λ_i, v_i², i = 1..len)."""
    N = len(lam)
    i = np.arange(1, N + 1, dtype=np.float64)
    out = []
    for lo, hi in windows:
        sel = (i >= lo) & (i <= min(hi, N)) & (lam > 0) & (v2 > 0)
        if sel.sum() < 3:
            continue
        out.append({"window": [float(lo), float(min(hi, N))],
                    "alpha": float(-np.polyfit(np.log(i[sel]), np.log(lam[sel]), 1)[0]),
                    "beta": float(-np.polyfit(np.log(i[sel]), np.log(v2[sel]), 1)[0])})
    return out
