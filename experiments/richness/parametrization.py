"""The richness family of parameterisations (spec sections 5-7).

Richness: alpha = gamma0 * n**r, with r the width exponent (0 = NTK/lazy, 1/2 = muP/rich) and gamma0
a width-independent prefactor. Paper's gamma = alpha (gamma0 = 1); Atanasov et al.'s gamma = gamma0 (r = 1/2).
At one width only alpha matters; r says how alpha moves as the width changes.

For a layer with fan-in m, q = alpha^2/m (read-in, hidden) or 1/m (read-out). Every gauge gives the
same effective init std s = g*sigma = sqrt(q)/alpha and effective learning rate lam = g^2*eta = q, so
they give the same SGD trajectory (V = gW moves by g^2*eta*grad_V).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

GAUGES = ("stp", "mup", "rescale")
ROLES = ("readin", "hidden", "readout")
# Named points (r, gauge) at gamma0 = 1; spec section 7: the three gauges' endpoints r = 0 -> 1/2.
POINTS = {"ntp": (0.0, "mup"), "ntp-lr": (0.0, "stp"), "mup": (0.5, "mup"), "mup-lr": (0.5, "stp"),
          "mfp": (0.5, "rescale")}
FAMILY = {"ntp": "ntp", "ntp-lr": "ntp", "mup": "mup", "mup-lr": "mup", "mfp": "mup"}


@dataclass(frozen=True)
class LayerScale:
    """One layer's multiplier g, optimiser lr factor eta (times the base lr) and raw init std sigma."""
    role: str
    fan_in: int
    g: float
    eta: float
    sigma: float

    @property
    def s(self) -> float:  # effective init std of V = g W
        return self.g * self.sigma

    @property
    def lam(self) -> float:  # effective learning rate of V (times the base lr)
        return self.g * self.g * self.eta


def alpha(width: int, r: float, gamma0: float) -> float:
    return float(gamma0) * float(width) ** float(r)


def finite_richness(alpha_value: float, width: int) -> float:
    """alpha/sqrt(n) = gamma0 * n**(r-1/2): the richness one can measure at finite width."""
    return alpha_value / math.sqrt(width)


def q_factor(role: str, fan_in: int, a: float) -> float:
    assert role in ROLES, role
    return 1.0 / fan_in if role == "readout" else a * a / fan_in


def layer_scale(role: str, fan_in: int, a: float, gauge: str) -> LayerScale:
    """The (g, eta, sigma) of one layer in one gauge (spec section 7 table)."""
    q = q_factor(role, fan_in, a)
    if gauge == "stp":
        return LayerScale(role, fan_in, 1.0, q, math.sqrt(q) / a)
    if gauge == "mup":
        return LayerScale(role, fan_in, math.sqrt(q), 1.0, 1.0 / a)
    assert gauge == "rescale", f"gauge={gauge!r}; validate allows only {GAUGES}"
    return LayerScale(role, fan_in, math.sqrt(q) / a, a * a, 1.0)


def roles_for(n_layers: int) -> list[str]:
    """First weighted layer reads in, last reads out, all others are hidden."""
    assert n_layers >= 2, "need at least a read-in and a read-out layer (validate: depth >= 2)"
    return ["readin"] + ["hidden"] * (n_layers - 2) + ["readout"]


def scales_for(fan_ins: list[int], width: int, r: float, gamma0: float, gauge: str) -> list[LayerScale]:
    a = alpha(width, r, gamma0)
    return [layer_scale(role, m, a, gauge) for role, m in zip(roles_for(len(fan_ins)), fan_ins)]


def check_r(r: float, key: str = "r") -> str | None:
    """r outside [0, 1/2] runs with a warning (returned, for the summary); settings() has checked r is finite."""
    r = float(r)
    assert math.isfinite(r), f"{key}={r}"
    msg = None
    if r < 0:
        msg = f"{key}={r} < 0: outside the richness scale [0, 1/2]; the output at init grows like n^{-r} (outputs explode)"
    elif r > 0.5:
        msg = f"{key}={r} > 1/2: outside the richness scale [0, 1/2]; per-step updates outgrow the features (gradients explode)"
    if msg:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return msg
