"""Closed-form QWEM dynamics (spec §4): per-mode logistic growth of the singular values of W.

Under gradient flow dW/dt = ½ (M* − W Wᵀ) W (spec §4.1) from an init aligned with the
eigenvectors of M*, every mode k evolves on its own (Lemma 3.1):

    s_k²(t) = 1 / ( e^{−λ_k t} / s_k²(0) + (1 − e^{−λ_k t}) / λ_k ),

which is the spec's logistic written so that it neither overflows for large λt nor divides by
zero at λ = 0 (the bracket tends to t there) and decays for λ < 0. The learning time
τ_k = ln(λ_k / s_k²(0)) / λ_k is where s_k² ≈ λ_k / 2. From a small *random* init the trajectory
follows the same curves up to a rotation (Result 3), with an effective s_k²(0) set by the init
scale (see `initial_sq_singular_values`).

Time conversion (spec §4.5): with the normalised per-step loss the trainers in qwem.py use, one
SGD or GD step with learning rate η advances theory time by Δt = 2 η (1 + k_neg) / (V² |m|), where
m = −mean(M*²) is the loss normaliser.

All functions are float64 numpy and vectorised over modes (last axis) and times (first axis).
"""
from __future__ import annotations

import numpy as np


def initial_sq_singular_values(init_scale: float, d: int, n_modes: int | None = None, rule: str = "dof") -> np.ndarray:
    """Effective s_k²(0) of mode k for W_ij ~ N(0, init_scale²/d) (the authors' init, spec §5.6).

    rule="dof" (default): s_k²(0) = (d − k + 1)·σ² with σ² = init_scale²/d. Mode 1 starts as the
    projection v_1ᵀ W(0), a d-vector of N(0, σ²) entries (squared norm ≈ dσ²); mode k can only grow
    in the d − k + 1 right-directions the earlier modes left free. The exact solution of the flow,
    W Wᵀ(t) = e^{Mt/2} W0 [I + W0ᵀ (e^{Mt} − I) M⁻¹ W0]⁻¹ W0ᵀ e^{Mt/2}, gives this when the modes
    are well separated; tests/word2vec/test_word2vec_theory.py checks it against a float64 flow.
    rule="entry": s_k²(0) = σ² (the spec's [derived] choice, §4.3). rule="authors": s_k²(0) =
    init_scale² = dσ² for every mode (the authors' notebooks). They differ only inside a logarithm.
    """
    n = d if n_modes is None else n_modes
    sigma_sq = float(init_scale) ** 2 / d
    k = np.arange(1, n + 1, dtype=np.float64)
    if rule == "dof":
        return np.maximum(d - k + 1, 1.0) * sigma_sq
    if rule == "entry":
        return np.full(n, sigma_sq)
    assert rule == "authors", rule
    return np.full(n, d * sigma_sq)


def predicted_sq_singular_values(eigvals, s0_sq, t) -> np.ndarray:
    """s_k²(t) for each time in t (shape (T,)) and mode k: array (T, n_modes).

    eigvals: λ_k of M* (any sign); s0_sq: s_k²(0), scalar or per mode.
    """
    lam = np.asarray(eigvals, dtype=np.float64)[None, :]
    s0 = np.broadcast_to(np.asarray(s0_sq, dtype=np.float64), lam.shape[1:])[None, :]
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        decay = np.exp(-lam * t)
        # (1 − e^{−λt}) / λ, continuous through λ = 0 where it equals t.
        growth = np.where(lam == 0, t, -np.expm1(-lam * t) / np.where(lam == 0, 1.0, lam))
        out = 1.0 / (decay / s0 + growth)
    return np.where(np.isfinite(out), out, 0.0)


def learning_times(eigvals, init_scale, d: int | None = None, rule: str = "dof") -> np.ndarray:
    """τ_k = ln(λ_k / s_k²(0)) / λ_k (spec §4.2); +inf for modes with λ_k ≤ s_k²(0) (never learned).

    d=None takes init_scale as s_k(0) itself (the aligned init of Lemma 3.1); else W_ij(0) ~
    N(0, init_scale²/d) with s_k²(0) from initial_sq_singular_values(rule).
    """
    lam = np.asarray(eigvals, dtype=np.float64)
    if d is None:
        s0_sq = np.full(lam.shape, float(init_scale) ** 2)
    else:
        s0_sq = initial_sq_singular_values(init_scale, d, len(lam), rule)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.log(lam / s0_sq) / lam
    return np.where((lam > s0_sq) & np.isfinite(tau), tau, np.inf)


def effective_rank(tau, t) -> np.ndarray:
    """r(t) = #{k : τ_k < t} for each time in t (spec §4.3): the rank an early-stopped model has."""
    tau = np.asarray(tau, dtype=np.float64)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    return (tau[None, :] < t[:, None]).sum(axis=1)


def time_per_step(lr: float, vocab_size: int, k_neg: float, mean_sq_target: float) -> float:
    """Δt = 2 η (1 + k_neg) / (V² |m|), |m| = mean(M*²) (spec §4.5)."""
    return 2.0 * float(lr) * (1.0 + k_neg) / (float(vocab_size) ** 2 * float(mean_sq_target))


def lr_at(step, lr: float, total_steps: int, decay_at: float | None = None, decay: float = 1.0):
    """Piecewise-constant learning rate: lr, times `decay` from step decay_at·total_steps on."""
    step = np.asarray(step)
    if decay_at is None or decay == 1.0:
        return np.full(step.shape, float(lr)) if step.ndim else float(lr)
    switch = int(round(decay_at * total_steps))
    out = np.where(step < switch, float(lr), float(lr) * decay)
    return out if step.ndim else float(out)


def theory_time(step, lr: float, vocab_size: int, k_neg: float, mean_sq_target: float,
                total_steps: int | None = None, decay_at: float | None = None, decay: float = 1.0):
    """Theory time reached after `step` SGD/GD steps (array or scalar): Σ_{s<step} Δt(η_s).

    With a decay (η → decay·η from step decay_at·total_steps on) the time accumulates the smaller
    steps after the switch, so theory curves stay aligned with the measured ones.
    """
    dt = time_per_step(lr, vocab_size, k_neg, mean_sq_target)
    step = np.asarray(step, dtype=np.float64)
    if decay_at is None or decay == 1.0 or total_steps is None:
        return dt * step
    switch = float(int(round(decay_at * total_steps)))
    return dt * (np.minimum(step, switch) + decay * np.maximum(step - switch, 0.0))


def predicted_loss(eigvals, s0_sq, t, k_neg: float, frob_sq_target: float) -> np.ndarray:
    """Normalised loss along the theory trajectory (spec §4.5), one value per time in t:

    ℒ(t) = 1 − ((1 + k_neg) / (4 ‖M*‖_F²)) Σ_a (2 λ_a s_a²(t) − s_a⁴(t)), summed over the modes given.
    """
    lam = np.asarray(eigvals, dtype=np.float64)
    s2 = predicted_sq_singular_values(lam, s0_sq, t)
    return 1.0 - (1.0 + k_neg) / (4.0 * frob_sq_target) * (2.0 * lam[None, :] * s2 - s2**2).sum(axis=1)


def euler_sq_singular_values(eigvals, s0_sq, steps, times) -> np.ndarray:
    """s_k² of each aligned mode under full-batch GD's own map, s ← s + ½Δt(λ − s²)s, at a run's
    logged (step, theory time) points (T,), the per-step Δt read off them: array (T, n_modes).

    The flow grows s² by e^{λΔt} per step early on; the Euler step by (1 + λΔt/2)², so at λ_1Δt = 0.7
    mode 1 switches on 17% after τ_1 (ln 1.35² / 0.7 = 0.857). This is what a GD run is compared
    with to separate the step size from the loss (Dynamics.switch_on).
    """
    lam = np.asarray(eigvals, dtype=np.float64)
    s2 = np.broadcast_to(np.asarray(s0_sq, dtype=np.float64), lam.shape).copy()
    steps, times = np.asarray(steps, np.int64), np.asarray(times, np.float64)
    out = np.empty((len(steps), len(lam)))
    done = 0
    for i, n in enumerate(steps):
        if n > done:
            dt = (times[i] - times[i - 1]) / (n - done)   # constant within a logging interval
            for _ in range(n - done):
                s2 = s2 * (1.0 + 0.5 * dt * (lam - s2)) ** 2
            done = n
        out[i] = s2
    return out


def switch_on_times(times, sq_singular_values, eigvals) -> np.ndarray:
    """First time each measured s_k² reaches λ_k / 2 (linear interpolation between log points).

    times: (T,), sq_singular_values: (T, n) sorted descending per row, eigvals: (n,). NaN if never.
    Used to compare a trained run with learning_times().
    """
    times = np.asarray(times, dtype=np.float64)
    s2 = np.asarray(sq_singular_values, dtype=np.float64)
    half = 0.5 * np.asarray(eigvals, dtype=np.float64)
    out = np.full(half.shape, np.nan)
    for k, h in enumerate(half):
        above = np.nonzero(s2[:, k] >= h)[0]
        if len(above) == 0:
            continue
        i = above[0]
        if i == 0:
            out[k] = times[0]
            continue
        y0, y1 = s2[i - 1, k], s2[i, k]
        frac = (h - y0) / (y1 - y0) if y1 != y0 else 1.0
        out[k] = times[i - 1] + frac * (times[i] - times[i - 1])
    return out


class Dynamics:
    """The predicted dynamics of one QWEM run: top-d eigenvalues λ of M*, init W_ij ~ N(0, init²/d).

    s0_sq (s_k²(0)), tau (τ_k); at theory times t: rank(t) = r(t), sq_sv(t) = s_k²(t), loss(t) = ℒ(t).
    """

    def __init__(self, eigvals, init_scale: float, d: int, rule: str, k_neg: float, frob_sq: float):
        self.lam = np.asarray(eigvals[:d], np.float64)
        self.init_scale, self.d, self.rule, self.k_neg, self.frob_sq = init_scale, d, rule, k_neg, frob_sq
        self.s0_sq = initial_sq_singular_values(init_scale, d, d, rule)
        self.tau = learning_times(self.lam, init_scale, d=d, rule=rule)

    def rank(self, t) -> np.ndarray:
        return effective_rank(self.tau, t)

    def sq_sv(self, t) -> np.ndarray:
        return predicted_sq_singular_values(self.lam, self.s0_sq, t)

    def loss(self, t) -> np.ndarray:
        return predicted_loss(self.lam, self.s0_sq, t, self.k_neg, self.frob_sq)

    def curve(self, t_end: float, rank_accuracy=None, n_points: int = 200) -> dict:
        """Dense curves on a log time grid from 0.05 τ_1 to max(t_end, 1.5 τ_1): s_k(t), ℒ, r(t) and,
        given rank_accuracy(r), the accuracy acc(W_{r(t)}) of the early-stopped closed form."""
        t = np.geomspace(0.05 * self.tau[0], max(t_end, 1.5 * self.tau[0]), n_points)
        r = self.rank(t)
        acc = [rank_accuracy(int(x)) for x in r] if rank_accuracy is not None else []
        return {"t": t, "t_over_tau1": t / self.tau[0], "tau": self.tau, "sv": np.sqrt(self.sq_sv(t)),
                "loss": self.loss(t), "rank": r, "accuracy": acc, "init_scale": self.init_scale, "rule": self.rule}

    def switch_on(self, times, sq_sv, n_modes: int = 10, steps=None) -> dict:
        """Measured switch-on times of the first modes over τ_k, the worst relative error, τ_1 and
        the last time over τ_1 (times (T,), sq_sv (T, ≥ n) measured s_k²). Given the logged steps
        of a full-batch GD run, also over the switch-on times of GD's own map sampled at the same
        points (euler_sq_singular_values): what is left there is the loss, not the step size or
        the logging interval."""
        times, s2 = np.asarray(times), np.asarray(sq_sv)
        n = min(n_modes, len(self.lam), s2.shape[1])
        measured = switch_on_times(times, s2[:, :n], self.lam[:n])
        out = {"switch_on_over_tau": measured / self.tau[:n], "tau1": float(self.tau[0]),
               "final_t_over_tau1": float(times[-1] / self.tau[0])}
        out["switch_on_max_rel_err"] = _worst(out["switch_on_over_tau"])
        if steps is not None:
            euler = euler_sq_singular_values(self.lam[:n], self.s0_sq[:n], steps, times)
            out["switch_on_over_gd_map"] = measured / switch_on_times(times, euler, self.lam[:n])
            out["switch_on_gd_map_max_rel_err"] = _worst(out["switch_on_over_gd_map"])
        return out


def _worst(ratio: np.ndarray) -> float | None:
    return float(np.nanmax(np.abs(ratio - 1))) if np.isfinite(ratio).any() else None
