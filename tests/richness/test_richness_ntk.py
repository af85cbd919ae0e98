"""The per-layer Gram NTK against brute-force torch.func Jacobians."""
import pytest
import torch

from repro.experiments.richness.model import MLP, StackedMLP, activation_patterns, mlp_forward
from repro.experiments.richness.ntk import as_matrix, gram_ntk, jacobian_ntk, model_ntk


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("gauge", ["stp", "mup", "rescale"])
@pytest.mark.parametrize("depth,bias", [(3, True), (4, False), (2, True)])
def test_gram_ntk_matches_jacobians_float64(gauge, depth, bias):
    g = torch.Generator().manual_seed(depth)
    m = MLP(6, 64, depth, 3, 0.3, 1.7, gauge, bias=bias, generator=g, dtype=torch.float64)
    x = torch.randn(9, 6, generator=g, dtype=torch.float64)
    x2 = torch.randn(5, 6, generator=g, dtype=torch.float64)
    assert rel(model_ntk(m, x), jacobian_ntk(m, x)) < 1e-12
    assert rel(model_ntk(m, x, x2), jacobian_ntk(m, x, x2)) < 1e-12


def test_gram_ntk_float32_within_1e5():
    g = torch.Generator().manual_seed(0)
    m = MLP(10, 128, 3, 4, 0.5, 1.0, "mup", generator=g)
    x = torch.randn(16, 10, generator=g)
    assert rel(model_ntk(m, x), jacobian_ntk(m, x)) < 1e-5


def test_ntk_is_gauge_invariant_for_one_draw():
    thetas = []
    for gauge in ("stp", "mup", "rescale"):
        m = MLP(5, 32, 3, 2, 0.25, 2.0, gauge, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        thetas.append(model_ntk(m, torch.ones(4, 5, dtype=torch.float64) * torch.arange(4.0).double()[:, None]))
    assert rel(thetas[1], thetas[0]) < 1e-13 and rel(thetas[2], thetas[0]) < 1e-13


def test_stacked_ntk_equals_per_trial_ntk():
    net = StackedMLP(4, 48, 3, 2, 3, 0.5, 1.0, "mup", generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = torch.randn(6, 4, dtype=torch.float64)
    lams = [s.lam for s in net.scales]
    with torch.no_grad():
        stacked = gram_ntk(net.effective_layers(), lams, x)
        for t in range(3):
            one = [(V[t], None if c is None else c[t]) for V, c in net.effective_layers()]
            assert rel(stacked[t], gram_ntk(one, lams, x)) < 1e-13


def test_ntk_matrix_is_symmetric_psd():
    m = MLP(5, 32, 3, 3, 0.0, 1.0, "stp", generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    th = as_matrix(model_ntk(m, torch.randn(7, 5, dtype=torch.float64)))
    assert torch.allclose(th, th.T, atol=1e-12)
    assert torch.linalg.eigvalsh(th).min() > -1e-10


def test_gram_ntk_with_frozen_patterns():
    """masks = the current patterns reproduce the kernel; the patterns of another network change it."""
    g = torch.Generator().manual_seed(5)
    a = StackedMLP(4, 40, 3, 2, 1, 0.5, 1.0, "mup", generator=g, dtype=torch.float64)
    b = StackedMLP(4, 40, 3, 2, 1, 0.5, 1.0, "mup", generator=g, dtype=torch.float64)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    lams = [s.lam for s in a.scales]
    with torch.no_grad():
        own = [z > 0 for z in a.forward(x)[1][:-1]]
        other = [z > 0 for z in b.forward(x)[1][:-1]]
        th = gram_ntk(a.effective_layers(), lams, x)
        assert rel(gram_ntk(a.effective_layers(), lams, x, masks=own), th) < 1e-15
        assert rel(gram_ntk(a.effective_layers(), lams, x, masks=other), th) > 1e-2
    with pytest.raises(AssertionError):
        gram_ntk(a.effective_layers(), lams, x, x, masks=own)


def test_one_forward_in_its_three_modes_agrees():
    """Effective layers (training), raw layers fused (the stacked step) and the gated network with the
    network's own activation patterns (the lazy limit's kink-free reference) compute the same function."""
    net = StackedMLP(5, 64, 4, 3, 2, 0.25, 1.5, "stp", generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x = torch.randn(2, 9, 5, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    with torch.no_grad():
        f, zs, acts = net.forward(x)
        f_fused, zs_fused, acts_fused = net.forward_fused(x, net.W, net.b)
        layers = [(V[0], c[0]) for V, c in net.effective_layers()]
        f_gated = mlp_forward(layers, x[0], net.gain, masks=activation_patterns(layers, x[0], net.gain))[0]
    assert rel(f_fused, f) < 1e-14 and all(rel(a, b) < 1e-14 for a, b in zip(acts_fused[1:], acts[1:]))
    assert rel(f_gated, f[0]) < 1e-14
    m = MLP(5, 64, 4, 3, 0.25, 1.5, "stp", dtype=torch.float64)
    with torch.no_grad():
        for i in range(4):
            m.weights[i].copy_(net.W[i][1])
            m.biases[i].copy_(net.b[i][1])
        assert rel(m(x[1]), f[1]) < 1e-14
