"""Windowed co-occurrence counts with word2vec's dynamic-window weights (spec §1).

One-sided window L: for every position p and forward offset j = 1..L inside the same article,
with a = ids[p], b = ids[p+j],
    C̃_ab += (L+1-j),  C̃_ba += (L+1-j)       (the dynamic window, unnormalised)
    C_ab  += 1,        C_ba  += 1
and P_ij = C̃_ij / ((L+1)/2 · Σ_ab C_ab). Only the total Σ C is needed, so C itself is never stored.

Counting is one np.bincount of the flat keys a·V+b per offset (a scatter-add in C over the whole
token array), then the transpose is added once at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repro.experiments.common.cache import cached
from repro.experiments.common.log import logger
from repro.experiments.common.progress import Progress

log = logger("word2vec")


@dataclass
class Cooccurrence:
    weighted: np.ndarray   # (V, V) float64 C̃, symmetric
    n_pairs: float         # Σ_ab C_ab (each unordered window pair counted twice, as C is symmetric)
    window: int

    def joint(self) -> np.ndarray:
        """P_ij = C̃_ij / (((L+1)/2) Σ C); sums to ≈ 1 (article edges make it slightly less)."""
        return self.weighted / ((self.window + 1) / 2 * self.n_pairs)


def count_cooccurrences(ids: np.ndarray, starts: np.ndarray, V: int, window: int,
                         chunk_keys: int = 64_000_000) -> Cooccurrence:
    """C̃ (float64, symmetric) and Σ C for a token stream split into articles."""
    return count_parts([(ids, starts)], V, window, None, chunk_keys)


def count_parts(parts, V: int, window: int, n_parts: int | None, chunk_keys: int = 64_000_000) -> Cooccurrence:
    """The table of a corpus given as parts of whole articles (shards). Every part's forward pairs go
    into one flat accumulator and the transpose is added once at the end, so n parts cost what one
    stream of the same length costs; exact, because no window crosses an article. n_parts: the
    number of parts for the progress line (None: no progress line)."""
    acc = np.zeros(V * V)
    n_pairs = 0
    bar = Progress(n_parts, "co-occurrences", unit="part") if n_parts else None
    for ids, starts in parts:
        n_pairs += add_forward_pairs(acc, np.asarray(ids), starts, V, window, chunk_keys)
        if bar is not None:
            bar.update(1, tokens=len(ids))
    if bar is not None:
        bar.close()
    return Cooccurrence(symmetrize_(acc.reshape(V, V)), float(n_pairs), int(window))


def add_forward_pairs(acc: np.ndarray, ids: np.ndarray, starts: np.ndarray, V: int, window: int,
                      chunk_keys: int) -> int:
    """acc[a·V+b] += (L+1−j) for every forward pair (p, p+j), j <= L, inside an article; returns Σ C
    (those pairs counted both ways, as C is symmetric).

    Pairs are first counted over the part as if it were one article: positions go in chunks, and
    each chunk's keys a·V+b for all L offsets are written into one preallocated buffer and summed
    by ONE weighted np.bincount (the V²-sized output is allocated once per chunk, not per offset; no
    per-offset masks). The few pairs that straddle an article boundary (< L² per boundary) are then
    subtracted exactly.
    """
    n = len(ids)
    if n < 2:
        return 0
    step = max(chunk_keys // max(window, 1), 1)
    keys = np.empty(min(step, n) * window, np.int64)
    for s in range(0, n - 1, step):
        e = min(s + step, n - 1)               # centre positions p in [s, e)
        centre = ids[s:e].astype(np.int64) * V
        o = 0
        lens = []
        for j in range(1, window + 1):
            m = min(e, n - j) - s             # centres with p + j < n
            if m <= 0:
                break
            np.add(centre[:m], ids[s + j: s + j + m], out=keys[o:o + m])
            o += m
            lens.append(m)
        w = np.repeat(np.arange(window, window - len(lens), -1, dtype=np.float64), lens)
        acc += np.bincount(keys[:o], weights=w, minlength=V * V)
    cross_keys, cross_w = boundary_pairs(ids, starts, V, window)
    np.subtract.at(acc, cross_keys, cross_w)
    return 2 * (sum(max(n - j, 0) for j in range(1, window + 1)) - len(cross_keys))


def boundary_pairs(ids: np.ndarray, starts: np.ndarray, V: int, window: int):
    """Keys a·V+b and weights (L+1−j) of the forward pairs (p, p+j), j <= L, that cross an article
    boundary; only positions within L of a boundary are looked at."""
    n = len(ids)
    inner = np.asarray(starts[1:-1], np.int64)
    inner = inner[(inner > 0) & (inner < n)]
    keys, weights = [], []
    for j in range(1, window + 1):
        # p < b <= p + j for some boundary b: p in [b − j, b − 1]
        p = (inner[:, None] - np.arange(1, j + 1)[None, :]).ravel()
        p = np.unique(p[(p >= 0) & (p + j < n)])
        keys.append(ids[p].astype(np.int64) * V + ids[p + j])
        weights.append(np.full(len(p), window + 1 - j, np.float64))
    return np.concatenate(keys), np.concatenate(weights)


def symmetrize_(A: np.ndarray, block: int = 256) -> np.ndarray:
    """A ← A + Aᵀ in place, block by block (a plain A + A.T is 5x slower: strided cache misses)."""
    n = A.shape[0]
    for i in range(0, n, block):
        for j in range(i, n, block):
            blk = A[i:i + block, j:j + block] + A[j:j + block, i:i + block].T
            A[i:i + block, j:j + block] = blk
            A[j:j + block, i:i + block] = blk.T
    return A


def cached_cooccurrence(corpus, fingerprint: str, window: int, use_cache: bool = True) -> Cooccurrence:
    """count_cooccurrences through the checked on-disk cache (common.cache), keyed by the corpus
    fingerprint (source, V, preprocessing) and the window. C̃ is kept as float32, also on a cache
    miss, so a first run and a cached one give the same numbers: float32 keeps counts below 2^24
    exact and the rest to 6e-8 relative error."""
    def compute() -> dict:
        log(f"counting co-occurrences: {corpus.n_tokens:,} tokens in {len(corpus.parts)} part(s), V={corpus.V}, "
            f"window={window} ...")
        cooc = count_parts(corpus.iter_parts(), corpus.V, window, len(corpus.parts))
        return dict(weighted=cooc.weighted.astype(np.float32), n_pairs=np.float64(cooc.n_pairs))

    z = cached("word2vec_cooc", dict(kind="cooc", corpus=fingerprint, window=int(window), version=2), compute,
               enabled=use_cache)
    return Cooccurrence(z["weighted"].astype(np.float64), float(z["n_pairs"]), int(window))
