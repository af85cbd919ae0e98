"""Drawing training data: word pairs ~ P_ij (QWEM), words ~ a unigram law (negatives), and
word2vec's skip-gram pairs from the token stream (SGNS).

    PairSampler(Pij, device).sample(n, gen) -> (i, j)   exact draws from the joint distribution
    AliasTable(p, device).draw(shape, gen) -> ids       exact O(1) draws from a (V,) distribution
    article_ids(ids, starts) -> (tokens, doc)           token ids and the article of each token
    skipgram_pairs(tokens, doc, L, rng) -> (centres, contexts)   dynamic window, within articles
"""
from __future__ import annotations

import numpy as np
import torch


class PairSampler:
    """Draws ordered pairs (i, j) ~ P_ij exactly, on the device.

    Only the upper triangle's non-zeros are stored (flat key i·V + j and the running sum of their
    mass: 2P_ij off the diagonal, P_ii on it), so memory is 16 bytes per co-occurring pair; a
    uniform draw is located with searchsorted, then each off-diagonal pair is flipped with
    probability ½. P_ij at any pair (for the importance weights) is read from the dense table.
    """

    def __init__(self, Pij: np.ndarray, device, chunk_rows: int = 1024):
        V = Pij.shape[0]
        keys, mass = [], []
        for a in range(0, V, chunk_rows):
            rows = np.asarray(Pij[a:a + chunk_rows], dtype=np.float64)
            r, c = np.nonzero(np.triu(rows, k=a))  # j ≥ i for every row i = a + r
            vals = rows[r, c]
            keys.append((r + a).astype(np.int64) * V + c)
            mass.append(np.where(r + a == c, vals, 2.0 * vals))
        keys, mass = np.concatenate(keys), np.concatenate(mass)
        self.V, self.device = V, device
        self.keys = torch.as_tensor(keys, device=device)
        self.cum = torch.as_tensor(np.cumsum(mass), device=device)
        self.total = float(self.cum[-1]) if len(mass) else 0.0
        self.P_flat = torch.as_tensor(np.ascontiguousarray(Pij, dtype=np.float64), device=device).reshape(-1)

    def sample(self, n: int, gen: torch.Generator):
        u = torch.rand(n, generator=gen, device=self.device, dtype=torch.float64) * self.total
        idx = torch.searchsorted(self.cum, u, right=True).clamp_(max=len(self.cum) - 1)
        k = self.keys[idx]
        i, j = k // self.V, k % self.V
        flip = torch.rand(n, generator=gen, device=self.device) < 0.5
        return torch.where(flip, j, i), torch.where(flip, i, j)

    def values(self, i, j) -> torch.Tensor:
        return self.P_flat[i * self.V + j]


class AliasTable:
    """Walker's alias method: O(1) exact draws from a (V,) distribution (two uniforms, two gathers),
    cheaper than a binary search per draw. Built once in O(V) (Vose's construction)."""

    def __init__(self, p: np.ndarray, device):
        p = np.asarray(p, dtype=np.float64)
        n = len(p)
        scaled = p / p.sum() * n
        prob, alias = np.ones(n), np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)
        self.n, self.device = n, device
        self.prob = torch.as_tensor(prob, device=device)
        self.alias = torch.as_tensor(alias, device=device)

    def draw(self, shape, gen: torch.Generator) -> torch.Tensor:
        k = torch.randint(0, self.n, shape if isinstance(shape, tuple) else (shape,), generator=gen, device=self.device)
        u = torch.rand(k.shape, generator=gen, device=self.device, dtype=torch.float64)
        return torch.where(u < self.prob[k], k, self.alias[k])


def article_ids(ids: np.ndarray, article_starts) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, article id per token); negative ids in `ids` are separators and are dropped."""
    ids = np.asarray(ids)
    doc = np.zeros(len(ids), dtype=np.int64)
    if article_starts is not None:
        starts = np.asarray(article_starts, dtype=np.int64)
        doc[starts[(starts > 0) & (starts < len(ids))]] = 1
        doc = np.cumsum(doc)
    sep = ids < 0
    if sep.any():
        doc = doc + np.cumsum(sep)
        ids, doc = ids[~sep], doc[~sep]
    return ids.astype(np.int64), doc


def skipgram_pairs(ids: np.ndarray, doc: np.ndarray, window: int, rng: np.random.Generator):
    """(centre, context) pairs with word2vec's dynamic window, both directions, within articles.

    Each centre p draws a reduced window b_p uniform in {1..L} and pairs with every context at
    distance j ≤ b_p on either side, so a pair at distance j is used with probability (L+1−j)/L
    (spec §1's dynamic-window weight, up to its normalisation).
    """
    n = len(ids)
    b = rng.integers(1, window + 1, size=n)
    centres, contexts = [], []
    for j in range(1, min(window, n - 1) + 1):
        same = doc[:-j] == doc[j:]
        fwd = same & (b[:-j] >= j)    # centre p, context p + j
        bwd = same & (b[j:] >= j)     # centre p + j, context p
        centres += [ids[:-j][fwd], ids[j:][bwd]]
        contexts += [ids[j:][fwd], ids[:-j][bwd]]
    if not centres:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centres), np.concatenate(contexts)
