"""Measurements against exact references."""
import torch

from repro.experiments.richness import measure


def test_spectral_norm_exact_for_low_rank_and_close_for_random():
    g = torch.Generator().manual_seed(0)
    low = torch.randn(2, 600, 20, generator=g, dtype=torch.float64) @ torch.randn(2, 20, 700, generator=g, dtype=torch.float64)
    exact = torch.linalg.matrix_norm(low, ord=2)
    assert torch.allclose(measure.spectral_norm(low, iters=1, block=28), exact, rtol=1e-10)
    w = torch.randn(600, 600, generator=g, dtype=torch.float64)
    est, ref = measure.spectral_norm(w), torch.linalg.matrix_norm(w, ord=2)
    assert est <= ref * (1 + 1e-12) and est > 0.98 * ref


def test_weight_change_norms():
    w0 = torch.eye(4, dtype=torch.float64)
    w = w0 + torch.diag(torch.tensor([0.5, 0.0, 0.0, 0.0], dtype=torch.float64))
    ch = measure.weight_change(w0, w)
    assert abs(float(ch["op"]) - 0.5) < 1e-12 and abs(float(ch["fro"]) - 0.25) < 1e-12


def test_kernel_target_alignment_is_one_for_the_target_kernel():
    y = torch.randn(8, 2, dtype=torch.float64)
    theta = torch.einsum("pc,qd->pcqd", y, y)
    assert abs(float(measure.kernel_target_alignment(theta, y)) - 1) < 1e-12
    assert abs(float(measure.kernel_target_alignment(theta, y, centered=True)) - 1) < 1e-12
    eye = torch.eye(16, dtype=torch.float64).reshape(8, 2, 8, 2)
    assert float(measure.kernel_target_alignment(eye, y)) < 1


def test_ntk_change_and_rel_change():
    a = torch.ones(3, 4, 3, 4)
    assert abs(float(measure.ntk_change(1.1 * a, a)) - 0.1) < 1e-6
    assert abs(float(measure.rel_change(2 * torch.ones(5, 3), torch.ones(5, 3))) - 1) < 1e-6
