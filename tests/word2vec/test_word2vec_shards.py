"""corpus=wikipedia: parquet shards in the hub's layout, tokenised shard by shard, resumable, the same
corpus and co-occurrence table as the whole text read at once, and the hub's streaming path."""
import dataclasses
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repro.experiments.common.errors import ConfigError
from repro.experiments.word2vec import cooccurrence, corpus as C, shards as S
from repro.experiments.word2vec.settings import settings

N_SHARDS = 3
MIN_TOKENS = 30


def articles(seed: int = 0, n: int = 60) -> list[str]:
    """Zipf-ish English-like articles; about a quarter are shorter than MIN_TOKENS."""
    rng = np.random.default_rng(seed)
    words = [f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]
    p = 1.0 / np.arange(1, 301)
    p /= p.sum()
    out = []
    for i in range(n):
        length = int(rng.integers(5, MIN_TOKENS)) if i % 4 == 0 else int(rng.integers(MIN_TOKENS, 120))
        toks = rng.choice(words, size=length, p=p)
        # punctuation, digits and case are separators / folded, as §5.1 says
        out.append(" ".join(t.upper() if j % 7 == 0 else t for j, t in enumerate(toks)) + ". 1999, (x)")
    return out


def write_shards(root, arts, n=N_SHARDS, config="20231101.en"):
    """<root>/wikipedia/<config>/train-0000k-of-0000n.parquet with the hub's columns."""
    folder = root / "wikipedia" / config
    folder.mkdir(parents=True)
    for k, chunk in enumerate(np.array_split(np.arange(len(arts)), n)):
        table = pa.table({"id": [str(i) for i in chunk], "url": [f"u{i}" for i in chunk],
                          "title": [f"t{i}" for i in chunk], "text": [arts[i] for i in chunk]})
        pq.write_table(table, folder / f"train-{k:05d}-of-{n:05d}.parquet")
    return folder


@pytest.fixture
def wiki(compose):
    base = settings(compose("word2vec", "corpus=wikipedia")).corpus
    assert base.streaming and base.min_article_tokens == 500 and base.hub == "wikimedia/wikipedia"

    def make(**kw):
        return dataclasses.replace(base, **{"min_article_tokens": MIN_TOKENS, **kw})
    return make


@pytest.fixture
def whole(compose, tmp_path):
    """The same articles as one JSON-lines file read by the in-memory path: the reference."""
    base = settings(compose("word2vec", "corpus=file")).corpus

    def make(arts, V):
        p = tmp_path / "whole.jsonl"
        p.write_text("".join(json.dumps({"text": a}) + "\n" for a in arts))
        return C.load_corpus(dataclasses.replace(base, path=str(p), min_article_tokens=MIN_TOKENS), V, None,
                             use_cache=False)
    return make


def same_corpus(a, b):
    assert a.words == b.words and a.counts.tolist() == b.counts.tolist()
    assert a.ids.tolist() == b.ids.tolist() and a.starts.tolist() == b.starts.tolist()
    assert (a.n_tokens, a.n_articles, a.n_raw_tokens, a.n_distinct) == (b.n_tokens, b.n_articles, b.n_raw_tokens,
                                                                        b.n_distinct)


def test_shards_give_the_whole_corpus_and_its_cooccurrence_table(tmp_path, wiki, whole):
    arts = articles()
    write_shards(tmp_path, arts)
    c = C.load_corpus(wiki(), 50, tmp_path)
    ref = whole(arts, 50)
    same_corpus(c, ref)
    assert len(c.parts) == N_SHARDS and c.source.endswith("20231101.en")
    kept = [a for a in arts if len(C.tokenize_articles([a])[0]) >= MIN_TOKENS]
    assert c.filter_stats == dict(articles_seen=len(arts), articles_kept=len(kept),
                                  tokens_seen=sum(len(C.tokenize_articles([a])[0]) for a in arts),
                                  tokens_kept=c.n_raw_tokens)
    assert 0 < len(kept) < len(arts)
    # counted part by part = counted over the concatenated stream
    fp = C.corpus_fingerprint(wiki(), 50, tmp_path)
    sharded = cooccurrence.cached_cooccurrence(c, fp, 3)
    one = cooccurrence.count_cooccurrences(ref.ids, ref.starts, 50, 3)
    np.testing.assert_allclose(sharded.weighted, one.weighted, rtol=1e-7)
    assert sharded.n_pairs == one.n_pairs
    # corpus.path may name the config folder or its parent; both are the same source
    c2 = C.load_corpus(wiki(path=str(tmp_path / "wikipedia")), 50, None)
    same_corpus(c2, ref)


def test_a_killed_tokenisation_resumes_at_the_first_unfinished_shard(tmp_path, wiki, whole, monkeypatch):
    arts = articles(1)
    write_shards(tmp_path, arts)
    calls = []
    real = S.tokenize_articles

    def flaky(texts, *a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt   # killed while tokenising the third shard
        return real(texts, *a, **kw)

    monkeypatch.setattr(S, "tokenize_articles", flaky)
    with pytest.raises(KeyboardInterrupt):
        C.load_corpus(wiki(), 40, tmp_path)
    assert len(calls) == 3
    c = C.load_corpus(wiki(), 40, tmp_path)
    assert len(calls) == 4        # the rerun tokenised only the unfinished shard
    same_corpus(c, whole(arts, 40))
    C.load_corpus(wiki(), 40, tmp_path)
    assert len(calls) == 4        # a second load is all cache hits


def test_a_damaged_shard_entry_is_recomputed_alone(tmp_path, wiki, whole, capsys):
    arts = articles(2)
    folder = write_shards(tmp_path, arts)
    first = C.load_corpus(wiki(), 40, tmp_path)
    shard = S._local_shard(sorted(folder.glob("*.parquet"))[1], "text")
    prep = C.preprocessing_key(wiki())
    data, _ = S.cache.entry_paths("word2vec_shard_tokens", S._shard_parts(shard, prep))
    data.write_bytes(data.read_bytes()[:100])    # truncated, as by a full disk
    for p in S.cache.entry_paths("word2vec_shard_ids", dict(S._shard_parts(shard, prep), kind="shard_ids",
                                                              vocab=S.cache.cache_key(**C.token_key(
                                                                  C.source_of(wiki(), tmp_path)[2], wiki(), 40)))):
        p.unlink()                               # and its pass-2 entry gone: it must be rebuilt from pass 1
    again = C.load_corpus(wiki(), 40, tmp_path)
    same_corpus(again, first)                    # parts load on demand: here the damage is met
    err = capsys.readouterr().err
    assert "damaged word2vec_shard_tokens" in err and err.count("[cache] damaged") == 1


def test_hub_streaming_path_reads_shard_by_shard(tmp_path, wiki, whole, monkeypatch):
    """No hub here: `datasets.load_dataset(hub, config, streaming=True)` is answered by the same
    parquet files through `datasets`' own streaming reader, so the IterableDataset.shard path runs."""
    import datasets

    arts = articles(3)
    folder = write_shards(tmp_path / "hubcopy", arts)
    real = datasets.load_dataset
    seen = []

    def fake(name, config=None, split=None, streaming=False, **kw):
        seen.append((name, config, split, streaming))
        return real("parquet", data_files=sorted(map(str, folder.glob("*.parquet"))), split=split, streaming=True)

    monkeypatch.setattr(datasets, "load_dataset", fake)
    c = C.load_corpus(wiki(), 40, None)
    assert seen[0] == ("wikimedia/wikipedia", "20231101.en", "train", True)
    assert len(c.parts) == N_SHARDS and c.source == "hub:wikimedia/wikipedia/20231101.en/train"
    same_corpus(c, whole(arts, 40))


def test_bad_sources_are_one_line_errors(tmp_path, wiki, monkeypatch, compose):
    def err(cfg, data_dir=None):
        with pytest.raises(ConfigError) as e:
            C.check_source(cfg, data_dir)
        assert "\n" not in str(e.value)
        return str(e.value)

    (tmp_path / "empty").mkdir()
    assert "no train-*.parquet shards" in err(wiki(path=str(tmp_path / "empty")))
    monkeypatch.setattr(S, "hub_reachable", lambda: False)
    msg = err(wiki(), tmp_path)
    assert "unreachable" in msg and "wikipedia/20231101.en/train-*.parquet" in msg
    bad = tmp_path / "bad" / "20231101.en"
    bad.mkdir(parents=True)
    pq.write_table(pa.table({"body": ["a b c"]}), bad / "train-00000-of-00001.parquet")
    assert "corpus.text_field='text' is invalid" in err(wiki(path=str(tmp_path / "bad")))
    (bad / "train-00000-of-00001.parquet").write_bytes(b"not parquet")
    assert "not a readable parquet file" in err(wiki(path=str(tmp_path / "bad")))
    from repro.experiments.word2vec import run

    write_shards(tmp_path / "ok", articles())
    with pytest.raises(ConfigError, match="cache=False is invalid for corpus=wikipedia"):
        run.validate(compose("word2vec", "corpus=wikipedia", f"corpus.path={tmp_path / 'ok' / 'wikipedia'}",
                             "cache=false", "preset=quick"))


def test_a_run_on_shards_equals_the_run_on_the_whole_text(tmp_path, compose):
    """`repro word2vec corpus=wikipedia` end to end on generated shards: the same eigenvalues of M*
    and the same closed-form embedding as the same articles in one file, and the filter's totals."""
    from omegaconf import OmegaConf

    from repro.experiments.common.rundir import execute

    arts = articles(4, n=80)
    folder = write_shards(tmp_path, arts)
    (tmp_path / "whole.jsonl").write_text("".join(json.dumps({"text": a}) + "\n" for a in arts))
    common = ["preset=quick", "vocab_size=40", "d=4", "window=3", "device=cpu", "train.method=none",
              "baselines=[closed_form]", f"data_dir={tmp_path}", f"corpus.min_article_tokens={MIN_TOKENS}"]
    out = {}
    for name, extra in (("shards", ["corpus=wikipedia", f"corpus.path={folder}"]),
                        ("whole", ["corpus=file", f"corpus.path={tmp_path / 'whole.jsonl'}"])):
        d = tmp_path / name
        (d / "figures").mkdir(parents=True)
        OmegaConf.save(compose("word2vec", *common, *extra), d / "config.yaml")
        assert execute("word2vec", d) == "done", json.loads((d / "run.json").read_text()).get("traceback")
        out[name] = (json.loads((d / "summary.json").read_text()), np.load(d / "eigvals.npy"))
    (s, ev), (s_ref, ev_ref) = out["shards"], out["whole"]
    np.testing.assert_allclose(ev, ev_ref, rtol=1e-6)
    assert s["tokens"] == s_ref["tokens"] and s["articles"] == s_ref["articles"]
    assert s["corpus_filter"]["articles_seen"] == len(arts) and s_ref["corpus_filter"] is None
