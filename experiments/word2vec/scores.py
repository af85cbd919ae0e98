"""Benchmark scores of every embedding (analogies, word similarity) and the files they are saved in."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.experiments.common.atomic import atomic_write_text

from . import analogies, similarity


def evaluate_embedding(W, questions: dict, sims: dict, vocab) -> dict:
    """Accuracy (and per-section accuracy) on every analogy set, Spearman ρ on every similarity set."""
    out = {}
    for name, qs in questions.items():
        res = analogies.evaluate(W, qs)
        out[f"analogy_{name}"] = res["accuracy"]
        out[f"analogy_{name}_n"] = res["n"]
        out[f"analogy_{name}_sections"] = res["sections"]
    out.update(similarity.evaluate_all(W, sims, vocab))
    return out


def flat_results(results: dict) -> dict:
    """Scalars per embedding as top-level summary keys, e.g. analogy_google_closed_form."""
    out = {}
    for name, res in results.items():
        for key, val in res.items():
            if not isinstance(val, dict):
                out[f"{key}_{name}"] = val
    out["benchmarks"] = results
    return out


def save_embeddings(run_dir: Path, embeddings: dict, words: list[str]) -> None:
    """embeddings/<name>.npy (float32) and embeddings/vocab.txt (one word per row)."""
    folder = Path(run_dir) / "embeddings"
    folder.mkdir(exist_ok=True)
    for name, E in embeddings.items():
        np.save(folder / f"{name}.npy", np.asarray(E, np.float32))
    atomic_write_text(folder / "vocab.txt", "\n".join(words) + "\n")
