"""Co-occurrence counting speed: ours (one weighted np.bincount per chunk) vs a scipy.sparse peer.

    python benchmarks/word2vec_cooccurrence.py [DATA_DIR] [--tokens N]

Counts the 65M-word Wikipedia sample (DATA_DIR/enwiki-2015/enwiki-2015.jsonl.xz, or $REPRO_DATA_DIR)
at V = 10,000, window 16 with dynamic-window weights, prints tokens/s (target: the whole sample in
<= 60 s on a 2-core CPU), then times the peer — scipy.sparse.coo_matrix((w, (a, b))).tocsr(), the
usual way to sum duplicate pairs — on the first N tokens against ours on the same tokens, checks they
agree exactly and prints the speed ratio. Tokenisation is cached and not timed.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from repro.cli.compose import compose_config
from repro.experiments.word2vec import cooccurrence, corpus as corpus_mod
from repro.experiments.word2vec.settings import settings


def scipy_peer(ids, starts, V, L):
    """Same C̃ via COO → CSR (duplicates summed), the common sparse approach."""
    n = len(ids)
    end = np.repeat(starts[1:], np.diff(starts))
    rows, cols, vals = [], [], []
    for j in range(1, L + 1):
        ok = np.arange(j, n) < end[: n - j]
        a, b = ids[: n - j][ok], ids[j:][ok]
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(2 * len(a), L + 1 - j, np.float64)]
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(V, V)).tocsr()
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.environ.get("REPRO_DATA_DIR"))
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=5_000_000, help="tokens for the peer comparison")
    args = ap.parse_args()
    if not args.data_dir:
        raise SystemExit("give DATA_DIR (holding enwiki-2015/enwiki-2015.jsonl.xz) or set REPRO_DATA_DIR")
    ccfg = settings(compose_config("word2vec", ["corpus=enwiki"])).corpus
    t = time.perf_counter()
    c = corpus_mod.load_corpus(ccfg, args.vocab, Path(args.data_dir))
    print(f"corpus: {len(c.ids):,} in-vocabulary tokens, {len(c.starts) - 1:,} articles "
          f"(load/tokenise {time.perf_counter() - t:.1f} s, cached after the first run)")

    t = time.perf_counter()
    co = cooccurrence.count_cooccurrences(c.ids, c.starts, c.V, args.window)
    full = time.perf_counter() - t
    print(f"ours, full sample: {full:.1f} s, {len(c.ids) / full:,.0f} tokens/s (target <= 60 s)")
    del co

    n = min(args.tokens, len(c.ids))
    ids = c.ids[:n]
    starts = np.concatenate([c.starts[c.starts < n], [n]])
    t = time.perf_counter()
    ours = cooccurrence.count_cooccurrences(ids, starts, c.V, args.window)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    peer = scipy_peer(ids, starts, c.V, args.window)
    t_peer = time.perf_counter() - t
    assert np.array_equal(peer.toarray(), ours.weighted), "peer and ours disagree"
    print(f"first {n:,} tokens: ours {t_ours:.2f} s ({n / t_ours:,.0f} tokens/s), "
          f"scipy.sparse COO->CSR {t_peer:.2f} s ({n / t_peer:,.0f} tokens/s); identical counts")
    print(f"speed ratio ours/peer: {t_peer / t_ours:.2f}x")


if __name__ == "__main__":
    main()
