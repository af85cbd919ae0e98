"""QWEM trainers against the closed form (Theorem 1) and the closed-form dynamics (spec §4).

Synthetic statistics: P_ij = P_i P_j exp(S_ij) with S a planted rank-12 symmetric matrix plus
noise, so M* = 2 tanh(PMI/2) has a well-separated top spectrum. Generated in the test.
"""
import dataclasses

import numpy as np
import pytest
import torch

from repro.experiments.common.compile import compiled_or_eager
from repro.experiments.word2vec import eigen, models, qwem, targets, theory
from repro.experiments.word2vec.sampling import AliasTable, PairSampler
from repro.experiments.word2vec.settings import resolve


def synthetic_stats(V=80, rank=12, zipf=0.3, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    Pi = 1.0 / np.arange(1, V + 1) ** zipf
    Pi /= Pi.sum()
    U, _ = np.linalg.qr(rng.normal(size=(V, rank)))
    S = (U * (12 * 0.8 ** np.arange(rank))) @ U.T + noise * rng.normal(size=(V, V))
    S = (S + S.T) / 2
    P = np.outer(Pi, Pi) * np.exp(S)
    return P / P.sum(), Pi


def eig_desc(M):
    w, v = np.linalg.eigh(M)
    return w[::-1], v[:, ::-1]


def lr_for(dt_lambda1, lam1, M, k_neg=1.0):
    """The lr whose theory step Δt = 2η(1+k)/(V²|m|) equals dt_lambda1/λ_1."""
    V = M.shape[0]
    return dt_lambda1 / lam1 * V**2 * np.mean(M**2) / (2 * (1 + k_neg))


def exact_loss(W, M, k_neg=1.0):
    """The normalised Setting 3.1 loss 1 + ((1+k)/(4‖M‖²))(‖WWᵀ − M‖² − ‖M‖²), straight from its definition."""
    return 1 + (1 + k_neg) / (4 * np.sum(M**2)) * (np.sum((W @ W.T - M) ** 2) - np.sum(M**2))


def run_recording(fn, P, Pi, t, r, M=None):
    times, s2, losses, exact = [], [], [], []

    def cb(step, W, info):
        times.append(info["theory_time"])
        s2.append(np.linalg.svd(W, compute_uv=False) ** 2)
        losses.append(info["loss"])
        if M is not None:
            exact.append(exact_loss(W, M))

    W = fn(P, Pi, t, r, "cpu", cb)
    return W, np.array(times), np.array(s2), np.array(losses), np.array(exact)


def small_init_problem(d: int, init: float):
    """The synthetic statistics, M*, its eigenpairs, τ_k for a small init, the GD step dt = 0.1/λ_1
    and the trainer's Resolved fields shared by the small-init tests (steps set by each test)."""
    P, Pi = synthetic_stats()
    M = targets.m_star(P, Pi, 1.0)
    lam, vec = eig_desc(M)
    tau = theory.learning_times(lam[:d], init, d)
    res = dict(d=d, lr=float(lr_for(0.1, lam[0], M)), batch_size=3000, init="small", init_scale=init)
    return P, Pi, M, lam, vec, tau, 0.1 / lam[0], res


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_small_init_learns_modes_in_order_at_predicted_times(method, trainer):
    """Each of the first 10 modes switches on (s_k² = λ_k/2) within 15% of τ_k, in order."""
    d, init = 12, 1e-6
    P, Pi, M, lam, _, tau, dt, res = small_init_problem(d, init)
    t, r = trainer(f"qwem_{method}", dict(log_every=5, lr_decay=1.0), steps=int(1.3 * tau[9] / dt), seed=0, **res)
    fn = qwem.train_qwem_gd if method == "gd" else qwem.train_qwem_sgd
    _, times, s2, losses, exact = run_recording(fn, P, Pi, t, r, M)
    on = theory.switch_on_times(times, s2, lam[:d])[:10]
    assert np.all(np.isfinite(on)), on
    assert np.all(np.diff(on) > 0), on
    np.testing.assert_array_less(np.abs(on / tau[:10] - 1), 0.15)
    # The step-0 loss is the exact loss of the initial W. GD ends where the theory loss does; SGD's
    # logged minibatch loss is an unbiased estimate of the exact loss of its W (which sits above
    # theory by SGD noise). Both fall far below their start.
    assert losses[0] == pytest.approx(exact[0], abs=1e-12)
    pred = theory.predicted_loss(lam[:d], theory.initial_sq_singular_values(init, d), times, 1, np.sum(M**2))
    assert exact[-1] < losses[0] - 0.3
    if method == "gd":
        assert abs(losses[-1] - pred[-1]) < 2e-3
        np.testing.assert_allclose(losses, exact, atol=1e-9)
    else:
        assert abs(losses[-20:].mean() - exact[-20:].mean()) < 0.02
        assert exact[-1] < pred[0] - 0.3


def test_gd_converges_to_closed_form_spectrum(trainer):
    P, Pi = synthetic_stats(V=60)
    M = targets.m_star(P, Pi, 1.0)
    lam, vec = eig_desc(M)
    d = 6
    tau = theory.learning_times(lam[:d], 1e-4, d)
    t, r = trainer("qwem_gd", dict(log_every=10_000, lr_decay=1.0), d=d, lr=float(lr_for(0.2, lam[0], M)),
                   steps=int(3 * tau[-1] * lam[0] / 0.2), init_scale=1e-4, seed=1)
    W = qwem.train_qwem_gd(P, Pi, t, r, "cpu")
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False) ** 2, lam[:d], rtol=1e-3)
    # W Wᵀ is the best rank-d approximation V_d Λ_d V_dᵀ (Theorem 1).
    best = (vec[:, :d] * lam[:d]) @ vec[:, :d].T
    assert np.linalg.norm(W @ W.T - best) / np.linalg.norm(best) < 1e-2


def test_sgd_final_embedding_spans_top_eigenspace(trainer):
    """SGD with the paper's lr decay ends in the top-d eigenspace of M* (overlap ≥ 0.95)."""
    d = 5
    P, Pi, M, lam, vec, tau, dt, res = small_init_problem(d, init=1e-3)
    t, r = trainer("qwem_sgd", dict(log_every=10_000, lr_decay_at=0.75, lr_decay=0.1), steps=int(2.5 * tau[-1] / dt),
                   seed=2, **res)
    W = qwem.train_qwem_sgd(P, Pi, t, r, "cpu")
    assert eigen.subspace_overlap(W, vec[:, :d]) >= 0.95
    assert eigen.subspace_overlap(W, vec[:, d:2 * d]) < 0.05


def test_sgd_step_is_unbiased_estimate_of_gd_step():
    """Averaged over pairs, one fused SGD update equals the GD update Δt·½(M* − WWᵀ)W (spec §4.5)."""
    P, Pi = synthetic_stats(V=30, rank=4)
    M = targets.m_star(P, Pi, 1.0)
    lam, vec = eig_desc(M)
    d, B = 3, 400_000
    W0 = vec[:, :d] * np.sqrt(lam[:d]) * 0.5
    lr = float(lr_for(0.05, lam[0], M))
    expected = theory.time_per_step(lr, 30, 1, np.mean(M**2)) * 0.5 * (M @ W0 - W0 @ (W0.T @ W0))
    sign = torch.cat([-torch.ones(B), torch.ones(B)]).double()
    got = []
    for seed in range(4):
        gen = torch.Generator().manual_seed(seed)
        sampler, uni = PairSampler(P, "cpu"), AliasTable(Pi, "cpu")
        i, j = sampler.sample(B, gen)
        I, J = torch.cat([i, uni.draw(B, gen)]), torch.cat([j, uni.draw(B, gen)])
        weights = models.PairWeights("omniscient", sampler, torch.tensor(Pi), 1.0, float(np.mean(M**2)), 0.0)
        W = torch.tensor(W0)
        qwem.qwem_sgd_update(W, I, J, weights.positive(I, J), sign, torch.tensor(lr / (B * np.mean(M**2))))
        got.append(W.numpy() - W0)
    rel = np.linalg.norm(np.mean(got, 0) - expected) / np.linalg.norm(expected)
    assert rel < 0.05, rel


def test_pair_sampler_matches_joint_distribution():
    P, _ = synthetic_stats(V=12, rank=3)
    P[0, 5] = P[5, 0] = 0.0  # a pair that never co-occurs is never drawn
    P /= P.sum()
    sampler = PairSampler(P, "cpu")
    i, j = sampler.sample(600_000, torch.Generator().manual_seed(0))
    freq = np.bincount((i * 12 + j).numpy(), minlength=144).reshape(12, 12) / 600_000
    assert freq[0, 5] == 0 and freq[5, 0] == 0
    np.testing.assert_allclose(freq, P, atol=4 * np.sqrt(P.max() / 600_000))


def test_alias_table_draws_distribution():
    p = np.array([0.5, 0.25, 0.125, 0.0, 0.125])
    x = AliasTable(p, "cpu").draw(400_000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(np.bincount(x, minlength=5) / 400_000, p, atol=3e-3)


def test_omniscient_weights_make_G_constant():
    """Setting 3.1: q·(P_ij + k P_iP_j) = mean(G) for every pair, so M* is 2(P − kPP)/(P + kPP)."""
    P, Pi = synthetic_stats(V=20, rank=3)
    for k in (1.0, 2.0):
        w = models.PairWeights("omniscient", PairSampler(P, "cpu"), torch.tensor(Pi), k, 1.0, 0.0)
        i, j = (x.reshape(-1) for x in torch.meshgrid(torch.arange(20), torch.arange(20), indexing="ij"))
        G = P[i, j] + k * Pi[i] * Pi[j]
        np.testing.assert_allclose(w.positive(i, j).numpy() * G, G.mean(), rtol=1e-12)
        np.testing.assert_allclose(w.negative(i, j).numpy(), w.positive(i, j).numpy())


@pytest.mark.parametrize("mode", ["sgns", "unigram"])
def test_other_reweightings_train(mode, trainer):
    """The sgns and unigram weights are trainable targets too: the minibatch loss falls well below its start."""
    P, Pi = synthetic_stats(V=40, rank=4)
    t, r = trainer("qwem_sgd", dict(reweight=mode, log_every=10), d=4, lr=0.5, steps=200, batch_size=2000,
                   init="w2v", init_scale=0.1, seed=0)
    _, _, _, losses, _ = run_recording(qwem.train_qwem_sgd, P, Pi, t, r)
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < losses[1] - 0.05, losses


def reference_update(W, I, J, qk, sign, scale_lr):
    """The fused update written pair by pair: loss qk(sign·x + x²/4), gradient qk(sign + x/2) on both
    rows, every pair seeing the table as it was before the update."""
    W0, W1, loss = W.copy(), W.copy(), 0.0
    for p in range(len(I)):
        a, b = I[p], J[p]
        x = W0[a] @ W0[b]
        loss += qk[p] * (sign[p] * x + 0.25 * x * x)
        g = qk[p] * (sign[p] + 0.5 * x) * scale_lr
        W1[a] -= g * W0[b]
        W1[b] -= g * W0[a]
    return W1, loss


def test_fused_update_equals_pairwise_reference():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(20, 4, generator=g, dtype=torch.float64)
    I, J = torch.randint(0, 20, (16,), generator=g), torch.randint(0, 20, (16,), generator=g)
    qk = torch.rand(16, generator=g, dtype=torch.float64)
    sign = torch.cat([-torch.ones(8), torch.ones(8)]).double()
    ref, ref_loss = reference_update(W.numpy(), I.numpy(), J.numpy(), qk.numpy(), sign.numpy(), 0.3)
    A = W.clone()
    loss = qwem.qwem_sgd_update(A, I, J, qk, sign, torch.tensor(0.3, dtype=torch.float64))
    assert float(loss) == pytest.approx(ref_loss)
    np.testing.assert_allclose(A.numpy(), ref, atol=1e-12)


@pytest.mark.slow
def test_compiled_qwem_update_equals_eager():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(30, 5, generator=g, dtype=torch.float64)
    I, J = torch.randint(0, 30, (64,), generator=g), torch.randint(0, 30, (64,), generator=g)
    qk, sign = torch.rand(64, generator=g, dtype=torch.float64), torch.cat([-torch.ones(32), torch.ones(32)]).double()
    lr = torch.tensor(0.1, dtype=torch.float64)
    A, B = W.clone(), W.clone()
    la = qwem.qwem_sgd_update(A, I, J, qk, sign, lr)
    lb = compiled_or_eager(qwem.qwem_sgd_update, True)(B, I, J, qk, sign, lr)
    torch.testing.assert_close(A, B)
    assert float(la) == pytest.approx(float(lb))


def test_gd_default_step_is_a_fraction_of_top_eigenvalue(quick_settings):
    """lr and dt_per_step null: settings.resolve takes the Euler step Δt = gd_dt/λ_1."""
    P, Pi = synthetic_stats(V=40, rank=4)
    M = targets.m_star(P, Pi, 1.0)
    lam, _ = eig_desc(M)
    t = dataclasses.replace(quick_settings.train, method="qwem_gd", lr=None, dt_per_step=None, steps=2, log_every=1,
                            lr_decay=1.0, init_scale=1e-3)
    s = dataclasses.replace(quick_settings, train=t, d=3)
    r = resolve(s, lam[0], float(np.sum(M**2)), "cpu", 1)
    assert r.lr_rule == "train.gd_dt / lambda_1"
    infos = []
    qwem.train_qwem_gd(P, Pi, t, r, "cpu", lambda s, W, info: infos.append(info))
    assert infos[1]["theory_time"] * lam[0] == pytest.approx(t.gd_dt, rel=1e-9)


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_too_large_a_step_raises_diverged(method, trainer):
    """Both trainers raise the one divergence type, naming the knob to turn."""
    from repro.experiments.common.errors import Diverged

    P, Pi = synthetic_stats(V=30, rank=4)
    M = targets.m_star(P, Pi, 1.0)
    lam, _ = eig_desc(M)
    t, r = trainer(f"qwem_{method}", dict(log_every=5), d=3, lr=float(lr_for(50.0, lam[0], M)), steps=200,
                   batch_size=500, init="w2v", init_scale=0.5, seed=0)
    fn = qwem.train_qwem_gd if method == "gd" else qwem.train_qwem_sgd
    with pytest.raises(Diverged, match="lower train.lr"):
        fn(P, Pi, t, r, "cpu")
