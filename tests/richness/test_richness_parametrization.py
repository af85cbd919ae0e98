"""The richness family: closed-form table, gauge invariants, named points, r outside [0, 1/2]."""
import math

import pytest
import torch

from repro.experiments.richness.model import MLP, draw_normals
from repro.experiments.richness.parametrization import (FAMILY, GAUGES, POINTS, alpha, check_r, finite_richness,
                                                        layer_scale, scales_for)


def test_stp_gauge_matches_spec_table():
    n, d, a = 1024, 784, alpha(1024, 0.5, 1.0)
    readin, hidden, readout = scales_for([d, n, n], n, 0.5, 1.0, "stp")
    assert math.isclose(readin.sigma ** 2, 1 / d) and math.isclose(readin.eta, a * a / d)
    assert math.isclose(hidden.sigma ** 2, 1 / n) and math.isclose(hidden.eta, a * a / n)
    assert math.isclose(readout.sigma ** 2, 1 / (a * a * n)) and math.isclose(readout.eta, 1 / n)


@pytest.mark.parametrize("role,m", [("readin", 30), ("hidden", 500), ("readout", 500)])
@pytest.mark.parametrize("r,g0", [(0.0, 1.0), (0.25, 3.0), (0.5, 0.1)])
def test_every_gauge_has_the_same_effective_init_and_lr(role, m, r, g0):
    a = alpha(500, r, g0)
    ref = layer_scale(role, m, a, "stp")
    for gauge in GAUGES:
        s = layer_scale(role, m, a, gauge)
        assert math.isclose(s.s, ref.s, rel_tol=1e-12) and math.isclose(s.lam, ref.lam, rel_tol=1e-12)
        assert math.isclose((a * s.sigma) ** 2, s.eta, rel_tol=1e-12)  # (alpha sigma)^2 = eta in every gauge
        assert math.isclose(s.lam, a * a * s.s ** 2, rel_tol=1e-12)  # effective lr = alpha^2 x effective var


def test_rescale_gauge_is_standard_normal_with_1_over_alpha_readout():
    a = alpha(256, 0.5, 1.0)
    readin, hidden, readout = scales_for([10, 256, 256], 256, 0.5, 1.0, "rescale")
    assert readin.sigma == hidden.sigma == readout.sigma == 1.0
    assert math.isclose(hidden.g, 1 / math.sqrt(256)) and math.isclose(readout.g, 1 / (a * math.sqrt(256)))
    assert math.isclose(hidden.eta, a * a)


def test_named_points_of_one_family_are_one_network_and_families_differ():
    """ntp / ntp-lr and mup / mup-lr / mfp are gauges of one network each (same function from one draw)."""
    x = torch.randn(6, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    outputs = {}
    for name, (r, gauge) in POINTS.items():
        m = MLP(10, 256, 3, 2, r, 1.0, gauge, dtype=torch.float64)
        m.set_from_normals(draw_normals([tuple(w.shape) for w in m.weights], True, torch.Generator().manual_seed(0),
                                        torch.float64))
        outputs[name] = m(x)
    for name, f in outputs.items():
        ref = outputs[FAMILY[name]]
        assert torch.allclose(f, ref, rtol=1e-12, atol=0), name
    assert (outputs["ntp"] - outputs["mup"]).norm() > 0.5 * outputs["mup"].norm()  # f0 ~ 1/alpha: 16x apart


def test_single_width_degeneracy():
    n = 4096  # (r=1/4, gamma0=1) and (r=1/2, gamma0=n^-1/4) are the same network at width n
    assert math.isclose(alpha(n, 0.25, 1.0), alpha(n, 0.5, n ** -0.25))
    assert math.isclose(finite_richness(alpha(n, 0.5, 2.0), n), 2.0)


def test_r_outside_scale_warns():
    with pytest.warns(RuntimeWarning, match="outputs explode"):
        assert "r=-0.1 < 0" in check_r(-0.1)
    with pytest.warns(RuntimeWarning, match="gradients explode"):
        assert "r=0.75 > 1/2" in check_r(0.75)
    assert check_r(0.25) is None and check_r(0.0) is None and check_r(0.5) is None
