"""word2vec SGNS trainer: pair generation by brute force, subsampling and noise rules, learning."""
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from repro.experiments.word2vec import models, train



def test_skipgram_pairs_equal_brute_force():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, 60)
    doc = np.repeat([0, 1, 2], [25, 5, 30])
    L = 4
    cen, ctx = train.skipgram_pairs(ids, doc, L, np.random.default_rng(5))
    b = np.random.default_rng(5).integers(1, L + 1, size=len(ids))  # the same reduced windows
    brute = []
    for p in range(len(ids)):
        for q in range(len(ids)):
            if q != p and abs(q - p) <= b[p] and doc[q] == doc[p]:
                brute.append((ids[p], ids[q]))
    assert sorted(zip(cen.tolist(), ctx.tolist())) == sorted(brute)


def test_dynamic_window_weights():
    """A pair at distance j is used with probability (L+1−j)/L (spec §1's dynamic window)."""
    n, L = 200_000, 5
    ids = np.arange(n) % 1000  # distance recoverable from ids
    cen, ctx = train.skipgram_pairs(ids, np.zeros(n, np.int64), L, np.random.default_rng(0))
    dist = np.abs((ctx - cen + 500) % 1000 - 500)
    freq = np.bincount(dist, minlength=L + 1)[1:] / (2 * n)
    np.testing.assert_allclose(freq, (L + 1 - np.arange(1, L + 1)) / L, atol=5e-3)


def test_subsampling_rule_and_noise_distribution():
    P = np.array([0.5, 1e-3, 1e-5, 1e-7])
    keep = models.subsample_keep_prob(P, 1e-5)
    np.testing.assert_allclose(keep[:2], [2e-5 + np.sqrt(2e-5), 1e-2 + 0.1])
    assert keep[2] == 1.0 and keep[3] == 1.0
    assert np.all(models.subsample_keep_prob(P, 0) == 1)
    counts = np.array([1000, 100, 10, 1])
    q = models.negative_distribution(counts)
    np.testing.assert_allclose(q, counts**0.75 / np.sum(counts**0.75))
    draws = train.AliasTable(q, "cpu").draw(300_000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 300_000, q, atol=4e-3)


def topic_corpus(n_articles=300, length=120, topics=4, per_topic=20, seed=0):
    """Articles each drawn from one topic's words plus shared function words."""
    rng = np.random.default_rng(seed)
    V = topics * per_topic + 5
    arts = []
    for a in range(n_articles):
        t = a % topics
        own = t * per_topic + rng.integers(0, per_topic, length)
        shared = topics * per_topic + rng.integers(0, 5, length)
        arts.append(np.where(rng.random(length) < 0.3, shared, own))
    ids = np.concatenate(arts)
    starts = np.arange(0, n_articles * length + 1, length)
    return ids, np.bincount(ids, minlength=V), starts, topics, per_topic


@pytest.mark.parametrize("tied", [True, False])
def test_sgns_learns_topics_and_loss_falls(tied):
    ids, counts, starts, topics, per = topic_corpus()
    cfg = OmegaConf.create(dict(d=16, lr=0.05, batch_size=256, negatives=2, window=5, subsample=0, epochs=3,
                                tied=tied, init="w2v", log_every=20, seed=0, compile=False))
    losses, stats = [], {}
    W = train.train_sgns(ids, counts, cfg, "cpu", lambda s, W, info: losses.append(info["loss"]),
                         article_starts=starts, stats=stats)
    assert W.shape == (len(counts), 16)
    assert np.mean(losses[-5:]) < np.mean(losses[1:4]) - 0.05
    assert stats["words"] == 3 * len(ids) and stats["words_per_sec"] > 0
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    cos = Wn @ Wn.T
    topic = np.arange(topics * per) // per
    same = topic[:, None] == topic[None, :]
    block = cos[: topics * per, : topics * per]
    assert block[same & ~np.eye(len(topic), dtype=bool)].mean() > block[~same].mean() + 0.3


def test_step_cap_and_callbacks():
    ids, counts, starts, *_ = topic_corpus(n_articles=20)
    cfg = OmegaConf.create(dict(d=8, batch_size=64, window=3, subsample=0, tied=False, init="w2v", steps=12,
                                log_every=4, seed=0, compile=False))
    calls, stats = [], {}
    train.train_sgns(ids, counts, cfg, "cpu", lambda s, W: calls.append(s), article_starts=starts, stats=stats)
    assert calls == [0, 4, 8, 12]
    assert stats["pairs"] == 12 * 64


def test_separator_ids_split_articles():
    tokens, doc = train._article_ids(np.array([3, 4, -1, 5, 6]), None)
    assert tokens.tolist() == [3, 4, 5, 6] and doc.tolist() == [0, 0, 1, 1]
    tokens, doc = train._article_ids(np.array([3, 4, 5, 6]), np.array([0, 1, 4]))
    assert doc.tolist() == [0, 1, 1, 1]


def test_sgns_step_gradient_matches_autograd():
    torch.manual_seed(0)
    W = torch.randn(10, 4, dtype=torch.float64) * 0.5
    c = torch.tensor([1, 2, 2]); ctx = torch.tensor([[3, 4], [5, 1], [2, 2]])
    labels = torch.tensor([[1.0, 0.0]] * 3, dtype=torch.float64)
    Wa = W.clone().requires_grad_(True)
    x = (Wa[ctx] * Wa[c].unsqueeze(1)).sum(-1)
    loss = (torch.nn.functional.softplus(-x[:, 0]) + torch.nn.functional.softplus(x[:, 1])).sum()
    loss.backward()
    W2 = W.clone()
    got = train.sgns_step(W2, W2, c, ctx, labels, torch.ones(3, dtype=torch.float64), torch.tensor(0.1, dtype=torch.float64))
    assert float(got) == pytest.approx(float(loss))
    torch.testing.assert_close(W2, W - 0.1 * Wa.grad)


@pytest.mark.slow
def test_compiled_step_equals_eager():
    W = torch.randn(50, 8) * 0.3
    n = 64 * train.SUBSTEPS
    c = torch.randint(0, 50, (n,)); ctx = torch.randint(0, 50, (n, 2))
    labels = torch.zeros(64, 2); labels[:, 0] = 1
    wt, lrs = torch.ones(n), torch.linspace(0.05, 0.01, train.SUBSTEPS)
    A, B = W.clone(), W.clone()
    la = train.sgns_steps(A, A, c, ctx, labels, wt, lrs)
    lb = train._sgns_kernel(True)(B, B, c, ctx, labels, wt, lrs)
    torch.testing.assert_close(A, B, rtol=1e-5, atol=1e-6)
    assert float(la) == pytest.approx(float(lb), rel=1e-5)


def test_hogwild_helper_process_trains_shared_tables():
    """workers=2: a spawned helper trains half the chunks on the shared table; all words are counted."""
    ids, counts, starts, topics, per = topic_corpus(n_articles=400)
    cfg = OmegaConf.create(dict(d=16, lr=0.05, batch_size=256, negatives=2, window=5, subsample=0, epochs=3,
                                tied=True, init="w2v", log_every=10**6, seed=0, compile=False, workers=2))
    stats = {}
    W = train.train_sgns(ids, counts, cfg, "cpu", None, article_starts=starts, stats=stats)
    assert stats["words"] == 3 * len(ids)
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    topic = np.arange(topics * per) // per
    cos = (Wn @ Wn.T)[: topics * per, : topics * per]
    same = topic[:, None] == topic[None, :]
    assert cos[same & ~np.eye(len(topic), dtype=bool)].mean() > cos[~same].mean() + 0.3
