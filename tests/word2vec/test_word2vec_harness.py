"""The harness's SGNS loss (spec §5.5): the exact population loss and gradient against autograd of
the per-pair costs summed from the spec's weight formulas (float64), and full-batch GD against
minibatch SGD on the theory-time axis. Synthetic statistics generated in the test."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from repro.experiments.word2vec import harness_sgns, models, targets
from repro.experiments.word2vec.sgns_population import PairMass, Population, pair_cost


def stats(V=40, seed=0, zipf=0.8):
    rng = np.random.default_rng(seed)
    Pi = 1.0 / np.arange(1, V + 1) ** zipf
    Pi /= Pi.sum()
    U, _ = np.linalg.qr(rng.normal(size=(V, 5)))
    S = (U * (4 * 0.7 ** np.arange(5))) @ U.T + 0.1 * rng.normal(size=(V, V))
    P = np.outer(Pi, Pi) * np.exp((S + S.T) / 2)
    P[rng.random((V, V)) < 0.05] = 0.0  # some pairs never co-occur
    P = (P + P.T) / 2
    return P / P.sum() * 0.98, Pi  # ΣP < 1, as article edges make it


def spec_masses(P, Pi, mode, k, t=1e-3):
    """A = q⁺P/ΣP and B = k q⁻ π_iπ_j straight from spec §5.4 (independent of models.PairWeights)."""
    V = len(Pi)
    pi = Pi / Pi.sum()
    PP = np.outer(pi, pi)
    if mode == "omniscient":
        Pn = P / P.sum()
        G = P + k * np.outer(Pi, Pi)
        q = G.mean() / G
        return q * Pn, k * q * PP, -np.mean(targets.m_star(P, Pi, k) ** 2)
    if mode == "sgns":
        a = np.minimum(1.0, t / Pi + np.sqrt(t / Pi))
        a /= a.mean()
        n = Pi**0.75 / Pi
        n /= n.mean()
        return np.outer(a, a) * P / P.sum(), k * 0.5 * (np.outer(a, n) + np.outer(n, a)) * PP, -0.12
    inv = 1.0 / (V * Pi)
    return np.outer(inv, inv) * P / P.sum(), k * np.outer(inv, inv) * PP, -0.5


@pytest.mark.parametrize("loss", ["sgns", "quartic"])
@pytest.mark.parametrize("mode", ["sgns", "omniscient", "unigram"])
@pytest.mark.parametrize("dtype_path", ["blas", "matmul"])
def test_population_gradient_matches_autograd(loss, mode, dtype_path):
    """ℒ(W) and ∂ℒ/∂W of the population against autograd of Σ_ij [A cost(−) + B cost(+)] (float64)."""
    P, Pi = stats()
    k = 2.0
    A, B, m = spec_masses(P, Pi, mode, k)
    W = torch.tensor(np.random.default_rng(1).normal(scale=0.7, size=(len(Pi), 4)), requires_grad=True)
    x = W @ W.T
    ref = 1 + (torch.from_numpy(A) * pair_cost(x, -torch.ones(()), loss)[0]
               + torch.from_numpy(B) * pair_cost(x, torch.ones(()), loss)[0]).sum() / abs(m)
    ref.backward()
    mass = PairMass(P, Pi, mode, k, 1e-3, loss)
    assert mass.m == pytest.approx(m, rel=1e-12)
    pop = Population(mass, torch.float64)
    pop.blas = dtype_path == "blas"
    if not pop.blas:
        pop.buf = torch.empty(len(Pi), len(Pi), dtype=torch.float64)
    for _ in range(2):  # the second call reuses the work buffer (stale lower triangle)
        grad, value = pop.gradient(W.detach().clone(), want_loss=True)
        np.testing.assert_allclose(grad.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-14)
        assert value == pytest.approx(float(ref.detach()), rel=1e-12)
    assert pop.loss(W.detach()) == pytest.approx(float(ref.detach()), rel=1e-12)


def test_zero_embedding_costs_one_and_sgns_is_half_quartic_near_zero():
    """ℒ(0) = 1 for both losses; for tiny W the sgns drop is half the quartic one (the factor in time_per_lr)."""
    P, Pi = stats()
    W = torch.tensor(np.random.default_rng(2).normal(scale=1e-4, size=(len(Pi), 3)))
    drops = {}
    for loss in ("sgns", "quartic"):
        pop = Population(PairMass(P, Pi, "omniscient", 1.0, 0.0, loss), torch.float64)
        assert pop.loss(torch.zeros(len(Pi), 3, dtype=torch.float64)) == pytest.approx(1.0, abs=1e-15)
        drops[loss] = 1 - pop.loss(W)
    assert drops["sgns"] == pytest.approx(0.5 * drops["quartic"], rel=1e-6)
    P = P / P.sum()  # Setting 3.1 with normalised statistics: S = mean(G) = (1 + k)/V² everywhere
    sg = PairMass(P, Pi, "omniscient", 1.0, 0.0, "sgns")
    assert sg.time_per_lr * 2 == pytest.approx(PairMass(P, Pi, "omniscient", 1.0, 0.0, "quartic").time_per_lr)
    np.testing.assert_allclose(sg.S.numpy(), 2.0 / len(Pi) ** 2, rtol=1e-12)
    assert sg.mean_S == pytest.approx(2.0 / len(Pi) ** 2, rel=1e-12)


def settings_for(steps, lr, batch, loss="sgns", mode="sgns", log_every=10, init=0.1, d=3):
    t = SimpleNamespace(log_every=log_every, lr_decay_at=0.75, lr_decay=1.0, subsample=1e-3, compile=False)
    h = SimpleNamespace(loss=loss, reweight=mode)
    r = SimpleNamespace(d=d, negatives=1.0, steps=steps, lr=lr, batch_size=batch, init_scale=init,
                        dtype="float64", seed=0)
    return t, h, r


def record(fn, P, Pi, t, h, r):
    rows = []
    W = fn(P, Pi, t, h, r, "cpu", lambda step, W, info: rows.append((step, info["theory_time"], W)))
    return W, rows


@pytest.mark.parametrize("mode", ["sgns", "omniscient"])
def test_full_batch_gd_and_minibatch_sgd_share_the_loss_curve_on_theory_time(mode):
    """Same lr, same init: GD's exact loss and the exact loss of SGD's W agree at every logged theory
    time within 5% of the total drop (what is left is SGD's noise floor: it shrinks with the batch),
    while GD's own curve moves by far more than that between two logs (so a wrong time axis fails)."""
    P, Pi = stats(V=30)
    exact = Population(PairMass(P, Pi, mode, 1.0, 1e-3, "sgns"), torch.float64)
    tpl = PairMass(P, Pi, mode, 1.0, 1e-3, "sgns", store=False).time_per_lr
    lr = 0.05 / tpl  # theory time 0.05 per step
    t, h, r = settings_for(120, lr, 20000, mode=mode)
    _, gd = record(harness_sgns.train_harness_gd, P, Pi, t, h, r)
    _, sgd = record(harness_sgns.train_harness_sgd, P, Pi, t, h, r)
    assert [s for s, *_ in gd] == [s for s, *_ in sgd]
    np.testing.assert_allclose([x for _, x, _ in gd], [x for _, x, _ in sgd], rtol=1e-12)
    np.testing.assert_allclose([x for _, x, _ in gd], 0.05 * np.array([s for s, *_ in gd]), rtol=1e-9)
    l_gd = np.array([exact.loss(torch.from_numpy(W)) for *_, W in gd])
    l_sgd = np.array([exact.loss(torch.from_numpy(W)) for *_, W in sgd])
    drop = l_gd[0] - l_gd[-1]
    assert drop > 0.02, l_gd
    assert np.all(np.diff(l_gd) <= 1e-12), l_gd  # GD on the exact loss descends at this step size
    assert np.max(np.abs(l_sgd - l_gd)) < 0.05 * drop, (l_gd, l_sgd)
    assert np.max(np.abs(np.diff(l_gd))) > 0.2 * drop


def test_gd_small_init_under_setting_31_follows_quartic_early_and_logs_exact_loss():
    """From a small init the sgns-loss GD under Setting 3.1 weights grows mode 1 at the quartic's rate
    (the same theory time), i.e. s_1² first reaches λ_1/2 within 20% of τ_1, and its logged loss is
    the exact ℒ of the W handed to the callback."""
    from repro.experiments.word2vec import theory

    P, Pi = stats(V=30)
    M = targets.m_star(P, Pi, 1.0)
    lam = np.linalg.eigvalsh(M)[::-1]
    init, d = 1e-6, 3
    tau = theory.learning_times(lam[:d], init, d)
    mass = PairMass(P, Pi, "omniscient", 1.0, 0.0, "sgns")
    dt = 0.05 / lam[0]
    t, h, r = settings_for(int(1.6 * tau[0] / dt), dt / mass.time_per_lr, None, mode="omniscient", log_every=2,
                           init=init, d=d)
    t.subsample = 0.0
    rows, losses = [], []
    harness_sgns.train_harness_gd(P, Pi, t, h, r, "cpu",
                                  lambda s, W, info: (rows.append((info["theory_time"], W)), losses.append(info["loss"])))
    pop = Population(mass, torch.float64)
    np.testing.assert_allclose(losses, [pop.loss(torch.from_numpy(W)) for _, W in rows], rtol=1e-12)
    times = np.array([x for x, _ in rows])
    s2 = np.array([np.linalg.svd(W, compute_uv=False) ** 2 for _, W in rows])
    on = theory.switch_on_times(times, s2[:, :1], lam[:1])[0]
    assert abs(on / tau[0] - 1) < 0.2, (on, tau[0])


def test_models_weights_are_what_the_population_uses():
    """PairMass's A is q⁺P/ΣP with models.PairWeights' q⁺ (one table of weights, spec §5.4)."""
    P, Pi = stats(V=12)
    for mode in ("sgns", "omniscient", "unigram"):
        A, B, _ = spec_masses(P, Pi, mode, 1.0)
        mass = PairMass(P, Pi, mode, 1.0, 1e-3, "sgns")
        np.testing.assert_allclose(mass.A.numpy(), A, rtol=1e-12)
        np.testing.assert_allclose(mass.S.numpy(), A + B, rtol=1e-12)
    assert models.REWEIGHTINGS == ("omniscient", "sgns", "unigram")


def test_gd_at_an_unstable_step_goes_back_halves_the_lr_and_still_covers_the_time(capsys):
    """At 4x a stable step plain GD diverges (sgns weights: uneven curvature). The run goes back to
    its last logged point, halves the lr, and ends at the planned theory time on one descending
    trajectory, near the stable run's loss at the same time; with no halvings allowed it is a
    one-line Diverged."""
    from repro.experiments.common.errors import Diverged

    P, Pi = stats(V=30)
    tpl = PairMass(P, Pi, "sgns", 1.0, 1e-3, "sgns", store=False).time_per_lr
    t, h, r = settings_for(200, 0.2 / tpl, None, mode="sgns", init=0.1)
    with pytest.raises(Diverged, match="halved 0 times"):
        harness_sgns.train_harness_gd(P, Pi, t, h, r, "cpu", max_halvings=0)
    rows = []
    harness_sgns.train_harness_gd(P, Pi, t, h, r, "cpu", lambda s, W, info: rows.append(
        (s, info["theory_time"], info["loss"], info["lr"])))
    steps, times, losses, lrs = map(np.array, zip(*rows))
    assert "back to step" in capsys.readouterr().err and lrs[-1] < lrs[0]
    assert np.all(np.diff(steps) > 0) and np.all(np.diff(times) > 0) and times[-1] == pytest.approx(40.0, rel=1e-12)
    assert np.all(np.diff(losses) <= 1e-12)
    t2, _, r2 = settings_for(800, 0.05 / tpl, None, mode="sgns", init=0.1)
    stable = []
    harness_sgns.train_harness_gd(P, Pi, t2, h, r2, "cpu", lambda s, W, info: stable.append(info["loss"]))
    assert abs(losses[-1] - stable[-1]) < 0.02 * (stable[0] - stable[-1]), (losses[-1], stable[-1])
