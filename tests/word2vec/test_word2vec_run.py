"""repro word2vec end to end on a generated topic corpus: validate, run, files, theory agreement."""
import json

import hydra
import numpy as np
import pytest
from omegaconf import OmegaConf

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute, status
from repro.experiments.word2vec import run as R

CONFIG_DIR = str(__import__("pathlib").Path(R.__file__).resolve().parents[2] / "configs" / "word2vec")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)


def topic_corpus(path, n_articles=300, length=120, n_words=240, n_topics=6, seed=0):
    """Articles about one topic each: 60% of tokens from the topic's words, 40% from a Zipf background."""
    rng = np.random.default_rng(seed)
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(n_words)]
    zipf = 1.0 / np.arange(1, n_words + 1)
    zipf /= zipf.sum()
    topic_words = np.array_split(rng.permutation(n_words), n_topics)
    share = np.geomspace(1.0, 0.25, n_topics)   # unequal topics: well-separated eigenvalues of M*
    lines = []
    for a in range(n_articles):
        tw = topic_words[rng.choice(n_topics, p=share / share.sum())]
        from_topic = rng.random(length) < 0.6
        toks = np.where(from_topic, rng.choice(tw, length), rng.choice(n_words, length, p=zipf))
        lines.append(" ".join(words[t] for t in toks))
    path.write_text("\n\n".join(lines))
    return words


def compose(overrides):
    with hydra.initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = hydra.compose("config", overrides=overrides)
    OmegaConf.resolve(cfg)
    return cfg


def base_overrides(corpus_path, data_dir):
    return ["preset=quick", "corpus=file", f"corpus.path={corpus_path}", f"data_dir={data_dir}",
            "vocab_size=120", "d=6", "window=4", "device=cpu", "baselines=[closed_form,ppmi]"]


def test_validate_rejects_bad_input_with_one_line(tmp_path):
    words = topic_corpus(tmp_path / "c.txt")
    ok = base_overrides(tmp_path / "c.txt", tmp_path)
    R.validate(compose(ok))
    bad = {
        "vocab_size=100000": "240 distinct words",
        "d=0": "d=0",
        "train.method=adam": "train.method",
        f"corpus.path={tmp_path / 'missing.txt'}": "nor an existing file",
        "eigen.method=qr": "eigen.method",
        "k_neg=0": "k_neg",
        "d=500": "vocab_size",
    }
    for override, needle in bad.items():
        with pytest.raises(ConfigError) as e:
            R.validate(compose(ok + [override]))
        assert needle in str(e.value) and "\n" not in str(e.value), (override, str(e.value))
    assert len(words) == 240


def test_end_to_end_qwem_gd_matches_theory(tmp_path):
    topic_corpus(tmp_path / "c.txt")
    (tmp_path / "analogies").mkdir()
    (tmp_path / "analogies" / "questions-words.txt").write_text(
        ": s1\nwaa wab wac wad\nwae waf wag wah\nwai waj wak wal\n")
    cfg = compose(base_overrides(tmp_path / "c.txt", tmp_path) + ["train.steps=3000", "train.dt_per_step=null", "train.lr=15", "train.log_every=20"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    # trained QWEM spans the top-d eigenspace of M* and each of the first modes switches on near tau_k
    assert s["subspace_overlap"] >= 0.95
    ratios = np.array(s["switch_on_over_tau"], float)
    assert np.all(np.isfinite(ratios)) and np.max(np.abs(ratios - 1)) < 0.15, ratios
    assert s["analogy_google_n_closed_form"] == 6 * 5
    for f in ("eigvals.npy", "theory_curve.json", "acc_vs_d.json", "benchmarks.json", "eigen_features.md",
              "embeddings/closed_form.npy", "embeddings/ppmi.npy", "embeddings/trained.npy", "embeddings/vocab.txt"):
        assert (run_dir / f).exists(), f
    for fig in ("loss", "singular_values", "analogy_vs_time", "acc_vs_d", "eigen_features", "spectrum"):
        assert (run_dir / "figures" / f"{fig}.png").exists(), fig
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and "sv_theory" in rows[-1] and len(rows[-1]["sv"]) == 6
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert status(run_dir) == "done"


def test_end_to_end_sgns_trains_whole_epochs_despite_the_qwem_step_count(tmp_path):
    """The presets set train.steps for QWEM; an SGNS run must still see every word of every epoch
    (it caps only on train.sgns_steps), log progress in words, and score its trained embedding."""
    topic_corpus(tmp_path / "c.txt")
    (tmp_path / "analogies").mkdir()
    (tmp_path / "analogies" / "questions-words.txt").write_text(": s1\nwaa wab wac wad\nwae waf wag wah\n")
    cfg = compose(base_overrides(tmp_path / "c.txt", tmp_path) + [
        "train.method=sgns", "train.steps=2", "train.epochs=2", "train.subsample=0", "train.log_every=50"])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["words"] == 2 * s["tokens"]
    assert rows[-1]["loss"] < rows[1]["loss"]
    assert 0.0 <= s["analogy_google_trained"] <= 1.0 and (run_dir / "embeddings" / "trained.npy").exists()
    capped = compose(base_overrides(tmp_path / "c.txt", tmp_path) + ["train.method=sgns", "train.sgns_steps=1"])
    assert R.train_config(capped, 1.0).steps == 1
