"""Tokenising and the vocabulary (spec §5.1): lowercase, maximal [a-z]+ runs, the top-V words,
OOV tokens deleted before windowing. Shared by file corpora (corpus.py) and sharded ones (shards.py)."""
from __future__ import annotations

import re

import numpy as np

TOKEN_RE = re.compile(r"[a-z]+")


class _Interner:
    """Maps words to ids in first-seen order. Per chunk, only the *new* distinct words go through
    Python; the per-token lookup is `map(dict.__getitem__)` (a C loop) straight into numpy."""

    def __init__(self):
        self.index: dict[str, int] = {}

    def encode(self, tokens: list[str]) -> np.ndarray:
        index = self.index
        for w in set(tokens).difference(index):
            index[w] = len(index)
        return np.fromiter(map(index.__getitem__, tokens), dtype=np.int32, count=len(tokens))


def tokenize_articles(articles, min_tokens: int = 0, chunk_chars: int = 8_000_000, seen: dict | None = None):
    """All-word ids (first-seen order), article starts, the interner. Articles shorter than
    min_tokens raw tokens are dropped (the authors keep articles with >= 500 tokens); `seen` gets
    the articles and tokens looked at before that filter."""
    seen = {} if seen is None else seen
    seen.update(articles=0, tokens=0)
    interner = _Interner()
    pieces, lengths = [], []
    buf, buf_chars = [], 0

    def flush():
        nonlocal buf, buf_chars
        # one regex call over many articles; a NUL separator keeps per-article counts recoverable
        text = "\0".join(buf).lower()
        toks_per_article = [TOKEN_RE.findall(t) for t in text.split("\0")]
        seen["articles"] += len(toks_per_article)
        seen["tokens"] += sum(map(len, toks_per_article))
        for toks in toks_per_article:
            if len(toks) >= max(min_tokens, 1):
                pieces.append(interner.encode(toks))
                lengths.append(len(toks))
        buf, buf_chars = [], 0

    for art in articles:
        buf.append(art.replace("\0", " "))
        buf_chars += len(art)
        if buf_chars >= chunk_chars:
            flush()
    if buf:
        flush()
    ids = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    starts = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=starts[1:])
    return ids, starts, interner


def build_vocab(all_ids: np.ndarray, words_by_id: list[str], V: int):
    return top_vocab(np.bincount(all_ids, minlength=len(words_by_id)), words_by_id, V)


def top_vocab(counts: np.ndarray, words_by_id: list[str], V: int):
    """Top-V words by count, ties broken alphabetically (so the vocabulary is deterministic): the
    words, their counts and the lookup old id -> vocabulary id (-1 = OOV). Only words at or above
    the V-th largest count are sorted (a sharded corpus has millions of distinct words)."""
    V = min(V, len(words_by_id))
    cut = np.partition(counts, len(counts) - V)[len(counts) - V] if V else np.inf
    cand = np.flatnonzero(counts >= cut)
    order = sorted(cand.tolist(), key=lambda i: (-counts[i], words_by_id[i]))[:V]
    lookup = np.full(len(words_by_id), -1, np.int32)
    lookup[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    return [words_by_id[i] for i in order], counts[order].astype(np.int64), lookup


def strip_oov(all_ids: np.ndarray, starts: np.ndarray, lookup: np.ndarray):
    """Map to vocabulary ids and delete OOV tokens; article starts move to the stripped stream."""
    mapped = lookup[all_ids]
    keep = mapped >= 0
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    return mapped[keep], kept_before[starts]
