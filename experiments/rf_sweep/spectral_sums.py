"""The four spectral sums every eigenframework formula needs, as functions of u = ln γ:

    z(γ) = Σ λ_i/(λ_i+γ)            (effective number of learned modes, Σ L_i)
    q(γ) = Σ λ_i²/(λ_i+γ)²          (Σ L_i²)
    A(γ) = Σ γ v_i²/(λ_i+γ)         (Σ (1-L_i) v_i²)
    B(γ) = Σ λ_i v_i²/(λ_i+γ)²      (Σ L_i v_i²/(λ_i+γ))

Each costs O(M) per γ. Solving a whole (n, k, δ) grid exactly would cost O(points × M) per
iteration, so we tabulate the sums once on a fine grid in u (one O(T × M) pass of BLAS
matrix products) and interpolate ln-sums with cubic Hermite splines using their exact
u-derivatives. All sums are smooth in u, so the interpolation error is O(h⁴) (~1e-12 at the
default spacing); `exact()` evaluates directly for polishing and tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("z", "q", "A", "B")


def _moments(lam: np.ndarray, v2: np.ndarray, gamma: np.ndarray, chunk: int = 512) -> np.ndarray:
    """(len(gamma), 4 sums, 2) array: each sum and its derivative d/du (u = ln γ), exactly."""
    vecs = np.stack([lam, lam**2, v2, lam * v2], axis=1)  # (M, 4)
    out = np.empty((len(gamma), 4, 2))
    for s in range(0, len(gamma), chunk):
        g = gamma[s:s + chunk, None]
        G1 = 1.0 / (lam[None, :] + g)  # the one elementwise pass; everything else is BLAS
        G2 = G1 * G1
        P1, P2, P3 = G1 @ vecs, G2 @ vecs, (G2 * G1) @ vecs
        gg = g[:, 0]
        z, dz = P1[:, 0], -gg * P2[:, 0]
        q, dq = P2[:, 1], -2 * gg * P3[:, 1]
        A = gg * P1[:, 2]
        dA = A - gg**2 * P2[:, 2]
        B, dB = P2[:, 3], -2 * gg * P3[:, 3]
        out[s:s + chunk, :, 0] = np.stack([z, q, A, B], axis=1)
        out[s:s + chunk, :, 1] = np.stack([dz, dq, dA, dB], axis=1)
    return out


@dataclass
class SpectralSums:
    """z, q, A, B of one spectrum, tabulated on [u_lo, u_hi] and interpolated in log space."""

    lam: np.ndarray
    v2: np.ndarray
    u_lo: float
    u_hi: float
    h: float = 0.01

    def __post_init__(self):
        self.lam = np.asarray(self.lam, dtype=np.float64)
        self.v2 = np.asarray(self.v2, dtype=np.float64)
        self.u = np.arange(self.u_lo, self.u_hi + self.h, self.h)
        m = _moments(self.lam, self.v2, np.exp(self.u))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logf = np.log(m[:, :, 0])  # ln of each sum
            self.dlogf = m[:, :, 1] / m[:, :, 0]  # d ln f / du

    def exact(self, u: np.ndarray) -> dict[str, np.ndarray]:
        return exact_sums(self.lam, self.v2, u)

    def __call__(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Hermite-interpolated sums (and dz/du) at each u inside the table."""
        u = np.asarray(u, dtype=np.float64)
        if u.size and (u.min() < self.u[0] - 1e-12 or u.max() > self.u[-1] + 1e-12):
            raise ValueError(f"u outside the table [{self.u[0]:.3f}, {self.u[-1]:.3f}]: [{u.min():.3f}, {u.max():.3f}]")
        i = np.clip(((u - self.u[0]) / self.h).astype(np.int64), 0, len(self.u) - 2)
        t = (u - self.u[i]) / self.h
        h00, h10 = (1 + 2 * t) * (1 - t) ** 2, t * (1 - t) ** 2
        h01, h11 = t**2 * (3 - 2 * t), t**2 * (t - 1)
        d00, d10 = 6 * t**2 - 6 * t, 3 * t**2 - 4 * t + 1  # derivatives of the basis in t
        d01, d11 = -6 * t**2 + 6 * t, 3 * t**2 - 2 * t
        res = {}
        for j, name in enumerate(NAMES):
            f0, f1 = self.logf[i, j], self.logf[i + 1, j]
            g0, g1 = self.dlogf[i, j] * self.h, self.dlogf[i + 1, j] * self.h
            logf = h00 * f0 + h10 * g0 + h01 * f1 + h11 * g1
            res[name] = np.exp(logf)
            if name == "z":
                res["dz"] = res["z"] * (d00 * f0 + d10 * g0 + d01 * f1 + d11 * g1) / self.h
        return res


def exact_sums(lam: np.ndarray, v2: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """Direct evaluation at each u (O(len(u) × M)); includes dz/du."""
    u = np.atleast_1d(np.asarray(u, dtype=np.float64))
    m = _moments(np.asarray(lam, np.float64), np.asarray(v2, np.float64), np.exp(u.ravel()))
    res = {n: m[:, i, 0].reshape(u.shape) for i, n in enumerate(NAMES)}
    res["dz"] = m[:, 0, 1].reshape(u.shape)
    return res
