"""experiment=benchmark pieces: Fig. 5's overlaps, the §7 table from rows, row settings."""
import numpy as np
import pytest

from repro.experiments.word2vec import benchmark, overlaps


def test_overlap_of_an_embedding_with_a_rotated_copy_is_the_identity_pattern():
    rng = np.random.default_rng(0)
    V, d = 300, 12
    U, _ = np.linalg.qr(rng.normal(size=(V, d)))
    W = U * np.linspace(5, 1, d)  # distinct singular values
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    O = overlaps.squared_overlaps(W, W @ Q, n=64)
    assert O.shape == (d, d)
    np.testing.assert_allclose(O, np.eye(d), atol=1e-10)
    assert overlaps.band_fraction(O, band=0) == pytest.approx(1.0)
    R = rng.normal(size=(V, d))  # an unrelated embedding spreads its overlap off the band
    assert overlaps.band_fraction(overlaps.squared_overlaps(W, R), band=0) < 0.3


def _row(name, acc, men=0.5, ws=0.4):
    return {"row": name, "vocab_size": 100, "d": 8, "k_neg": 1,
            "scores": {"analogy_google": acc, "men": men, "wordsim353": ws}}


def test_table_has_paper_numbers_ratios_and_the_svd_ordering():
    rows = {r["row"]: r for r in (_row("word2vec", 0.5), _row("qwem", 0.45), _row("svd_mstar", 0.49),
                                  _row("svd_ppmi", 0.3), _row("svd_pmi", 0.05))}
    tab = benchmark.table(rows)
    assert list(tab["rows"]) == list(benchmark.TABLE_ROWS) and tab["missing"] == []
    assert tab["ratios"]["qwem_over_word2vec"] == pytest.approx(0.9)
    assert tab["ratios"]["svd_mstar_over_word2vec"] == pytest.approx(0.98)
    assert tab["rows"]["svd_ppmi"]["paper"]["analogy_google"] == 0.506
    assert tab["svd_order_mstar_ppmi_pmi"] is True
    md = benchmark.markdown(tab)
    assert "50.0% / 68.0%" in md and "QWEM / word2vec analogy accuracy: 90.0%" in md
    del rows["svd_pmi"]
    rows["svd_ppmi"]["scores"]["analogy_google"] = 0.6
    tab = benchmark.table(rows)
    assert tab["missing"] == ["svd_pmi"] and tab["svd_order_mstar_ppmi_pmi"] is None
    assert "rows not finished: svd_pmi" in benchmark.markdown(tab)


@pytest.mark.parametrize("preset,small", [("quick", 1e-8), ("default", 1e-3), ("paper", 1e-12)])
def test_rows_start_where_their_name_says(compose, preset, small):
    """Small-init rows start small in every preset (the default preset's init_scale 0.1 is its
    word2vec-like init); the *_w2v_init rows start at init_scales.w2v; ablation rows at theirs."""
    from repro.experiments.word2vec.settings import settings

    def row(name):
        r = benchmark.row_settings(settings(compose("word2vec", f"preset={preset}", "experiment=benchmark",
                                                    f"benchmark.row={name}")))
        return r.train.init, r.train.init_scale

    assert row("qwem") == row("word2vec") == ("small", small)
    assert row("qwem_w2v_init") == row("word2vec_w2v_init") == ("w2v", 0.1)
    assert row("ablation_sgns") == ("small", 1e-3)
