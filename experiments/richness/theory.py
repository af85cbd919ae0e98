"""Predictions: the width exponents of spec section 9, log-log slope fits, and the lazy limit
(the linearised model trained by full-batch GD = kernel regression with the initial NTK, section 10).
"""
from __future__ import annotations

import numpy as np
import torch

# quantity -> (exponent in n as a function of r, spec tag). One SGD step, fixed batch.
EXPONENTS = {
    "h_init_coord": (lambda r: 0.0, "criterion [A]: ||h_l||/sqrt(n) at init"),
    "f0_norm": (lambda r: -r, "[D] output at init ~ 1/alpha"),
    "df_norm": (lambda r: 0.0, "NTC [N] output change per step"),
    "dh_norm": (lambda r: r, "definition [A] hidden update ||dh_l||"),
    "dh_rel": (lambda r: r - 0.5, "[D]; E2 [A] relative hidden update ||dh_l||/||h_l||"),
    "grad_h": (lambda r: -r, "[N] backward signal ||dL/dh_l||"),
    "dW_hidden_op": (lambda r: r - 0.5, "[D] hidden ||dW||_op/||W||_op"),
    "dW_hidden_fro": (lambda r: r - 1.0, "[D] hidden ||dW||_F/||W||_F (while rank dW << n)"),
    "dW_readin_fro": (lambda r: r - 0.5, "[D] read-in relative change (Frobenius)"),
    "dW_readout_op": (lambda r: r - 0.5, "[D] read-out relative change (spectral)"),
    "dW_readout_fro": (lambda r: r - 0.5, "[D] read-out relative change (Frobenius)"),
}


# Reported beside the table but not checked: the read-in's spectral ratio reaches r - 1/2 only once
# n >> d (||W_1||_op ~ s_1 (sqrt(n) + sqrt(d)) with d = 784 for MNIST); measured +0.25 off at n = 256..2048.
EXTRA = {
    "dW_readin_op": (lambda r: r - 0.5, "[D] read-in spectral ratio; asymptotic only for n >> d"),
    "ntk_change_one_step": (lambda r: r - 0.5, "spec row's exponent shown for comparison; after ONE small step the "
                            "change is linear in lr and its leading terms are random-sign sums that cancel, so it "
                            "under-measures the O(1)-time change (measured about r/2 - 3/4, see README)"),
    "ntk_change_weights": (lambda r: 2 * r - 1, "[D, ours] NTK change with ReLU patterns frozen at init: the "
                           "first-order term ~ alpha/n cancels in sign, the second-order (alpha/sqrt n)^2 = n^(2r-1) stays"),
    "ntk_change_flips": (lambda r: r / 2 - 0.75 if r < 0.5 else 0.0,
                         "[D, ours] NTK change from units whose pre-activation changed sign: for r < 1/2 a fraction "
                         "~ alpha/sqrt n of units flips, random-sign sum ~ sqrt(alpha/sqrt n / n) = n^(r/2-3/4); at "
                         "r = 1/2 an O(1) fraction flips and the part is O(1)"),
}

# Rows of spec section 9 that the measurement contradicts: reported with the measured slope beside the
# prediction and the reason, never counted as passed checks and never given a wider tolerance.
# quantity -> (spec's exponent, spec tag, our derived exponent, reason).
DEVIATIONS = {
    "ntk_change": (
        lambda r: r - 0.5,
        "[D]; at r = 0 the classical n^-1/2 [U for other r]: relative NTK change after O(1) steps",
        lambda r: max(2 * r - 1, r / 2 - 0.75),
        "measured after an O(1) training time (full-batch GD on the probe batch, ntk_steps steps at ntk_lr_frac of "
        "the stable lr): the change is second order in the feature change, not first. Split by freezing the ReLU "
        "patterns of init: the weight part scales as (alpha/sqrt n)^2 = n^(2r-1) (first-order terms are random-sign "
        "sums, ~alpha/n) and the pattern-flip part as n^(r/2-3/4) (a fraction alpha/sqrt n of units flips, with "
        "random signs). So r - 1/2 holds only at r = 1/2; at r = 0 the sqrt2-ReLU MLP gives about n^-3/4, at r = 1/4 "
        "about n^-1/2. Our derived exponent max(2r-1, r/2-3/4) [D, ours] is shown beside, not checked.",
    ),
}


def predicted_exponent(quantity: str, r: float) -> float:
    table = {**EXPONENTS, **EXTRA, **{q: v[:2] for q, v in DEVIATIONS.items()}}
    return float(table[quantity][0](r))


def fit_slope(widths, values, n_boot: int = 200, seed: int = 0) -> dict:
    """Slope of log(mean over trials) against log(width), with a bootstrap 95% interval over trials.

    values: array (n_widths, n_trials). Means before logs, as the author's E2 plot averages trials.
    """
    widths = np.asarray(widths, dtype=float)
    v = np.asarray(values, dtype=float)
    lx = np.log(widths)

    def slope(m):
        return float(np.polyfit(lx, np.log(m), 1)[0])

    est = slope(v.mean(axis=1))
    rng = np.random.default_rng(seed)
    t = v.shape[1]
    boots = [slope(v[:, rng.integers(0, t, t)].mean(axis=1)) for _ in range(n_boot)] if t > 1 else [est]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"slope": est, "ci95": [float(lo), float(hi)]}


def linearized_gd(theta: torch.Tensor, theta_test: torch.Tensor, r0: torch.Tensor, f0_test: torch.Tensor,
                  lr: float, steps: int, n_train: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact full-batch GD of the linearised model on L = (1/2P) sum ||f - y||^2, in float64.

    theta: (Pk, Pk) train NTK, theta_test: (Qk, Pk), r0 = f0(X) - Y flattened (Pk), f0_test (Qk).
    Train residual: (I - lr/P Theta)^t r0. Test: f0(x) - Theta(x,X) Theta^-1 [I - (I - lr/P Theta)^t] r0,
    evaluated in Theta's eigenbasis; (1 - (1 - c e)^t)/e -> c t as e -> 0, so no inverse of tiny eigenvalues.
    """
    theta, theta_test, r0, f0_test = (t.double() for t in (theta, theta_test, r0, f0_test))
    e, u = torch.linalg.eigh(0.5 * (theta + theta.T))
    c = lr / n_train
    decay = (1.0 - c * e) ** steps
    small = e.abs() < 1e-12 * e.abs().max()
    gain = torch.where(small, torch.full_like(e, c * steps), (1.0 - decay) / torch.where(small, torch.ones_like(e), e))
    coeff = u.T @ r0
    r_train = u @ (decay * coeff)
    f_test = f0_test - theta_test @ (u @ (gain * coeff))
    return r_train, f_test


def kernel_regression(theta: torch.Tensor, theta_test: torch.Tensor, r0: torch.Tensor, f0_test: torch.Tensor,
                      jitter: float = 0.0) -> torch.Tensor:
    """t -> infinity: f0(x) + Theta(x,X) Theta^-1 (Y - f0(X)) (Cholesky, optional tiny jitter)."""
    theta = theta.double()
    n = theta.shape[0]
    chol = torch.linalg.cholesky(theta + jitter * theta.diagonal().mean() * torch.eye(n, dtype=theta.dtype))
    return f0_test.double() - theta_test.double() @ torch.cholesky_solve(r0.double().unsqueeze(1), chol).squeeze(1)


def refined_argmin(xs, values) -> float | None:
    """The minimiser of values(x) on a log-spaced grid xs, refined by the parabola through the best grid point and
    its two neighbours in log x (kept within one grid step); None when no value is finite. At a grid end the end
    point is returned (the optimum may lie beyond the grid: say so beside it)."""
    xs, v = np.log(np.asarray(xs, dtype=float)), np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    if not finite.any():
        return None
    j = int(np.argmin(np.where(finite, v, np.inf)))
    if j == 0 or j == len(v) - 1 or not (finite[j - 1] and finite[j + 1]):
        return float(np.exp(xs[j]))
    y0, y1, y2 = v[j - 1], v[j], v[j + 1]
    step = xs[j + 1] - xs[j]
    denom = y0 - 2 * y1 + y2
    offset = 0.5 * step * (y0 - y2) / denom if denom > 0 else 0.0
    return float(np.exp(xs[j] + float(np.clip(offset, -step, step))))


def fit_line(x, y) -> float | None:
    """Slope of log y against log x (None with fewer than two points)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) >= 2 else None
