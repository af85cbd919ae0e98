"""experiment=benchmark end to end on a generated corpus: one run per row in one sweep, a failing
row isolated (the others finish, the command exits non-zero), a rerun resumes it, the §7 table and
the sweep figures come out."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from repro.experiments.common.errors import Diverged
from repro.experiments.word2vec import benchmark, harness_sgns



def topic_corpus(path, n_articles=300, length=120, n_words=240, n_topics=6, seed=0):
    """Articles about one topic each: 60% topic words, 40% a Zipf background (unequal topics)."""
    rng = np.random.default_rng(seed)
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(n_words)]
    zipf = 1.0 / np.arange(1, n_words + 1)
    topics = np.array_split(rng.permutation(n_words), n_topics)
    share = np.geomspace(1.0, 0.25, n_topics)
    lines = []
    for _ in range(n_articles):
        tw = topics[rng.choice(n_topics, p=share / share.sum())]
        toks = np.where(rng.random(length) < 0.6, rng.choice(tw, length), rng.choice(n_words, length, p=zipf / zipf.sum()))
        lines.append(" ".join(words[t] for t in toks))
    path.write_text("\n\n".join(lines))

ROWS = ",".join(benchmark.TABLE_ROWS)


def _args(tmp_path):
    return ["word2vec", "experiment=benchmark", f"benchmark.row={ROWS}", "preset=quick", "corpus=file",
            f"corpus.path={tmp_path / 'c.txt'}", f"data_dir={tmp_path}", "vocab_size=120", "d=6", "window=4",
            "device=cpu", "train.steps=60", "train.log_every=10", "benchmark.spectra=20", "benchmark.checkpoints=4",
            "--out", str(tmp_path / "out"), "--name", "bench"]


@pytest.mark.slow
def test_benchmark_sweep_isolates_a_failing_row_and_resumes(tmp_path, monkeypatch):
    topic_corpus(tmp_path / "c.txt")
    runner = CliRunner()

    def broken(*a, **k):
        raise Diverged("planted failure")

    monkeypatch.setattr(harness_sgns, "train_harness_gd", broken)
    res = runner.invoke(app, _args(tmp_path))
    assert res.exit_code == 1, res.output
    sweep = tmp_path / "out" / "word2vec" / "bench"
    tab = json.loads((sweep / benchmark.TABLE_JSON).read_text())
    assert tab["missing"] == ["word2vec"] and set(tab["rows"]) == set(benchmark.TABLE_ROWS) - {"word2vec"}
    monkeypatch.undo()
    res = runner.invoke(app, _args(tmp_path))
    assert res.exit_code == 0, res.output
    tab = json.loads((sweep / benchmark.TABLE_JSON).read_text())
    assert tab["missing"] == [] and list(tab["rows"]) == list(benchmark.TABLE_ROWS)
    for row in benchmark.TABLE_ROWS:  # generated words: no analogy or similarity set matches, so scores are empty
        assert tab["rows"][row]["paper"]["analogy_google"] == benchmark.PAPER["analogy_google"][row]
    w2v = next(sweep.glob("benchmark.row=word2vec-*"))
    summary = json.loads((w2v / "summary.json").read_text())
    assert summary["resolved"]["method"] == "harness_gd" and "switch_on_over_tau" in summary
    # the table carries the trained rows' switch-on measurement, with what each row trained
    assert set(tab["switch_on"]) == {"word2vec", "qwem"}
    assert tab["switch_on"]["word2vec"]["over_tau"] == summary["switch_on_over_tau"]
    assert (tab["switch_on"]["word2vec"]["loss"], tab["switch_on"]["word2vec"]["reweight"]) == ("sgns", "sgns")
    assert (tab["switch_on"]["qwem"]["loss"], tab["switch_on"]["qwem"]["reweight"]) == ("quartic", "omniscient")
    assert "| word2vec | sgns | sgns | GD map |" in (sweep / benchmark.TABLE_MD).read_text()
    assert len(tab["switch_on"]["qwem"]["over_gd_map"]) == len(tab["switch_on"]["qwem"]["over_tau"])
    rows = [json.loads(line) for line in (w2v / "metrics.jsonl").read_text().splitlines()]
    assert "sim_wordsim353" in rows[0] or "sim_men" in rows[0] or "sim_simlex999" in rows[0]
    assert len(list((w2v / "checkpoints").glob("W_*.npy"))) >= 3
    res = runner.invoke(app, ["plot", str(sweep)])
    assert res.exit_code == 0, res.output
    figs = json.loads((sweep / "figures.json").read_text())
    assert (sweep / "figures" / "fig1_qwem_vs_word2vec.png").exists()
    assert (sweep / "figures" / "fig5_overlaps.png").exists() and (sweep / "figures" / "appendix_spectra.png").exists()
    assert 0.0 <= figs["band_fraction_word2vec_vs_qwem"] <= 1.0
    assert set(figs["skipped"]) == {"fig2", "fig7"}  # their rows are not in this sweep
