"""Ridge paths, features and kernels against brute-force references."""
import math

import pytest
import torch

from repro.experiments.rf_sweep.features import draw_weights, features, kernel
from repro.experiments.rf_sweep.ridge import ridge_errors, ridge_predictions


@pytest.mark.parametrize("n,k", [(40, 150), (150, 40), (60, 60)])
def test_all_ridges_from_one_factorisation_equal_direct_solves(n, k):
    g = torch.Generator().manual_seed(n * 7 + k)
    f = torch.randn(n, k, generator=g, dtype=torch.float64) / math.sqrt(k)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    x = torch.randn(25, k, generator=g, dtype=torch.float64) / math.sqrt(k)
    ridges = torch.tensor([0.0, 1e-3, 1e-1, 1.0, 100.0], dtype=torch.float64)
    preds = ridge_predictions(f, y, x, ridges)
    train, test = ridge_errors(f, y, x, x @ torch.ones(k, 3, dtype=torch.float64), ridges)
    for j, d in enumerate(ridges):
        if d > 0:  # kernel form, as the paper defines the predictor: K̂(x, X)(K̂ + δI)⁻¹ y
            alpha = torch.linalg.solve(f @ f.T + d * torch.eye(n, dtype=f.dtype), y)
            direct, fitted = x @ f.T @ alpha, f @ f.T @ alpha
        else:  # min-norm interpolation / least squares
            w = torch.linalg.lstsq(f, y, driver="gelsd").solution
            direct, fitted = x @ w, f @ w
        tol = 1e-8 if d > 0 else 1e-7
        assert torch.allclose(preds[j], direct, rtol=0, atol=tol * direct.abs().max())
        assert float(train[j]) == pytest.approx(float(((fitted - y) ** 2).sum() / n), rel=1e-8, abs=1e-20)
        assert float(test[j]) == pytest.approx(float(((direct - x @ torch.ones(k, 3, dtype=f.dtype)) ** 2).sum() / 25), rel=1e-8)


def test_relu_kernel_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    d = 30
    x = torch.randn(6, d, generator=g, dtype=torch.float64)
    x[1] = -0.5 * x[0]  # an anti-aligned pair (θ = π)
    x[2] = 2.0 * x[0]  # an aligned pair (θ = 0)
    exact = kernel(x, x, "relu", 2.0)
    k = 400_000
    w = draw_weights(d, k, 2.0, g, "cpu", torch.float64)
    psi = features(x, w, "relu")
    mc = psi @ psi.T / k
    assert torch.allclose(mc, exact, rtol=0.02, atol=0.01 * float(exact.diagonal().mean()))
    # normalisation from the spec: K(x, x) = ‖x‖²/d
    assert torch.allclose(exact.diagonal(), (x**2).sum(1) / d, rtol=1e-12)
    assert float(exact[0, 1]) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_features_kernel_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 20, generator=g, dtype=torch.float64)
    w = draw_weights(20, 300_000, 1.0, g, "cpu", torch.float64)
    psi = features(x, w, "gaussian")
    assert torch.allclose(psi @ psi.T / 300_000, kernel(x, x, "gaussian", 1.0), atol=0.02)


def test_joint_gaussian_feature_sampler_has_the_direct_distribution():
    """The covariance route draws (ψ, y) with the same covariance as z ↦ (√M Λ^½ z W, v·z + ε)."""
    from repro.experiments.rf_sweep.data import powerlaw_modes, sample_gaussian_features

    M, k, count = 300, 5, 200_000
    g = torch.Generator().manual_seed(3)
    w = draw_weights(M, k, 1.0, g, "cpu", torch.float64)
    psi, y = sample_gaussian_features(M, 1.5, 1.5, 0.5, count, w, g)  # k + 1 << M: covariance route
    joint = torch.cat([psi, y], 1)
    empirical = joint.T @ joint / count
    lam, v2 = powerlaw_modes(M, 1.5, 1.5)
    b = torch.cat([torch.as_tensor((M * lam) ** 0.5)[:, None] * w, torch.as_tensor(v2**0.5)[:, None]], 1)
    expected = b.T @ b
    expected[k, k] += 0.5
    assert torch.allclose(empirical, expected, atol=0.02 * float(expected.diagonal().max()))
