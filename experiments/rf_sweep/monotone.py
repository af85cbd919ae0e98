"""Is a MEASURED optimal-ridge curve non-increasing (Theorem 1, spec §6), within its standard errors?

A measured curve E*(x_1), E*(x_2), ... (the minimum over ridges of the trial-mean test MSE, with the
standard error of the mean at the minimising ridge) passes when every step up is within
`SE_TOLERANCE` standard errors of the difference, √(se_j² + se_{j+1}²): a rise that large is a
violation, a smaller one is noise. Independent trials per point are assumed (Fig. 1 draws fresh data
per (trial, n); the fitting-ratio n sweep reuses each trial's test points, which only makes the
check conservative). With one trial the SE is unknown and the check is strict (tolerance 0).

    nonincreasing_within_se(mean, se) -> {"ok", "worst_rise_se", "worst_at", "steps"}
    optimal_ridge_curves(table)       -> every measured optimal-ridge curve of a Fig. 1 results table:
                                         E* vs k at each n, and vs n at each k, with >= 2 points
    measured_monotone(table)          -> the summary.json block: each curve's check and an overall ok
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SE_TOLERANCE = 2.0  # a rise above 2 SE of the difference is a violation (two-sided ~5% per step)


def nonincreasing_within_se(mean, se, tolerance: float = SE_TOLERANCE) -> dict:
    """Check that `mean` (ordered by the swept size) never rises by more than `tolerance` SE."""
    mean = np.asarray(mean, dtype=np.float64)
    se = np.nan_to_num(np.asarray(se, dtype=np.float64), nan=0.0)
    rise = np.diff(mean)
    scale = np.sqrt(se[:-1] ** 2 + se[1:] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        in_se = np.where(scale > 0, rise / scale, np.where(rise > 0, np.inf, 0.0))
    ok = bool(np.all(rise <= tolerance * scale))
    worst = int(np.argmax(in_se)) if len(in_se) else -1
    return {"ok": ok, "worst_rise_se": float(in_se[worst]) if len(in_se) else 0.0, "worst_at": worst + 1,
            "steps": int(len(rise)), "tolerance_se": tolerance}


def _optimum(rows: pd.DataFrame) -> pd.DataFrame:
    """Per swept value: the ridge minimising the trial-mean test MSE, its mean and SE."""
    best = rows.loc[rows.groupby(["n", "k"]).test_mse.idxmin()]
    return best[["n", "k", "ridge", "test_mse", "test_mse_se"]]


def optimal_ridge_curves(table: pd.DataFrame) -> list[dict]:
    """Measured optimal-ridge curves of a Fig. 1 table (columns n, k, ridge, test_mse, test_mse_se)."""
    best = _optimum(table)
    curves = []
    for along, fixed in (("k", "n"), ("n", "k")):
        for value, rows in best.groupby(fixed):
            if len(rows) < 2:
                continue
            rows = rows.sort_values(along)
            curves.append({"along": along, fixed: int(value), along + "_values": rows[along].astype(int).tolist(),
                           "test_mse": rows.test_mse.tolist(), "test_mse_se": rows.test_mse_se.tolist(),
                           "ridge": rows.ridge.tolist()})
    return curves


def measured_monotone(table: pd.DataFrame, tolerance: float = SE_TOLERANCE) -> dict:
    """summary.json block: every measured optimal-ridge curve checked, the worst rise, and all-ok."""
    checks = []
    for c in optimal_ridge_curves(table):
        res = nonincreasing_within_se(c["test_mse"], c["test_mse_se"], tolerance)
        fixed = "n" if c["along"] == "k" else "k"
        checks.append({"along": c["along"], fixed: c[fixed], **res,
                       "worst_between": c[c["along"] + "_values"][res["worst_at"] - 1:res["worst_at"] + 1]})
    return {"ok": all(c["ok"] for c in checks), "curves": len(checks), "tolerance_se": tolerance,
            "worst_rise_se": max((c["worst_rise_se"] for c in checks), default=0.0), "checks": checks}
