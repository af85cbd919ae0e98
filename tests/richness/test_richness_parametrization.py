"""The richness family: closed-form table, gauge invariants, named points, r outside [0, 1/2]."""
import math

import pytest

from repro.experiments.common.errors import ConfigError
from repro.experiments.richness.parametrization import (GAUGES, POINTS, alpha, check_r, finite_richness,
                                                        layer_scale, resolve_point, scales_for)


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


def test_named_points_and_single_width_degeneracy():
    assert POINTS["ntp"] == (0.0, "mup") and POINTS["mup"] == (0.5, "mup") and POINTS["mfp"] == (0.5, "rescale")
    assert resolve_point("mup-lr", 0.1, "rescale") == (0.5, "stp")
    n = 4096  # (r=1/4, gamma0=1) and (r=1/2, gamma0=n^-1/4) are the same network at width n
    assert math.isclose(alpha(n, 0.25, 1.0), alpha(n, 0.5, n ** -0.25))
    assert math.isclose(finite_richness(alpha(n, 0.5, 2.0), n), 2.0)


def test_r_outside_scale_warns_and_non_finite_is_an_error():
    with pytest.warns(RuntimeWarning, match="outputs explode"):
        assert check_r(-0.1) is not None
    with pytest.warns(RuntimeWarning, match="gradients explode"):
        check_r(0.75)
    assert check_r(0.25) is None
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="r="):
            check_r(bad)
