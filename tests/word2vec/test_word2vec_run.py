"""repro word2vec end to end on a generated topic corpus: validate, run, files, theory agreement."""
import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute, status
from repro.experiments.word2vec import run as R
from repro.experiments.word2vec.settings import resolve, settings


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


def base_overrides(corpus_path, data_dir):
    return ["preset=quick", "corpus=file", f"corpus.path={corpus_path}", f"data_dir={data_dir}",
            "vocab_size=120", "d=6", "window=4", "device=cpu", "baselines=[closed_form,ppmi]"]


def test_validate_rejects_bad_input_with_one_line(tmp_path, compose):
    topic_corpus(tmp_path / "c.txt")
    ok = base_overrides(tmp_path / "c.txt", tmp_path)
    R.validate(compose("word2vec", *ok))
    bad = {
        "vocab_size=100000": "240 distinct words",
        "d=0": "d=0",
        "train.method=adam": "train.method",
        f"corpus.path={tmp_path / 'missing.txt'}": "nor an existing file",
        "eigen.method=qr": "eigen.method",
        "k_neg=0": "k_neg",
        "d=500": "vocab_size",
        "train.method=closed_form": "train.method=none baselines=[closed_form]",
        "train.lr=1": "both set the step size",
        "train.lr_decay_at=2": "train.lr_decay_at=2.0 is invalid",
        "train.reweight=sgns": "valid: omniscient",
        "baselines=[svd]": "baselines[0]='svd' is invalid",
        "+train.lr_max=1": "no such setting",
    }
    for override, needle in bad.items():
        with pytest.raises(ConfigError) as e:
            R.validate(compose("word2vec", *ok, override))
        assert needle in str(e.value) and "\n" not in str(e.value), (override, str(e.value))


def test_end_to_end_qwem_gd_matches_theory(tmp_path, compose, run_dir):
    topic_corpus(tmp_path / "c.txt")
    (tmp_path / "analogies").mkdir()
    (tmp_path / "analogies" / "questions-words.txt").write_text(
        ": s1\nwaa wab wac wad\nwae waf wag wah\nwai waj wak wal\n")
    cfg = compose("word2vec", *base_overrides(tmp_path / "c.txt", tmp_path), "train.steps=3000", "train.dt_per_step=null",
                  "train.lr=15", "train.log_every=20")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    # trained QWEM spans the top-d eigenspace of M* and each of the first modes switches on near tau_k
    assert s["subspace_overlap"] >= 0.95
    ratios = np.array(s["switch_on_over_tau"], float)
    assert np.all(np.isfinite(ratios)) and np.max(np.abs(ratios - 1)) < 0.15, ratios
    # most of the rest is the Euler step (mode 1 at dt·λ_1 ≈ 0.5 was 11% late): against GD's own map
    # sampled at the logged steps, every mode is within 4%
    gd = np.array(s["switch_on_over_gd_map"], float)
    assert np.max(np.abs(gd - 1)) < 0.04 and abs(gd[0] - 1) < abs(ratios[0] - 1) / 3, (gd, ratios)
    assert s["analogy_google_n_closed_form"] == 6 * 5
    for f in ("eigvals.npy", "theory_curve.json", "acc_vs_d.json", "benchmarks.json", "eigen_features.md",
              "embeddings/closed_form.npy", "embeddings/ppmi.npy", "embeddings/trained.npy", "embeddings/vocab.txt"):
        assert (run_dir / f).exists(), f
    for fig in ("loss", "singular_values", "analogy_vs_time", "acc_vs_d", "eigen_features", "spectrum"):
        assert (run_dir / "figures" / f"{fig}.png").exists(), fig
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and "sv_theory" in rows[-1] and len(rows[-1]["sv"]) == 6
    assert rows[-1]["loss"] < rows[0]["loss"] - 0.1
    assert s["resolved"]["lr"] == 15 and s["resolved"]["lr_rule"] == "train.lr"
    assert status(run_dir) == "done"


def test_end_to_end_sgns_trains_whole_epochs_despite_the_qwem_step_count(tmp_path, compose, run_dir):
    """The presets set train.steps for QWEM; an SGNS run must still see every word of every epoch
    (it caps only on train.sgns_steps), log progress in words, and score its trained embedding."""
    topic_corpus(tmp_path / "c.txt")
    (tmp_path / "analogies").mkdir()
    (tmp_path / "analogies" / "questions-words.txt").write_text(": s1\nwaa wab wac wad\nwae waf wag wah\n")
    cfg = compose("word2vec", *base_overrides(tmp_path / "c.txt", tmp_path), "train.method=sgns", "train.steps=2",
                  "train.epochs=2", "train.subsample=0", "train.log_every=50")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["words"] == 2 * s["tokens"]
    assert rows[-1]["loss"] < rows[1]["loss"]
    assert 0.0 <= s["analogy_google_trained"] <= 1.0 and (run_dir / "embeddings" / "trained.npy").exists()
    capped = settings(compose("word2vec", *base_overrides(tmp_path / "c.txt", tmp_path), "train.method=sgns",
                              "train.sgns_steps=1"))
    assert resolve(capped, 1.0, 1.0, "cpu", 1).steps == 1
    assert s["resolved"]["steps"] is None and s["resolved"]["batch_size"] == 1024


def test_baselines_only_run_trains_nothing(tmp_path, compose, run_dir):
    """train.method=none: the closed form and PMI are scored, nothing is trained or resolved."""
    topic_corpus(tmp_path / "c.txt")
    cfg = compose("word2vec", *base_overrides(tmp_path / "c.txt", tmp_path), "train.method=none",
                  "baselines=[closed_form,pmi]")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    assert set(s["benchmarks"]) == {"closed_form", "pmi"} and "resolved" not in s
    assert not (run_dir / "embeddings" / "trained.npy").exists() and (run_dir / "embeddings" / "pmi.npy").exists()


def ranks(x):
    """Average ranks (ties share their mean rank): Spearman's ρ is the Pearson correlation of these."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x), dtype=float)
    for v in np.unique(x):
        tie = x == v
        r[tie] = r[tie].mean()
    return r


def test_similarity_is_logged_over_training_with_the_right_values(tmp_path, compose, run_dir):
    """sim_<set> in metrics.jsonl is Spearman's ρ of the embedding at that step: recomputed here
    from the checkpointed W with our own ranks, at step 0, mid-training and at the end (= the
    trained embedding's score in the summary), and it moves as the model learns."""
    words = topic_corpus(tmp_path / "c.txt")
    rng = np.random.default_rng(3)
    (tmp_path / "similarity").mkdir()
    pairs = [(words[a], words[b], float(rng.integers(0, 100)) / 10) for a, b in rng.integers(0, 100, (60, 2)) if a != b]
    (tmp_path / "similarity" / "wordsim353.tsv").write_text("".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs))
    cfg = compose("word2vec", *base_overrides(tmp_path / "c.txt", tmp_path), "train.method=qwem_gd", "train.steps=400",
                  "train.dt_per_step=null", "train.lr=15", "train.log_every=20", "eval.analogy_every=2",
                  "eval.checkpoints=6")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("word2vec", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    rows = {r["step"]: r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())}
    vocab = {w: i for i, w in enumerate((run_dir / "embeddings" / "vocab.txt").read_text().split())}
    kept = [(vocab[a], vocab[b], x) for a, b, x in pairs if a in vocab and b in vocab]
    i, j, human = (np.array(c) for c in zip(*kept))

    def rho(W):
        Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
        return float(np.corrcoef(ranks(np.sum(Wn[i] * Wn[j], axis=1)), ranks(human))[0, 1])

    checked = []
    for f in sorted((run_dir / "checkpoints").glob("W_*.npy")):
        step = int(f.stem[2:])
        if "sim_wordsim353" in rows.get(step, {}):
            assert abs(rows[step]["sim_wordsim353"] - rho(np.load(f).astype(np.float64))) < 1e-4, step
            checked.append(step)
    assert checked[0] == 0 and len(checked) >= 3, checked
    logged = [r["sim_wordsim353"] for r in rows.values() if "sim_wordsim353" in r]
    assert len(logged) >= 5 and np.ptp(logged) > 0.05          # scored over training, and it changes
    last = max(k for k, r in rows.items() if "sim_wordsim353" in r)
    assert last == max(rows) and abs(rows[last]["sim_wordsim353"] - s["wordsim353_trained"]) < 1e-9
    assert abs(s["wordsim353_trained"] - rho(np.load(run_dir / "embeddings" / "trained.npy").astype(np.float64))) < 1e-4
