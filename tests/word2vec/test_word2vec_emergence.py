"""The emergence experiment's math on synthetic inputs with known answers: the Marchenko–Pastur fit
and the spike (spiked.py), SNR(d) and localisation (task_vectors.py), per-family accuracy and the
Fig. 8 cosines (family_accuracy.py) against the analogy scorer, and the d grid."""
import numpy as np
import pytest

from repro.experiments.word2vec import analogies, spiked
from repro.experiments.word2vec.emergence_eigs import cut_grid, d_grid
from repro.experiments.word2vec.emergence_training import emergence_index
from repro.experiments.word2vec.families import Family, authors_questions
from repro.experiments.word2vec.family_accuracy import accuracy_over_d, cos_ratio
from repro.experiments.word2vec.task_vectors import localisation, snr, snr_curve, task_vectors


def planted_spike(N, d, d_eff, sigma2, theta, seed):
    """R = 1 mᵀ + E: E's rows live in the first d_eff coordinates with entry variance σ² overall
    ((1/d) E Eᵀ is MP with aspect N/d_eff and scale σ²); the spike has strength θ in the units of
    Benaych-Georges & Nadakuditi (2012): ‖1 mᵀ‖_op = θ σ √d."""
    rng = np.random.default_rng(seed)
    R = np.zeros((N, d))
    R[:, :d_eff] = np.sqrt(sigma2 * d / d_eff) * rng.standard_normal((N, d_eff))
    m = np.zeros(d)
    m[:d_eff] = rng.standard_normal(d_eff)
    m *= theta * np.sqrt(sigma2 * d) / np.sqrt(N) / np.linalg.norm(m)
    return R + m[None, :]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mp_fit_recovers_planted_sigma2_d_eff_and_spike(seed):
    N, d, d_eff, sigma2, theta = 800, 4000, 2000, 0.01, 3.0
    R = planted_spike(N, d, d_eff, sigma2, theta, seed)
    for outliers in (0, 1):
        fit = spiked.mp_fit(R, outliers)
        # σ² is of the centred matrix: (N−1)/N of the planted variance
        assert fit["sigma2"] == pytest.approx(sigma2 * (N - 1) / N, rel=0.01)
        assert fit["d_eff"] == pytest.approx(d_eff, rel=0.08 if outliers else 0.05), outliers
    s = spiked.analyse(R, 0)
    c = N / d_eff
    # The outlier sits where the BGN limit puts it, σ² (1 + θ²)(c + θ²)/θ² (fluctuations O(N^-1/2)), above the edge ...
    assert s["separated"] and s["outlier"] == pytest.approx(sigma2 * (1 + theta**2) * (c + theta**2) / theta**2, rel=0.04)
    # ... its eigenvector carries ⟨r⟩ (planted overlap 1, finite-noise defect ~ c/θ⁴ = 0.005) ...
    assert s["overlap"] > 0.99
    # ... and its pair-space eigenvector matches the BGN limit 1 − c(1+θ²)/(θ²(θ²+c)).
    assert s["uniformity"] == pytest.approx(1 - c * (1 + theta**2) / (theta**2 * (theta**2 + c)), abs=0.01)


def test_mp_density_integrates_to_the_nonzero_mass():
    for gamma in (0.3, 2.0):
        lo, hi = spiked.mp_edges(gamma, 0.5)
        x = np.linspace(lo, hi, 200001)
        mass = np.trapezoid(spiked.mp_density(x, gamma, 0.5), x)
        assert mass == pytest.approx(min(1.0, 1.0 / gamma), rel=1e-3)


def structured_task_vectors(N=6, m=1.0, s1=0.5, s2=2.0):
    """Rows r_i = m e_0 + s1 e_{i} + s2 e_{N+i} (features 0, 1..N, N+1..2N): a shared signal, then
    one private weak and one private strong noise feature per pair, all orthogonal."""
    R = np.zeros((N, 2 * N + 1))
    R[:, 0] = m
    R[np.arange(N), 1 + np.arange(N)] = s1
    R[np.arange(N), 1 + N + np.arange(N)] = s2
    return R


def test_snr_and_localisation_match_their_closed_forms():
    N, m, s1, s2 = 6, 1.0, 0.5, 2.0
    R = structured_task_vectors(N, m, s1, s2)
    # G = m² 11ᵀ + e I once every private feature of the block is in: λ = Nm² + e, e (N−1 times)
    snr_of = lambda e: (N * m**2 + e) / (m**2 + e)  # noqa: E731
    assert snr(R[:, :1]) == pytest.approx(1.0)                      # rank one
    assert snr(R[:, :N + 1]) == pytest.approx(snr_of(s1**2))
    assert snr(R[:, :2 * N + 1]) == pytest.approx(snr_of(s1**2 + s2**2))
    curve = snr_curve(R, [1, N + 1, 2 * N + 1])
    assert curve[0] < curve[1] > curve[2]                            # rises, then falls
    # ⟨r⟩ = m e_0 + (s1/N) Σ e_i + (s2/N) Σ e_{N+i}
    p = localisation(R, N + 1)
    total = m**2 + N * (s1 / N) ** 2
    assert p[0] == pytest.approx(m**2 / total) and np.allclose(p[1:], (s1 / N) ** 2 / total)
    p_all = localisation(R, 2 * N + 1)
    assert p_all.sum() == pytest.approx(1.0) and p_all[0] == pytest.approx(m**2 / (total + N * (s2 / N) ** 2))


def test_task_vectors_are_rows_of_the_closed_form():
    rng = np.random.default_rng(0)
    V, n = 30, 8
    v = np.linalg.qr(rng.standard_normal((V, n)))[0]
    w = np.array([5.0, 4, 3, 2, 1, 0.5, -1, -2])
    a, b = np.array([0, 1, 2]), np.array([3, 4, 5])
    W = v * np.sqrt(np.clip(w, 0, None))
    assert np.allclose(task_vectors(w, v, a, b), W[b] - W[a])


def random_families(V=60, n_fam=3, n_pairs=5, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(V)]
    vocab = {w: i for i, w in enumerate(words)}
    ids = rng.permutation(V)[: 2 * n_fam * n_pairs].reshape(n_fam, n_pairs, 2)
    fams = [Family(f"f{k}", ids[k, :, 0], ids[k, :, 1], [{int(b)} for b in ids[k, :, 1]],
                   [(words[a], words[b]) for a, b in ids[k]], {}) for k in range(n_fam)]
    return fams, vocab, words


def test_family_accuracy_is_the_scorer_restricted_to_the_family():
    fams, vocab, words = random_families()
    rng = np.random.default_rng(1)
    V, n = len(vocab), 24
    v = np.linalg.qr(rng.standard_normal((V, n)))[0]
    w = np.sort(rng.uniform(0.1, 3.0, n))[::-1]
    grid = [4, 8, 16, 24]
    acc = accuracy_over_d(w, v, authors_questions(fams, vocab), grid)
    for f in fams:
        alone = analogies.pair_questions({f.name: [(a, {b}) for a, b in f.words]}, vocab)
        expect = [analogies.evaluate(v[:, :d] * np.sqrt(w[:d]), alone)["accuracy"] for d in grid]
        assert acc[f.name] == expect


def test_cos_ratio_matches_a_loop_over_questions():
    fams, vocab, _ = random_families(seed=2)
    rng = np.random.default_rng(3)
    W = rng.standard_normal((len(vocab), 10))
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    f = fams[0]
    cos, ratio = [], []
    for i in range(f.n):
        for j in range(f.n):
            if i == j:
                continue
            a, b, c, ans = f.a[i], f.b[i], f.a[j], f.b[j]
            x = Wn[b] - Wn[a] + Wn[c]
            cx = x @ Wn[ans] / np.linalg.norm(x)
            others = [u for u in range(len(Wn)) if u not in (a, b, c, ans)]
            cos.append(cx)
            ratio.append(cx / max(Wn[u] @ Wn[ans] for u in others))
    got = cos_ratio(W, f.a, f.b)
    assert got == pytest.approx((np.mean(cos), np.mean(ratio)), rel=1e-12)


def test_d_grid_is_the_spec_grid_and_is_cut_where_it_says():
    grid = d_grid(2.0, 12.0, 0.5)
    assert len(grid) == 21 and grid[0] == 4 and grid[-1] == 4096 and grid[1] == 6 and grid[3] == 11
    kept, cut = cut_grid(grid, 10000, 300, 4096)
    assert kept[-1] == 256 and cut["cut_by"] == ["positive_eigenvalues"] and 362 in cut["dropped"]
    kept, cut = cut_grid(grid, 10000, 5000, 4096)
    assert kept == grid and cut["cut_by"] == []


def test_emergence_index_is_the_first_reach_of_the_fraction():
    assert emergence_index([0.0, 0.1, 0.3, 0.6, 0.5], 0.5) == 2   # half of the final 0.5 is 0.25
    assert emergence_index([0.0, 0.0], 0.5) is None


def test_a_family_is_its_sources_in_vocabulary_pairs_each_once(tmp_path):
    from repro.experiments.word2vec.families import Sources, build_family

    (tmp_path / "analogies" / "BATS_3.0" / "x").mkdir(parents=True)
    (tmp_path / "analogies" / "questions-words.txt").write_text(
        ": fam\nking queen man woman\nking queen boy girl\nprince oov man woman\n")
    (tmp_path / "analogies" / "BATS_3.0" / "x" / "E10 [male - female].txt").write_text(
        "man\twoman\nlord\tlady/dame\nduke\tduchess\nson\tdaughter\n")
    vocab = {w: i for i, w in enumerate("king queen man woman boy girl prince lord dame son daughter".split())}
    src = Sources(tmp_path)
    assert src.missing("google:nope") and src.missing("bats:E11") and not src.missing("bats:E10")
    f = build_family("male_female", ["google:fam", "bats:E10"], src, vocab)
    # google: (king, queen), (man, woman), (boy, girl); (prince, oov) is out. BATS: (man, woman) is a
    # duplicate, (lord, dame) keeps its first in-vocabulary answer, (duke, duchess) is out.
    assert f.words == [("king", "queen"), ("man", "woman"), ("boy", "girl"), ("lord", "dame"), ("son", "daughter")]
    assert f.counts == {"google:fam": {"listed": 4, "in_vocab": 3, "added": 3},
                        "bats:E10": {"listed": 4, "in_vocab": 3, "added": 2}}
    qs = authors_questions([f], vocab)
    assert len(qs) == 5 * 4 and qs.sections == ["male_female"]
