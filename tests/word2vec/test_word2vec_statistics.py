"""Co-occurrence counts vs brute force; M*, PMI, PPMI identities; eigensolvers vs LAPACK."""
import numpy as np
import pytest

from repro.experiments.word2vec import cooccurrence as K, corpus as C, eigen, targets as T
from repro.experiments.word2vec.settings import Eigen


def brute_force(ids, starts, V: int, window: int) -> tuple[np.ndarray, float]:
    """Reference double loop: C̃ and Σ C straight from the definition."""
    Ct = np.zeros((V, V))
    total = 0.0
    for a0, a1 in zip(starts[:-1], starts[1:]):
        for p in range(a0, a1):
            for j in range(1, window + 1):
                if p + j >= a1:
                    break
                a, b = ids[p], ids[p + j]
                Ct[a, b] += window + 1 - j
                Ct[b, a] += window + 1 - j
                total += 2
    return Ct, total


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
    ref, total = brute_force(ids, starts, 12, window)
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


def test_mean_sq_is_mean_of_m_star_squared():
    P, Pi = stats(np.random.default_rng(3), V=70)
    for k in (1.0, 2.0):
        assert T.mean_sq(P, Pi, k) == pytest.approx(np.mean(T.m_star(P, Pi, k) ** 2), rel=1e-12)


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


def truncate_only_entry(folder):
    [entry] = folder.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])


def test_truncated_cooccurrence_cache_is_detected_and_recomputed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    ids, starts = random_corpus(np.random.default_rng(7))
    corpus = C.Corpus.in_memory(ids, starts, words=[f"w{i}" for i in range(12)], counts=np.bincount(ids, minlength=12),
                                n_raw_tokens=len(ids), n_distinct=12, source="test")
    first = K.cached_cooccurrence(corpus, "fp", 3)
    truncate_only_entry(tmp_path / "cache" / "word2vec_cooc")
    capsys.readouterr()
    again = K.cached_cooccurrence(corpus, "fp", 3)
    err = capsys.readouterr().err
    assert "damaged" in err and "counting co-occurrences" in err
    np.testing.assert_array_equal(again.weighted, first.weighted)
    assert again.n_pairs == first.n_pairs
    np.testing.assert_array_equal(first.weighted, brute_force(ids, starts, 12, 3)[0])  # a miss returns what a hit does
    hit = K.cached_cooccurrence(corpus, "fp", 3)
    assert "counting" not in capsys.readouterr().err
    np.testing.assert_array_equal(hit.weighted, first.weighted)


def test_truncated_eigenpair_cache_is_detected_and_recomputed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    M, lam = spread_matrix(np.random.default_rng(8), V=120)
    built = []

    def matrix():
        built.append(1)
        return M

    ev = Eigen(method="exact", tol=1e-8, extra=0)
    key = {"corpus": "fp", "window": 3, "V": 120}
    w1, v1, _ = eigen.cached_top_eigenpairs("mstar", matrix, 6, ev, 0, key, None, True)
    w2, _, seconds = eigen.cached_top_eigenpairs("mstar", matrix, 6, ev, 0, key, None, True)
    assert len(built) == 1 and seconds == 0.0 and np.array_equal(w1, w2)        # a hit builds nothing
    truncate_only_entry(tmp_path / "cache" / "word2vec_eig")
    capsys.readouterr()
    w3, v3, _ = eigen.cached_top_eigenpairs("mstar", matrix, 6, ev, 0, key, None, True)
    assert "damaged" in capsys.readouterr().err and len(built) == 2
    np.testing.assert_array_equal(w3, w1)
    np.testing.assert_array_equal(v3, v1)
    np.testing.assert_allclose(w1, lam[:6], rtol=1e-10)
