"""The RF eigenframework solver against independent references and the paper's theorems."""
import numpy as np
import pytest

from repro.experiments.rf_sweep.powerlaw import (optimal_fitting_ratio, risk_vs_fitting_ratio,
                                                 zero_ridge_optimal)
from repro.experiments.rf_sweep.theory import (Spectrum, krr_theory, optimal_test_mse, rf_theory,
                                               rf_theory_brentq)


def powerlaw(M=3000, alpha=1.5, beta=1.5, noise=0.5):
    i = np.arange(1, M + 1, dtype=float)
    return Spectrum(i**-alpha, i**-beta, noise)


@pytest.mark.parametrize("ridge", [1e-3, 0.1, 10.0, 0.0])
@pytest.mark.parametrize("n", [30, 256, 1000])
def test_rf_at_huge_k_equals_krr(n, ridge):
    spec = powerlaw()
    rf = rf_theory(spec, n, 1e12, ridge)
    krr = krr_theory(spec, n, ridge)
    assert rf["test_mse"] == pytest.approx(krr["test_mse"], rel=1e-6)
    assert rf["train_mse"] == pytest.approx(krr["train_mse"], rel=1e-6, abs=1e-300)
    inf = rf_theory(spec, n, np.inf, ridge)  # the exact k = ∞ branch
    assert inf["test_mse"] == pytest.approx(krr["test_mse"], rel=1e-9)


def test_grid_solver_agrees_with_scalar_brentq():
    spec = powerlaw(M=5000, noise=0.3)
    ks = np.array([10.0, 50, 199, 256, 300, 2000, 4999])
    ridges = np.array([0.0, 1e-3, 3e-2, 1.0, 100.0])
    grid = rf_theory(spec, 256, ks[:, None], ridges[None, :])
    for a, k in enumerate(ks):
        for b, d in enumerate(ridges):
            if k == 256 and d == 0:
                assert np.isinf(grid["test_mse"][a, b])  # the ridgeless n = k peak
                continue
            ref = rf_theory_brentq(spec, 256, k, d)
            for key in ("test_mse", "train_mse", "gamma", "kappa"):
                assert grid[key][a, b] == pytest.approx(ref[key], rel=1e-8, abs=1e-300), (k, d, key)


def test_ridgeless_cases_follow_the_spec():
    spec = powerlaw()
    over = rf_theory(spec, 100, 400, 0.0)  # k > n: interpolation
    assert over["train_mse"] == 0 and over["kappa"] > 0
    under = rf_theory(spec, 400, 100, 0.0)  # k < n: least squares, E_tr = (1 - k/n)² E_te
    assert under["kappa"] == 0
    assert under["train_mse"] == pytest.approx((1 - 100 / 400) ** 2 * under["test_mse"], rel=1e-12)
    assert under["rho"] == pytest.approx(100 / 400, rel=1e-12)


def test_optimal_ridge_risk_is_non_increasing_in_n_and_k():
    """Theorem 1: min over δ of the predicted test risk never increases with k or with n."""
    for spec in (powerlaw(noise=0.5), powerlaw(beta=2.5, noise=0.0), powerlaw(alpha=2.0, beta=1.2, noise=2.0)):
        axis = np.unique(np.round(np.logspace(1, np.log10(2500), 50)))
        vs_k, _ = optimal_test_mse(spec, 256, axis)
        vs_n, _ = optimal_test_mse(spec, axis, 256)
        assert np.all(np.diff(vs_k) <= 1e-9 * vs_k[:-1])
        assert np.all(np.diff(vs_n) <= 1e-9 * vs_n[:-1])
    # and the fixed-ridge curve is not monotone: double descent at small δ
    peak = rf_theory(powerlaw(), 256, np.array([128.0, 256.0, 1024.0]), 1e-3)["test_mse"]
    assert peak[1] > peak[0] and peak[1] > peak[2]


def test_powerlaw_optimal_fitting_ratio():
    a, b = 1.5, 1.2
    for rel in (0.0, 1.0, 5.0):
        R = np.linspace(0, 0.999, 200001)
        numeric = R[np.argmin(risk_vs_fitting_ratio(R, a, b, rel))]
        assert optimal_fitting_ratio(a, b, rel) == pytest.approx(numeric, abs=1e-4)
    noiseless = ((a - b) / (b * (a - 1))) ** 2
    assert optimal_fitting_ratio(a, b, 0.0) == pytest.approx(noiseless, rel=1e-10)
    # β ≥ α: interpolation optimal up to the noise threshold (β − α)/(α(α − 1))
    a, b = 1.12, 1.36
    threshold = (b - a) / (a * (a - 1))
    assert zero_ridge_optimal(a, b, 0.99 * threshold) and optimal_fitting_ratio(a, b, 0.99 * threshold) == 0
    assert not zero_ridge_optimal(a, b, 1.01 * threshold) and optimal_fitting_ratio(a, b, 1.01 * threshold) > 0


def test_closed_form_has_the_shape_of_the_krr_eigenframework():
    """Spec §7.3: against the numerical KRR framework (n = 2000) the closed form's shape in R is
    right to ~1-3% (after the per-curve rescaling the paper's Fig. 2 also uses)."""
    a, b, n = 2.0, 2.5, 2000.0
    i = np.arange(1, 200001, dtype=float)
    spec = Spectrum(i**-a, i**-b, 0.0)
    ridges = np.logspace(-7, 0, 40)
    th = rf_theory(spec, n, np.inf, ridges)
    R = th["train_mse"] / th["test_mse"]
    closed = risk_vs_fitting_ratio(R, a, b, 0.0, n)
    shape = closed / th["test_mse"]
    ok = R < 0.9
    assert np.ptp(shape[ok]) / shape[ok].mean() < 0.03


def test_held_out_correction_on_a_finite_pool():
    """Drawing n of N pool points and testing on the other N − n: (N E_te − n E_tr)/(N − n)."""
    from repro.experiments.rf_sweep.theory import held_out

    res = {"test_mse": np.array([2.0, np.inf]), "train_mse": np.array([0.5, 0.0])}
    out = held_out(res, np.array([100.0, 100.0]), 1000)
    assert out["test_mse"][0] == pytest.approx((1000 * 2.0 - 100 * 0.5) / 900)
    assert out["train_mse"][0] == pytest.approx(0.25 * out["test_mse"][0])
    assert np.isinf(out["test_mse"][1])
