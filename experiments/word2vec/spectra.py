"""The appendix spectra: top eigenvalues of M*, PMI, PPMI and P_ij/(P_iP_j) + 1 (spec §9, extra figure).

    write_spectra(s, run_dir, n) -> path of spectra.json

Each matrix is built from the run's cached statistics (targets.py) and its top-n eigenvalues come
through eigen.cached_top_eigenpairs (cached); spectra.json holds them raw and normalised by the
top one (the figure plots the normalised values, log-log, with a k^-0.6 guide).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.experiments.common.atomic import atomic_write_json
from repro.experiments.common.device import resolve_device

from . import cooccurrence, corpus as corpus_mod, eigen, targets

MATRICES = ("mstar", "pmi", "ppmi", "ratio_plus_one")
LABELS = {"mstar": "M*", "pmi": "PMI", "ppmi": "PPMI", "ratio_plus_one": "P_ij/(P_iP_j) + 1"}


def ratio_plus_one(Pij: np.ndarray, Pi: np.ndarray) -> np.ndarray:
    """P_ij/(P_iP_j) + 1 (= e^PMI + 1; 1 where P_ij = 0)."""
    return Pij / np.outer(Pi, Pi) + 1.0


def write_spectra(s, run_dir: Path, n: int) -> Path:
    from .run import data_dir_of

    data_dir = data_dir_of(s)
    V = s.vocab_size
    corpus = corpus_mod.load_corpus(s.corpus, V, data_dir, use_cache=s.cache)
    fp = corpus_mod.corpus_fingerprint(s.corpus, V, data_dir)
    Pij, Pi = cooccurrence.cached_cooccurrence(corpus, fp, s.window, use_cache=s.cache).joint(), corpus.unigram()
    key = {"corpus": fp, "window": s.window, "V": V}
    build = {"mstar": (lambda: targets.m_star(Pij, Pi, s.k_neg), dict(key, k_neg=s.k_neg)),
             "pmi": (lambda: targets.pmi(Pij, Pi, s.pmi_zero), dict(key, pmi_zero=s.pmi_zero)),
             "ppmi": (lambda: targets.ppmi(Pij, Pi), dict(key, pmi_zero=s.pmi_zero)),
             "ratio_plus_one": (lambda: ratio_plus_one(Pij, Pi), key)}
    n = min(n, V)
    out = {"n": n, "labels": LABELS}
    device = resolve_device(s.device)
    for name in MATRICES:
        fn, parts = build[name]
        w, _, _ = eigen.cached_top_eigenpairs(name, fn, n, s.eigen, s.seed, parts, device, s.cache)
        out[name] = w
        out[f"{name}_normalised"] = w / w[0]
    path = Path(run_dir) / "spectra.json"
    atomic_write_json(path, out)
    return path
