"""word2vec SGNS trainer: pair generation by brute force, subsampling and noise rules, learning."""
import dataclasses

import numpy as np
import pytest
import torch

from repro.experiments.common.compile import compiled_or_eager
from repro.experiments.common.errors import ConfigError
from repro.experiments.word2vec import models, run as R, sgns, sgns_native
from repro.experiments.word2vec.sampling import AliasTable, article_ids, skipgram_pairs
from repro.experiments.word2vec.settings import resolve

native = pytest.mark.skipif(sgns_native.load() is None, reason="no C compiler for the native SGNS kernel")


def test_skipgram_pairs_equal_brute_force():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, 60)
    doc = np.repeat([0, 1, 2], [25, 5, 30])
    L = 4
    cen, ctx = skipgram_pairs(ids, doc, L, np.random.default_rng(5))
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
    cen, ctx = skipgram_pairs(ids, np.zeros(n, np.int64), L, np.random.default_rng(0))
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
    draws = AliasTable(q, "cpu").draw(300_000, torch.Generator().manual_seed(0)).numpy()
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


@pytest.mark.parametrize("kernel", ["torch", pytest.param("native", marks=native)])
@pytest.mark.parametrize("tied", [True, False])
def test_sgns_learns_topics_and_loss_falls(tied, kernel, trainer):
    ids, counts, starts, topics, per = topic_corpus()
    # word2vec's per-pair updates take a smaller lr than summed minibatches of 256 pairs
    t, r = trainer("sgns", dict(subsample=0.0, epochs=3, tied=tied, log_every=20, compile=False), d=16,
                   lr=0.05 if kernel == "torch" else 0.025, batch_size=256, negatives=2, window=5, init="w2v",
                   init_scale=0.1, seed=0, kernel=kernel, workers=2 if kernel == "native" else 1)  # native: 2 threads
    losses, stats = [], {}
    W = sgns.train_sgns(ids, counts, t, r, "cpu", lambda s, W, info: losses.append(info["loss"]),
                        article_starts=starts, stats=stats)
    assert W.shape == (len(counts), 16)
    assert np.mean(losses[-5:]) < losses[1] - 0.05       # losses[0] is the nan of the step-0 call
    assert stats["words"] == 3 * len(ids) and stats["words_per_sec"] > 0
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    cos = Wn @ Wn.T
    topic = np.arange(topics * per) // per
    same = topic[:, None] == topic[None, :]
    block = cos[: topics * per, : topics * per]
    assert block[same & ~np.eye(len(topic), dtype=bool)].mean() > block[~same].mean() + 0.3


def test_step_cap_and_callbacks(trainer):
    ids, counts, starts, *_ = topic_corpus(n_articles=20)
    t, r = trainer("sgns", dict(subsample=0.0, tied=False, log_every=4, compile=False), d=8, batch_size=64, window=3,
                   init="w2v", init_scale=0.1, steps=12, seed=0, kernel="torch", workers=1)
    calls, stats = [], {}
    sgns.train_sgns(ids, counts, t, r, "cpu", lambda s, W, info: calls.append(s), article_starts=starts, stats=stats)
    assert calls == [0, 4, 8, 12]
    assert stats["pairs"] == 12 * 64


def test_separator_ids_split_articles():
    tokens, doc = article_ids(np.array([3, 4, -1, 5, 6]), None)
    assert tokens.tolist() == [3, 4, 5, 6] and doc.tolist() == [0, 0, 1, 1]
    tokens, doc = article_ids(np.array([3, 4, 5, 6]), np.array([0, 1, 4]))
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
    got = sgns.sgns_step(W2, W2, c, ctx, labels, torch.ones(3, dtype=torch.float64), torch.tensor(0.1, dtype=torch.float64))
    assert float(got) == pytest.approx(float(loss.detach()))
    torch.testing.assert_close(W2, W - 0.1 * Wa.grad)


@pytest.mark.slow
def test_compiled_step_equals_eager():
    W = torch.randn(50, 8) * 0.3
    n = 64 * sgns.SUBSTEPS
    c = torch.randint(0, 50, (n,)); ctx = torch.randint(0, 50, (n, 2))
    labels = torch.zeros(64, 2); labels[:, 0] = 1
    wt, lrs = torch.ones(n), torch.linspace(0.05, 0.01, sgns.SUBSTEPS)
    A, B = W.clone(), W.clone()
    la = sgns.sgns_steps(A, A, c, ctx, labels, wt, lrs)
    lb = compiled_or_eager(sgns.sgns_steps, True)(B, B, c, ctx, labels, wt, lrs)
    torch.testing.assert_close(A, B, rtol=1e-5, atol=1e-6)
    assert float(la) == pytest.approx(float(lb), rel=1e-5)


def test_hogwild_helper_process_trains_shared_tables(trainer):
    """workers=2: a spawned helper trains half the chunks on the shared table; all words are counted."""
    ids, counts, starts, topics, per = topic_corpus(n_articles=400)
    t, r = trainer("sgns", dict(subsample=0.0, epochs=3, tied=True, log_every=10**6, compile=False), d=16, lr=0.05,
                   batch_size=256, negatives=2, window=5, init="w2v", init_scale=0.1, seed=0, workers=2, kernel="torch")
    stats = {}
    W = sgns.train_sgns(ids, counts, t, r, "cpu", None, article_starts=starts, stats=stats)
    assert stats["words"] == 3 * len(ids)
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    topic = np.arange(topics * per) // per
    cos = (Wn @ Wn.T)[: topics * per, : topics * per]
    same = topic[:, None] == topic[None, :]
    assert cos[same & ~np.eye(len(topic), dtype=bool)].mean() > cos[~same].mean() + 0.3


@native
def test_native_pair_update_equals_float64_reference():
    """sgns_pairs is word2vec's update: e += g C_o; C_o += g W_i; then W_i += e; noise == target skipped."""
    rng = np.random.default_rng(0)
    V, d, n, k = 30, 8, 300, 2
    W = (rng.standard_normal((V, d)) * 0.3).astype(np.float32)
    C = (rng.standard_normal((V, d)) * 0.3).astype(np.float32)
    inp, out, neg = rng.integers(0, V, n), rng.integers(0, V, n), rng.integers(0, V, (n, k))
    neg[::7, 0] = out[::7]                                    # some noise words equal the target
    lrs = np.linspace(0.1, 0.01, n).astype(np.float32)
    Wr, Cr, loss_ref = W.astype(np.float64), C.astype(np.float64), 0.0
    for p in range(n):
        i, o, e = inp[p], out[p], np.zeros(d)
        for j, t in enumerate([o, *neg[p]]):
            if j > 0 and t == o:
                continue
            f = Wr[i] @ Cr[t]
            g = lrs[p] * ((j == 0) - 1 / (1 + np.exp(-f)))
            loss_ref += np.logaddexp(0, -f if j == 0 else f)
            e += g * Cr[t]
            Cr[t] += g * Wr[i]
        Wr[i] += e
    loss = sgns_native.train_pairs(W, C, inp, out, neg, lrs)
    np.testing.assert_allclose(W, Wr, atol=1e-5)
    np.testing.assert_allclose(C, Cr, atol=1e-5)
    assert loss == pytest.approx(loss_ref, rel=1e-5)


def _stream_pairs(tok, doc, keep, L, threads=1):
    V = int(tok.max()) + 1
    W = np.zeros((V, 4), np.float32)
    q = AliasTable(np.ones(V) / V, "cpu")
    pairs, _ = sgns_native.train_stream(W, W, tok.astype(np.int32), doc.astype(np.int32), keep.astype(np.float32),
                                        q.prob.numpy(), q.alias.numpy(), 1, L, 0.0, 0.0, threads, 3)
    return pairs, W


@native
def test_native_stream_windows_articles_and_subsampling():
    """Pair counts: dynamic window (a pair at distance j used with prob (L+1-j)/L, both directions),
    no pair across articles, subsampling before windowing; lr 0 leaves the table untouched."""
    n, L = 200_000, 5
    tok = np.arange(n) % 97
    keep = np.ones(97)
    pairs, W = _stream_pairs(tok, np.zeros(n), keep, L)
    expected = 2 * n * sum((L + 1 - j) / L for j in range(1, L + 1))
    assert abs(pairs - expected) < 0.01 * expected
    assert not W.any()
    assert _stream_pairs(tok, np.arange(n), keep, L)[0] == 0            # one-word articles: no pairs
    two = _stream_pairs(tok, np.zeros(n), keep, L, threads=2)[0]       # slices cut only ~2L windows
    assert abs(two - pairs) < 0.01 * expected
    keep[::2] = 0.0                                                     # even ids always dropped
    half = _stream_pairs(tok, np.zeros(n), keep, L)[0]
    n_kept = np.isin(tok, np.arange(1, 97, 2)).sum()
    assert abs(half - 2 * n_kept * sum((L + 1 - j) / L for j in range(1, L + 1))) < 0.01 * expected


@native
def test_native_step_cap_and_callbacks_at_chunk_ends(trainer):
    ids, counts, starts, *_ = topic_corpus(n_articles=200)
    t, r = trainer("sgns", dict(subsample=0.0, tied=False, log_every=100), d=8, batch_size=64, window=3, init="w2v",
                   init_scale=0.1, steps=1000, seed=0, kernel="native", workers=1)
    calls, stats = [], {}
    sgns.train_sgns(ids, counts, t, r, "cpu", lambda s, W, info: calls.append(s), article_starts=starts, stats=stats)
    per_chunk = 4096 * 3 * 2 // 64 * 4 // 3          # ~4096 tokens x (L+1) pairs per chunk, in steps, + 1/3 slack
    assert calls[0] == 0 and calls == sorted(calls) and len(calls) >= 4
    assert all(b - a <= per_chunk for a, b in zip(calls, calls[1:]))   # a callback at every chunk end here
    assert 1000 <= stats["steps"] < 1000 + per_chunk and stats["kernel"] == "native"
    assert stats["words"] < len(ids)


def test_native_kernel_rejects_what_it_cannot_run(compose, quick_settings):
    """validate refuses the native kernel off float32; auto falls back to torch in float64."""
    for bad, needle in (("train.dtype=float64", "float32"), ("train.kernel=cuda", "valid choices: auto, native, torch")):
        with pytest.raises(ConfigError, match=needle):
            R.validate(compose("word2vec", "preset=quick", "train.method=sgns", "train.kernel=native", bad))
    t = dataclasses.replace(quick_settings.train, method="sgns", kernel="auto", dtype="float64")
    assert resolve(dataclasses.replace(quick_settings, train=t), 1.0, 1.0, "cpu", 2).kernel == "torch"
