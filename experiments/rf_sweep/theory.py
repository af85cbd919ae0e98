"""The omniscient risk estimates of Simon, Karkada, Ghosh & Belkin (2024), float64, vectorised.

RF eigenframework (spec §4): for n samples, k features and ridge δ, γ > 0 solves the single
equation  γ (n − z(γ)) (k − z(γ)) = δ k  on the branch z < min(n, k), i.e. in u = ln γ

    h(u) = u + ln(n − z) + ln(1 − z/k) − ln δ = 0,     h' ≥ 1,

bracketed by [ln γ₀, u_hi] where z(γ₀) = min(n, k). Then κ = γ (1 − z/k) and

    ρ    = (q (k − 2z) + z²) / (n (k − q))
    E_te = [A − κ k/(k − q) · B + σ²] / (1 − ρ),     E_tr = (1 − z/n)² E_te,

with the spectral sums z, q, A, B of spectral_sums.py. k = ∞ gives KRR (spec §3) exactly.
The whole grid is solved at once by safeguarded Newton on interpolated sums; δ = 0 points use
γ = γ₀, solved exactly. `krr_theory` is an independent KRR solver (per point, brentq on κ) that
the tests use as a reference; it and `Spectrum` live in common/krr.py (richness uses them too).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from repro.experiments.common.krr import Spectrum, krr_theory  # noqa: F401  (krr_theory: re-exported reference)

from .spectral_sums import SpectralSums, exact_sums


def _newton(f, lo: np.ndarray, hi: np.ndarray, tol: float = 1e-13, iters: int = 200) -> np.ndarray:
    """Root of an increasing function per element, safeguarded to stay inside [lo, hi].

    f(u, idx) returns (value, derivative) at the still-active elements idx. Newton converges
    quadratically; a step that leaves the bracket (or a non-finite value) falls back to bisection.
    """
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    u = 0.5 * (lo + hi)
    active = np.arange(len(u))
    for _ in range(iters):
        ua, a_lo, a_hi = u[active], lo[active], hi[active]
        val, der = f(ua, active)
        neg = val < 0
        a_lo[neg], a_hi[~neg] = ua[neg], ua[~neg]
        lo[active], hi[active] = a_lo, a_hi
        with np.errstate(invalid="ignore", divide="ignore"):
            new = ua - np.where(np.isfinite(val) & (der > 0), val / der, np.nan)
        bad = ~np.isfinite(new) | (new <= a_lo) | (new >= a_hi)
        new[bad] = 0.5 * (a_lo[bad] + a_hi[bad])
        u[active] = new
        active = active[(np.abs(new - ua) >= tol) & (a_hi - a_lo >= tol)]
        if not len(active):
            break
    return u


def gamma0(spec: Spectrum, m, table: SpectralSums | None = None) -> np.ndarray:
    """γ₀ with z(γ₀) = m for each m < M, in log space: on the table when one covers it, then two
    exact Newton steps (quadratic convergence from a 1e-10 start gives machine precision)."""
    m = np.asarray(m, dtype=np.float64)
    m_unique, inverse = np.unique(m, return_inverse=True)
    if m_unique.max() >= spec.modes:
        raise ValueError(f"min(n, k) = {m_unique.max():.0f} must be below the number of modes M = {spec.modes}")
    lam, v2 = spec.eigvals, spec.coeffs2
    sums = table if table is not None else (lambda u: exact_sums(lam, v2, u))
    lo = np.full(len(m_unique), table.bounds[0] if table else np.log(lam.min()) - 60.0)
    hi = np.full(len(m_unique), table.bounds[1]) if table else np.log(2 * lam.sum() / m_unique)

    def f(u, idx):  # increasing in u: m - z(e^u)
        s = sums(u)
        return m_unique[idx] - s["z"], -s["dz"]

    u = _newton(f, lo, hi)
    for _ in range(2 if table is not None else 0):
        s = exact_sums(lam, v2, u)
        u = u + (s["z"] - m_unique) / s["dz"]
    return np.exp(u)[inverse].reshape(m.shape)


def rf_theory(spec: Spectrum, n, k, ridge, h: float = 0.02) -> dict[str, np.ndarray]:
    """Predicted test/train MSE, κ, γ, z, q, ρ for every broadcast (n, k, δ); k may be np.inf."""
    n, k, ridge = (np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(n, k, ridge))
    shape = n.shape
    n, k, ridge = n.ravel(), k.ravel(), ridge.ravel()
    m = np.minimum(n, k)
    pos = ridge > 0
    lam = spec.eigvals
    # table range: from just below the smallest γ₀ (largest m, solved exactly) to a point where
    # h(u) > 0 for every ridge (there z ≤ m/2, so h ≥ u + ln(n/(4δ)))
    u_lo = np.log(gamma0(spec, m.max())) - 4 * h
    u_hi = np.maximum(np.log(4 * np.where(pos, ridge, 1.0) / n), np.log(2 * lam.sum() / m)) + 1.0
    table = SpectralSums(lam, spec.coeffs2, u_lo, u_hi.max() + 4 * h, h)
    u0 = np.log(gamma0(spec, m, table))
    u = u0.copy()
    sums = {}
    if pos.any():
        np_, kp, dp = n[pos], k[pos], ridge[pos]

        def h_fun(uu, sel):
            s = table(uu)
            z, dz = s["z"], s["dz"]
            nn, kk, dd = np_[sel], kp[sel], dp[sel]
            zk = z / kk  # 0 for k = inf
            with np.errstate(invalid="ignore", divide="ignore"):
                val = uu + np.log(nn - z) + np.log1p(-zk) - np.log(dd)
                der = 1.0 - dz / (nn - z) - (dz / kk) / (1.0 - zk)
            val = np.where((nn - z > 0) & (1 - zk > 0), val, -np.inf)  # left of γ₀ (interpolation slop)
            return val, der

        u_pos = _newton(h_fun, u0[pos], u_hi[pos])
        u[pos] = u_pos
        interp = table(u_pos)
        for name in ("z", "q", "A", "B"):
            sums.setdefault(name, np.empty_like(n))[pos] = interp[name]
    if (~pos).any():
        exact = exact_sums(spec.eigvals, spec.coeffs2, u[~pos])
        for name in ("z", "q", "A", "B"):
            sums.setdefault(name, np.empty_like(n))[~pos] = exact[name]
        sums["z"][~pos] = m[~pos]  # z(γ₀) = min(n, k) by definition
    res = risks(spec.noise, n, k, ridge, np.exp(u), **sums)
    return {key: val.reshape(shape) for key, val in res.items()}


def risks(noise: float, n, k, ridge, gamma, z, q, A, B) -> dict[str, np.ndarray]:
    """Spec §4.2 from the solved γ and its spectral sums (k = inf is the KRR limit)."""
    finite_k = np.isfinite(k)
    kk = np.where(finite_k, k, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(ridge > 0, ridge / (n - z), gamma * np.where(finite_k, 1 - z / kk, 1.0))
        kappa = np.where((ridge == 0) & (k <= n), 0.0, kappa)  # under-parameterised least squares
        rho = np.where(finite_k, (q * (kk - 2 * z) + z**2) / (n * (kk - q)), q / n)
        coef = np.where(finite_k, kappa * kk / (kk - q), kappa)
        test = (A - coef * B + noise) / (1.0 - rho)
        test = np.where(rho < 1.0, test, np.inf)  # the n = k ridgeless peak diverges
        train = (1.0 - z / n) ** 2 * test
    return {"test_mse": test, "train_mse": train, "kappa": kappa, "gamma": gamma, "z": z, "q": q, "rho": rho}


def rf_theory_brentq(spec: Spectrum, n: float, k: float, ridge: float) -> dict[str, float]:
    """Scalar reference: the same RF equation solved by brentq with exact O(M) sums (benchmark peer)."""
    lam, v2 = spec.eigvals, spec.coeffs2
    z_of = lambda g: np.sum(lam / (lam + g))  # noqa: E731
    m = min(n, k)
    u0 = brentq(lambda s: z_of(np.exp(s)) - m, np.log(lam.min()) - 60, np.log(2 * lam.sum() / m), xtol=1e-15, rtol=1e-15)
    if ridge > 0:
        def hfun(s):
            z = z_of(np.exp(s))
            if z >= min(n, k):  # left of γ₀ (rounding at the bracket's end): the branch's -∞ side
                return -1e10
            return s + np.log(n - z) + np.log(k - z) - np.log(ridge * k)

        hi = max(np.log(4 * ridge / n), np.log(2 * lam.sum() / m)) + 1
        u = brentq(hfun, u0, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    else:
        u = u0
    g = np.exp(u)
    G = 1 / (lam + g)
    z = m if ridge == 0 else np.sum(lam * G)
    res = risks(spec.noise, np.array(n, float), np.array(k, float), np.array(ridge, float), np.array(g),
                np.array(z), np.sum(lam**2 * G**2), g * np.sum(v2 * G), np.sum(lam * v2 * G**2))
    return {key: float(v) for key, v in res.items()}


def held_out(res: dict[str, np.ndarray], n, population: int) -> dict[str, np.ndarray]:
    """Finite-population correction (spec §2.3): when the 'population' is an N-point pool that also
    holds the training points, the error on the pool's other points is (N E_te − n E_tr)/(N − n);
    the train prediction keeps its fitting ratio, E_tr = R · E_te,held-out (as the authors plot it)."""
    n = np.asarray(n, dtype=np.float64)
    test = (population * res["test_mse"] - n * res["train_mse"]) / (population - n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(res["test_mse"]), res["train_mse"] / res["test_mse"], 0.0)
    with np.errstate(invalid="ignore"):
        train = np.where(np.isfinite(test), ratio * test, res["train_mse"])
    return {**res, "test_mse": test, "train_mse": train}


def min_over_ridge(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over the ridge axis (nan-safe) and its index: the 'optimal ridge' curve of Fig. 1."""
    filled = np.where(np.isfinite(values), values, np.inf)
    idx = np.argmin(filled, axis=axis)
    return np.take_along_axis(filled, np.expand_dims(idx, axis), axis).squeeze(axis), idx


def optimal_test_mse(spec: Spectrum, n, k, log10_range=(-8.0, 4.0), grid_points: int = 801):
    """min over δ ≥ 0 of the predicted test MSE at each (n, k): a fine log grid in δ (one vectorised
    solve), refined by a parabola through the best grid point and its neighbours in ln δ, and
    compared with δ = 0. Returns (test_mse, δ*)."""
    n, k = (np.asarray(a, dtype=np.float64).ravel() for a in np.broadcast_arrays(n, k))
    deltas = np.logspace(*log10_range, grid_points)
    values = rf_theory(spec, n[:, None], k[:, None], deltas[None, :])["test_mse"]
    best, idx = min_over_ridge(values)
    j = np.clip(idx, 1, grid_points - 2)
    rows = np.arange(len(n))
    y0, y1, y2 = values[rows, j - 1], values[rows, j], values[rows, j + 1]
    step = np.log(deltas[1] / deltas[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = 0.5 * step * (y0 - y2) / (y0 - 2 * y1 + y2)  # vertex of the parabola
    offset = np.where(np.isfinite(offset) & (np.abs(offset) <= step), offset, 0.0)
    s_star = np.log(deltas[j]) + offset
    refined = rf_theory(spec, n, k, np.exp(s_star))["test_mse"]
    ridgeless = rf_theory(spec, n, k, 0.0)["test_mse"]
    candidates = np.stack([best, refined, np.where(np.isfinite(ridgeless), ridgeless, np.inf)])
    which = np.argmin(candidates, axis=0)
    delta = np.choose(which, [deltas[idx], np.exp(s_star), np.zeros_like(s_star)])
    return candidates.min(axis=0), delta
