"""Co-occurrence counts vs brute force; M*, PMI, PPMI identities; eigensolvers vs LAPACK."""
import numpy as np
import pytest

from repro.experiments.word2vec import cooccurrence as K, eigen, targets as T


def random_corpus(rng, V=12, n=400, n_articles=7):
    ids = rng.integers(0, V, n).astype(np.int32)
    cuts = np.sort(rng.choice(np.arange(1, n), n_articles - 1, replace=False))
    starts = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    return ids, starts


@pytest.mark.parametrize("window,chunk", [(1, 10**8), (3, 10**8), (16, 10**8), (5, 7)])
def test_cooccurrence_equals_brute_force(window, chunk):
    rng = np.random.default_rng(window)
    ids, starts = random_corpus(rng)
    co = K.count_cooccurrences(ids, starts, 12, window, chunk_keys=chunk)
    ref, total = K.brute_force(ids, starts, 12, window)
    np.testing.assert_array_equal(co.weighted, ref)
    assert co.n_pairs == total
    np.testing.assert_array_equal(co.weighted, co.weighted.T)


def test_joint_normalisation_and_article_edges():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, 20000).astype(np.int32)
    one = K.count_cooccurrences(ids, np.array([0, len(ids)]), 30, 16).joint()
    assert abs(one.sum() - 1) < 1e-3                    # only the stream's end deviates
    many = K.count_cooccurrences(ids, np.arange(0, len(ids) + 1, 20), 30, 16)
    # windows never cross an article: with 20-token articles offsets >= 20 contribute nothing
    assert many.n_pairs == 2 * sum(1000 * (20 - j) for j in range(1, 17))


def test_symmetrize_blocked():
    A = np.random.default_rng(1).random((517, 517))
    np.testing.assert_allclose(K.symmetrize_(A.copy(), block=64), A + A.T)


def stats(rng, V=40):
    C = rng.gamma(0.3, 1.0, (V, V))
    C = C + C.T
    C[rng.random((V, V)) < 0.2] = 0
    C = np.triu(C) + np.triu(C, 1).T
    P = C / C.sum()
    return P, P.sum(1)


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_mstar_is_tanh_of_shifted_pmi(k):
    P, Pi = stats(np.random.default_rng(2))
    M = T.m_star(P, Pi, k)
    with np.errstate(divide="ignore"):
        pmi = np.log(P / np.outer(Pi, Pi))
    np.testing.assert_allclose(M, 2 * np.tanh((pmi - np.log(k)) / 2), atol=1e-12)
    assert M.min() >= -2 and M.max() <= 2
    assert np.all(M[P == 0] == -2)


def test_general_form_reduces_to_setting31_with_constant_G():
    P, Pi = stats(np.random.default_rng(3))
    for k in (1.0, 2.0):
        plus, minus = T.reweighting("omniscient", P, Pi, k)
        M, G = T.m_star_general(P, Pi, plus, minus, k)
        np.testing.assert_allclose(M, T.m_star(P, Pi, k), atol=1e-12)
        np.testing.assert_allclose(G, G.mean(), rtol=1e-12)   # Setting 3.1: G constant
    # Psi = 1 (plain SGNS weights): M* = 2 (P - PP) / (P + PP) too, but G is not constant
    one = lambda rows: np.ones((len(range(*rows.indices(len(Pi)))), len(Pi)))  # noqa: E731
    M1, G1 = T.m_star_general(P, Pi, one, one, 1.0)
    np.testing.assert_allclose(M1, T.m_star(P, Pi, 1.0), atol=1e-12)
    assert G1.std() > 0


def test_pmi_ppmi():
    P, Pi = stats(np.random.default_rng(4))
    pmi = T.pmi(P, Pi)
    nz = P > 0
    np.testing.assert_allclose(pmi[nz], np.log(P[nz] / np.outer(Pi, Pi)[nz]))
    assert np.all(pmi[~nz] == 0)
    pp = T.ppmi(P, Pi)
    np.testing.assert_array_equal(pp, np.maximum(pmi, 0))


def spread_matrix(rng, V=400):
    """Symmetric, with a wide negative tail and clustered top eigenvalues, like M*."""
    Q = np.linalg.qr(rng.standard_normal((V, V)))[0]
    lam = np.concatenate([np.linspace(50, 5, 40) + rng.random(40) * 0.1, rng.uniform(-3, 4, V - 41), [-400.0]])
    return (Q * lam) @ Q.T, np.sort(lam)[::-1]


def test_block_lanczos_matches_lapack():
    rng = np.random.default_rng(5)
    M, lam = spread_matrix(rng)
    d = 12
    we, ve = eigen.top_eigenpairs(M, d, "exact")
    wk, vk = eigen.top_eigenpairs(M, d, "krylov", tol=1e-9)
    np.testing.assert_allclose(we, lam[:d], rtol=1e-10)
    np.testing.assert_allclose(wk, we, rtol=1e-9)
    assert eigen.subspace_overlap(vk, ve) > 1 - 1e-8
    assert np.all(np.abs(np.sum(vk * ve, 0)) > 1 - 1e-6)   # each vector, up to sign
    wt, vt = eigen.top_eigenpairs(M, d, "torch")
    np.testing.assert_allclose(wt, we, rtol=1e-10)
    assert eigen.subspace_overlap(vt, ve) > 1 - 1e-10


def test_closed_form_is_best_rank_d_psd_approximation():
    rng = np.random.default_rng(6)
    M, lam = spread_matrix(rng, 200)
    w, v = eigen.top_eigenpairs(M, 10, "exact")
    W = eigen.embedding_from_eigs(w, v)
    best = np.linalg.norm(W @ W.T - M)
    for _ in range(5):
        Wp = W + 1e-3 * rng.standard_normal(W.shape)
        assert np.linalg.norm(Wp @ Wp.T - M) > best
    np.testing.assert_allclose(best**2, np.sum(lam[10:] ** 2), rtol=1e-10)   # Eckart–Young


def test_block_lanczos_float32_phase_then_float64_reaches_tol():
    """The float32 cycles stop near float32's floor; float64 cycles must still reach a tol far below it."""
    rng = np.random.default_rng(11)
    M, lam = spread_matrix(rng, 600)
    d = 20
    logs = []
    w, v = eigen.block_lanczos(M, d, tol=1e-10, log=logs.append)
    assert any("(float32)" in m for m in logs) and any("float64 Rayleigh-Ritz" in m for m in logs)
    np.testing.assert_allclose(w, lam[:d], rtol=1e-12)
    resid = np.linalg.norm(M @ v - v * w, axis=0) / np.abs(w)
    assert resid.max() < 1e-10
    w64, _ = eigen.block_lanczos(M, d, tol=1e-10, mixed=False)
    np.testing.assert_allclose(w64, w, rtol=1e-12)


def test_auto_method_picks_krylov_only_for_large_matrices():
    assert eigen.resolve_method("auto", 10_000, 200) == "krylov"
    assert eigen.resolve_method("auto", 400, 12) == "exact"
    assert eigen.resolve_method("auto", 10_000, 2000) == "exact"
    assert eigen.resolve_method("exact", 10_000, 200) == "exact"
