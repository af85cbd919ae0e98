"""Eigen-features and the emergence of analogies (spec §7 Fig. 3a, §8).

- `top_words`: the words with the largest coordinates along each top eigenvector of M* (or principal
  direction of a trained W): the interpretable subspaces. An eigenvector's sign is arbitrary; it is
  oriented so that its largest-magnitude coordinate is positive, and both ends are listed.
- `rank_grid` / `accuracy_vs_rank`: analogy accuracy of the truncated closed form
  W_r = V*[:, :r] Λ_r^{1/2}. By §4.3 an embedding trained to time t ≈ W_{r(t)} with
  r(t) = #{k : τ_k < t}, so `RankAccuracy` also gives the theory's accuracy over time.
"""
from __future__ import annotations

import numpy as np

from . import analogies
from .eigen import embedding_from_eigs


def principal_directions(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left singular vectors U, singular values S) of W: W ← U S is the re-rotation of spec §7."""
    U, S, _ = np.linalg.svd(np.asarray(W, np.float64), full_matrices=False)
    return U, S


def orient(vecs: np.ndarray) -> np.ndarray:
    """Flip each column so its largest-magnitude coordinate is positive (removes the sign ambiguity)."""
    idx = np.abs(vecs).argmax(axis=0)
    signs = np.sign(vecs[idx, np.arange(vecs.shape[1])])
    return vecs * np.where(signs == 0, 1.0, signs)


def top_words(vecs: np.ndarray, words: list[str], n_pcs: int = 16, n_words: int = 8) -> list[dict]:
    """One row per direction k: the n_words words with the largest (+) and smallest (−) coordinates."""
    v = orient(vecs[:, :n_pcs])
    rows = []
    for k in range(v.shape[1]):
        order = np.argsort(-v[:, k])
        rows.append({"k": k + 1, "top": [words[i] for i in order[:n_words]],
                     "bottom": [words[i] for i in order[::-1][:n_words]]})
    return rows


def table_markdown(tables: dict[str, list[dict]]) -> str:
    """Side-by-side markdown table: one column per embedding, the + end of each direction."""
    names = list(tables)
    n = max(len(t) for t in tables.values())
    lines = ["| k | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for k in range(n):
        cells = [" ".join(tables[m][k]["top"]) if k < len(tables[m]) else "" for m in names]
        lines.append(f"| {k + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rank_grid(d: int) -> list[int]:
    """r = 2^2, 2^2.5, …, up to d (the spec's d grid), plus d itself."""
    grid = sorted({int(round(2 ** e)) for e in np.arange(2.0, np.log2(max(d, 4)) + 1e-9, 0.5)} | {d})
    return [r for r in grid if 1 <= r <= d]


class RankAccuracy:
    """Memoised analogy accuracy of the truncated closed form W_r, for any rank r."""

    def __init__(self, eigvals: np.ndarray, eigvecs: np.ndarray, questions):
        self.w, self.v, self.q = eigvals, eigvecs, questions
        self.memo: dict[int, float] = {}

    def __call__(self, r: int) -> float:
        r = int(min(max(r, 0), len(self.w)))
        if r not in self.memo:
            self.memo[r] = 0.0 if r == 0 else analogies.accuracy(embedding_from_eigs(self.w, self.v, r), self.q)
        return self.memo[r]


def accuracy_vs_rank(eigvals, eigvecs, questions, ranks) -> list[dict]:
    acc = RankAccuracy(eigvals, eigvecs, questions)
    return [{"d": int(r), "accuracy": acc(r)} for r in ranks]
