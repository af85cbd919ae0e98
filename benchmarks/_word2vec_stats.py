"""The Setting 3.1 target M* of a named corpus, from the repro caches: shared by the eigen benchmarks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.cli.compose import compose_config
from repro.experiments.word2vec import cooccurrence, corpus as corpus_mod, targets
from repro.experiments.word2vec.settings import settings


def corpus_mstar(data_dir: str, corpus: str, vocab: int, window: int = 16, k_neg: float = 1.0) -> np.ndarray:
    """M* (V × V, float64) of `corpus` at vocabulary `vocab` (tokens and co-occurrences cached)."""
    ccfg = settings(compose_config("word2vec", [f"corpus={corpus}"])).corpus
    c = corpus_mod.load_corpus(ccfg, vocab, Path(data_dir))
    fp = corpus_mod.corpus_fingerprint(ccfg, vocab, Path(data_dir))
    co = cooccurrence.cached_cooccurrence(c, fp, window)
    return targets.m_star(co.joint(), c.unigram(), k_neg)
