"""The (n, k, δ) points of a sweep: integer log grids, the Fig. 1 cross layout or the full product."""
from __future__ import annotations

import numpy as np


def int_logspace(lo: float, hi: float, num: int) -> np.ndarray:
    """`num` integers log-spaced over [lo, hi], rounded and made strictly increasing (may drop repeats)."""
    vals = np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), int(num))).astype(np.int64))
    return vals


def points(grid) -> list[tuple[int, int]]:
    """(n, k) pairs in the experiment (settings.Grid): cross = k sweep at fixed_n ∪ n sweep at fixed_k."""
    ns, ks = int_logspace(*grid.n), int_logspace(*grid.k)
    if grid.layout == "product":
        return [(int(n), int(k)) for n in ns for k in ks]
    pts = {(int(grid.fixed_n), int(k)) for k in ks} | {(int(n), int(grid.fixed_k)) for n in ns}
    return sorted(pts)


def ridges(r) -> np.ndarray:
    """The δ grid (settings.Ridges): the explicit list, or logspace(log10_min, log10_max, num) plus
    δ = 0 if ridgeless."""
    if r.values is not None:
        return np.unique(np.asarray(r.values, dtype=np.float64))
    vals = np.logspace(r.log10_min, r.log10_max, r.num)
    return np.concatenate([[0.0], vals]) if r.ridgeless else vals


def theory_axis(lo: float, hi: float, curve_points: int, peak_points: int) -> np.ndarray:
    """Dense theory abscissa: log-spaced over [lo, hi] plus extra points over [10², 10³] (the peak)."""
    base = np.logspace(np.log10(lo), np.log10(hi), int(curve_points))
    peak = np.logspace(2, 3, int(peak_points)) if peak_points else np.array([])
    peak = peak[(peak >= lo) & (peak <= hi)]
    return np.unique(np.concatenate([base, peak]))
