"""Corpus preprocessing: tokens, vocabulary, OOV deletion, articles, formats, cache, bad input."""
import bz2
import dataclasses
import gzip
import json
import lzma

import numpy as np
import pytest

from repro.experiments.common.errors import ConfigError
from repro.experiments.word2vec import corpus as C
from repro.experiments.word2vec.settings import settings


@pytest.fixture
def ccfg(compose):
    """ccfg(path, **changes) -> settings.Corpus of `corpus=file corpus.path=path` with changes."""
    base = settings(compose("word2vec", "corpus=file")).corpus

    def make(path, **kw):
        return dataclasses.replace(base, path=str(path), **kw)
    return make


WIKI = (" \n = First Title = \n \n The cat's cat sat ; the DOG (2 dogs) sat .\n"
        " = = Section = = \n the cat café naïve\n = Second = \n dog dog the zebra\n")


def test_tokens_vocab_oov_and_articles(tmp_path, ccfg):
    p = tmp_path / "wiki.train.raw"
    p.write_text(WIKI, encoding="utf-8")
    c = C.load_corpus(ccfg(p), 4, None, use_cache=False)
    # tokens: [first title the cat s cat sat the dog dogs sat section the cat caf na ve] [second dog dog the zebra]
    # counts: the 4, cat 3, dog 3, sat 2 -> top-4 with ties broken alphabetically: the, cat, dog, sat
    assert c.words == ["the", "cat", "dog", "sat"]
    assert c.counts.tolist() == [4, 3, 3, 2]
    inv = dict(zip(c.words, range(4)))
    expect_a1 = ["the", "cat", "cat", "sat", "the", "dog", "sat", "the", "cat"]
    expect_a2 = ["dog", "dog", "the"]
    assert c.ids.tolist() == [inv[w] for w in expect_a1 + expect_a2]
    assert c.starts.tolist() == [0, 9, 12]      # two articles (the " = = Section = = " line is not one)
    assert c.n_raw_tokens == 17 + 5
    assert np.isclose(c.unigram().sum(), 1.0)


@pytest.mark.parametrize("suffix,opener", [(".gz", gzip.open), (".xz", lzma.open), (".bz2", bz2.open)])
def test_compressed_and_jsonl_give_same_stream(tmp_path, suffix, opener, ccfg):
    arts = ["alpha beta gamma alpha", "beta beta delta alpha gamma", "gamma alpha"]
    plain = tmp_path / "c.txt"
    plain.write_text("\n\n".join(arts))
    jl = tmp_path / f"c.jsonl{suffix}"
    with opener(jl, "wt") as f:
        for a in arts:
            f.write(json.dumps({"id": 1, "text": a}) + "\n")
    a = C.load_corpus(ccfg(plain), 3, None, use_cache=False)
    b = C.load_corpus(ccfg(jl), 3, None, use_cache=False)
    assert a.words == b.words and a.ids.tolist() == b.ids.tolist() and a.starts.tolist() == b.starts.tolist()
    assert len(a.starts) == 4


def test_min_article_tokens_and_cache_roundtrip(tmp_path, ccfg):
    p = tmp_path / "c.txt"
    p.write_text("a b c d e f\n\nshort one\n\na b a b a b")
    c1 = C.load_corpus(ccfg(p, min_article_tokens=3), 3, None)
    assert len(c1.starts) == 3                       # the 2-token article is dropped
    c2 = C.load_corpus(ccfg(p, min_article_tokens=3), 3, None)   # from the cache
    assert c2.ids.tolist() == c1.ids.tolist() and c2.words == c1.words


def test_truncated_token_cache_is_detected_and_recomputed(tmp_path, ccfg, monkeypatch, capsys):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "c.txt"
    p.write_text(WIKI)
    c1 = C.load_corpus(ccfg(p), 4, None)
    [entry] = (tmp_path / "cache" / "word2vec_tokens").glob("*.npz")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    capsys.readouterr()
    c2 = C.load_corpus(ccfg(p), 4, None)
    err = capsys.readouterr().err
    assert "damaged" in err and "tokenising" in err          # detected, deleted, recomputed
    assert c2.ids.tolist() == c1.ids.tolist() and c2.words == c1.words and c2.starts.tolist() == c1.starts.tolist()
    assert C.load_corpus(ccfg(p), 4, None).counts.tolist() == c1.counts.tolist()   # the rewritten entry is good


def test_bad_input_one_line_errors(tmp_path, monkeypatch, ccfg):
    def err(cfg, V=2):
        with pytest.raises(ConfigError) as e:
            C.check_source(cfg, None)
            C.load_corpus(cfg, V, None, use_cache=False)
        msg = str(e.value)
        assert "\n" not in msg
        return msg

    assert "wikitext, wikitext2, enwiki" in err(ccfg(tmp_path / "nosuch"))
    (tmp_path / "empty.txt").write_text("  \n")
    assert "empty" in err(ccfg(tmp_path / "empty.txt"))
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 4)
    assert "binary" in err(ccfg(tmp_path / "bin.txt"))
    (tmp_path / "digits.txt").write_text("123 456 !!! ...")
    assert "no [a-z]+ tokens" in err(ccfg(tmp_path / "digits.txt"))
    (tmp_path / "few.txt").write_text("one two three two one")
    assert "3 distinct words" in err(ccfg(tmp_path / "few.txt"), V=10)
    assert "directory" in err(ccfg(tmp_path))


def test_offline_named_corpus_says_how_to_point_at_a_local_copy(tmp_path, monkeypatch, compose):
    monkeypatch.setattr(C, "hub_reachable", lambda: False)
    monkeypatch.setattr(C, "hub_cached", lambda cfg: False)
    cfg = settings(compose("word2vec", "corpus=wikitext")).corpus
    with pytest.raises(ConfigError) as e:
        C.check_source(cfg, tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "corpus.path=" in msg and "wikitext-103-raw/wiki.train.raw" in msg
    # a local copy under data_dir is found without the hub
    (tmp_path / "wikitext-103-raw").mkdir()
    (tmp_path / "wikitext-103-raw" / "wiki.train.raw").write_text(WIKI)
    C.check_source(cfg, tmp_path)
