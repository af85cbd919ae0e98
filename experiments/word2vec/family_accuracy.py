"""Per-family analogy accuracy of the theoretical embedding W_d over the d grid, and Fig. 8's cosines.

Accuracy: analogies.evaluate (normalised 3CosAdd over the whole vocabulary, spec §6.1) on one
QuestionSet holding every family as a section, so a family's accuracy is exactly the scorer's
accuracy restricted to that family's questions, from one scoring pass per d.

Fig. 8 (spec §8, "top-1 accuracy at large d"): per question a:b :: a':w of a family (every ordered
pair of distinct pairs, w = b' the answer its task vector uses),
    cos(x̂, w)      with x̂ = the 3CosAdd query b̂ − â + â' (analogies.query), normalised;
    ratio          cos(x̂, w) / max_{v ∉ {a, b, a', w}} cos(v, w): the query's similarity to the
                   answer relative to the answer's nearest other word,
both averaged over the family's questions. Accuracy can stay high while cos(x̂, w) falls with d
because the embeddings spread apart: the ratio stays roughly flat.
"""
from __future__ import annotations

import numpy as np

from . import analogies
from .eigen import embedding_from_eigs


def accuracy_over_d(eigvals, eigvecs, qs: analogies.QuestionSet, grid: list[int]) -> dict:
    """{family: [accuracy of W_d for d in grid]} and "all": the micro-average over the families."""
    out = {name: [] for name in qs.sections}
    out["all"] = []
    for d in grid:
        res = analogies.evaluate(embedding_from_eigs(eigvals, eigvecs, d), qs)
        for name in qs.sections:
            out[name].append(res["sections"][name])
        out["all"].append(res["accuracy"])
    return out


def question_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every ordered pair of distinct pairs, in analogies.pair_questions' order."""
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    return i, j


def cos_ratio(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean cos(x̂, w), mean ratio) over a family's questions (module docstring)."""
    Wn = analogies.normalize_rows(np.asarray(W, np.float64))
    i, j = question_pairs(len(a))
    x = analogies.query(Wn, a[i], b[i], a[j])
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    cos = np.einsum("qd,qd->q", x, Wn[b[j]])
    # The nearest other word of each answer: among its 5 nearest (itself included), the first not
    # excluded by the question (at most 4 words are).
    answers = np.unique(b)
    sims = Wn[answers] @ Wn.T
    top = np.argpartition(-sims, 5, axis=1)[:, :5]
    order = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, 1), axis=1), 1)
    row = np.searchsorted(answers, b[j])
    cand = order[row]                                                     # (questions, 5)
    excluded = (cand == a[i, None]) | (cand == b[i, None]) | (cand == a[j, None]) | (cand == b[j, None])
    first = np.argmax(~excluded, axis=1)
    nearest = sims[row, cand[np.arange(len(cand)), first]]
    return float(cos.mean()), float(np.mean(cos / nearest))


def cos_ratio_over_d(eigvals, eigvecs, families, grid: list[int]) -> dict:
    """{family: {"cos": [...], "ratio": [...]}} over the d grid."""
    out = {f.name: {"cos": [], "ratio": []} for f in families}
    for d in grid:
        W = embedding_from_eigs(eigvals, eigvecs, d)
        for f in families:
            c, r = cos_ratio(W, f.a, f.b)
            out[f.name]["cos"].append(c)
            out[f.name]["ratio"].append(r)
    return out
