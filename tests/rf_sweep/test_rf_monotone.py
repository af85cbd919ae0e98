"""The measured optimal-ridge monotonicity check (Theorem 1 on experiments): planted curves."""
import numpy as np
import pandas as pd

from repro.experiments.rf_sweep.monotone import measured_monotone, nonincreasing_within_se


def test_a_monotone_curve_passes_and_a_planted_rise_fails():
    mean, se = np.array([1.0, 0.8, 0.6, 0.5]), np.full(4, 0.01)
    assert nonincreasing_within_se(mean, se)["ok"]
    rise = nonincreasing_within_se(np.array([1.0, 0.8, 0.9, 0.5]), se)  # +0.1 at 0.014 SE of the difference
    assert not rise["ok"] and rise["worst_at"] == 2 and rise["worst_rise_se"] > 7


def test_a_rise_within_the_standard_errors_passes():
    se = np.full(3, 0.05)
    assert nonincreasing_within_se([1.0, 1.1, 0.9], se)["ok"]  # +0.1 = 1.4 SE of the difference
    assert not nonincreasing_within_se([1.0, 1.2, 0.9], se)["ok"]  # +0.2 = 2.8 SE


def test_one_trial_is_checked_strictly():
    assert not nonincreasing_within_se([1.0, 1.0 + 1e-9], [np.nan, np.nan])["ok"]
    assert nonincreasing_within_se([1.0, 1.0], [np.nan, np.nan])["ok"]


def fig1_table(planted_rise: float) -> pd.DataFrame:
    """A cross-layout Fig. 1 table: k sweep at n = 100, n sweep at k = 100, three ridges; the
    optimal-ridge test MSE falls as 1/k and 1/n, except a planted rise at k = 400."""
    rows = []
    for n, k in [(100, 25), (100, 50), (100, 100), (100, 200), (100, 400), (25, 100), (50, 100), (200, 100)]:
        best = 1.0 / min(n, k) + 1.0 / max(n, k) + (planted_rise if k == 400 else 0.0)
        for ridge, worse in ((0.01, 0.3), (0.1, 0.0), (1.0, 0.5)):
            rows.append({"n": n, "k": k, "ridge": ridge, "test_mse": best + worse, "test_mse_se": 0.002})
    return pd.DataFrame(rows)


def test_the_fig1_table_check_finds_the_planted_rise():
    ok = measured_monotone(fig1_table(0.0))
    assert ok["ok"] and ok["curves"] == 2  # vs k at n = 100 and vs n at k = 100 (single points skipped)
    bad = measured_monotone(fig1_table(0.05))
    assert not bad["ok"]
    failed = [c for c in bad["checks"] if not c["ok"]]
    assert len(failed) == 1 and failed[0]["along"] == "k" and failed[0]["n"] == 100
    assert failed[0]["worst_between"] == [200, 400]
