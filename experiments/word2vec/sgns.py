"""word2vec skip-gram with negative sampling (Mikolov et al. 2013) on the token stream.

    train_sgns(ids, counts, t, r, device, callback=None, article_starts=None, stats=None) -> W

ids: the int token-id stream, counts the (V,) word counts; t the Train settings, r the Resolved
values (d, negatives, window, steps cap, lr, batch_size, init, init_scale, dtype, seed, kernel,
workers). callback(step, W, info) is called at step 0, every `log_every` steps and at the end, with
W a float64 numpy copy of the input table and info `loss` (mean per-pair logistic loss since the
last call; NaN at step 0), `lr`, `steps` (the cap or None) and `words` (corpus words done).
A step is batch_size pairs. r.kernel picks word2vec's per-pair C loop (sgns_native.train_native)
or the minibatched torch kernel here; both run `workers` Hogwild workers on shared tables.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from repro.experiments.common.compile import compiled_or_eager, use_compile

from . import sgns_native
from .models import init_embedding, negative_distribution, snapshot, subsample_keep_prob
from .sampling import AliasTable, article_ids, skipgram_pairs

DTYPES = {"float64": torch.float64, "float32": torch.float32}
SUBSTEPS = 4  # minibatches per kernel call: amortises the compiled function's per-call overhead


def sgns_step(W, C, centres, contexts, labels, weight, lr):
    """One SGNS minibatch with summed per-pair gradients; returns the batch's summed loss.

    centres: (B,) ids; contexts: (B, 1 + k) ids, column 0 the true context and the rest negatives;
    labels: (B, 1 + k) float, 1 for the true context and 0 for negatives; weight: (B,) 1 for real
    pairs and 0 for padding (the last minibatch is padded to B so a compiled step keeps one shape);
    lr: 0-d tensor (a tensor, so a compiled step is not re-specialised every time lr changes).
    For tied weights C is W. Gradients use the rows as they were before this batch (as word2vec
    does within one pair).
    """
    Wc = W[centres]                                   # (B, d)
    Cx = C[contexts]                                  # (B, 1 + k, d)
    x = (Cx * Wc.unsqueeze(1)).sum(-1)                # logits (B, 1 + k)
    # ln(1 + e^{−x}) for the true context, ln(1 + e^{x}) for negatives; derivative σ(x) − label.
    loss = (torch.nn.functional.softplus(x - 2.0 * labels * x) * weight.unsqueeze(1)).sum()
    g = (torch.sigmoid(x) - labels) * (weight * lr).unsqueeze(1)
    W.index_add_(0, centres, -(g.unsqueeze(2) * Cx).sum(1))
    C.index_add_(0, contexts.reshape(-1), -(g.unsqueeze(2) * Wc.unsqueeze(1)).reshape(-1, Wc.shape[1]))
    return loss


def sgns_steps(W, C, centres, contexts, labels, weight, lrs):
    """SUBSTEPS consecutive sgns_step minibatches (sequential, each sees the previous updates).

    centres/contexts/weight hold SUBSTEPS·B rows, lrs SUBSTEPS learning rates. Returns the summed loss.
    """
    B = labels.shape[0]
    total = None
    for k in range(SUBSTEPS):
        rows = slice(k * B, (k + 1) * B)
        loss = sgns_step(W, C, centres[rows], contexts[rows], labels, weight[rows], lrs[k])
        total = loss if total is None else total + loss
    return total


@dataclass(frozen=True)
class Plan:
    """What every worker of the torch kernel needs (picklable, so spawned helpers get it too)."""
    L: int
    B: int
    k_neg: int
    epochs: int
    chunk: int
    total_words: int
    lr0: float
    min_lr: float
    dtype: str
    compile: bool


class Stream:
    """The token stream in chunks: subsampled, windowed, shuffled and trained block by block, with
    word2vec's linear lr decay by words done. One worker (rank of `workers`) trains every
    workers-th chunk; the main process is rank 0, Hogwild helpers the others (`_helper`)."""

    def __init__(self, plan: Plan, tokens, doc, keep_p, counts, W, C, seed: int, rng=None, gen=None):
        self.p, self.tokens, self.doc, self.keep_p, self.W, self.C = plan, tokens, doc, keep_p, W, C
        self.device, self.dtype = W.device, DTYPES[plan.dtype]
        self.gen = gen if gen is not None else torch.Generator().manual_seed(seed % 2**63)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.noise = AliasTable(negative_distribution(counts), self.device)
        self.kernel = compiled_or_eager(sgns_steps, plan.compile)
        self.labels = torch.zeros(plan.B, 1 + plan.k_neg, dtype=self.dtype, device=self.device)
        self.labels[:, 0] = 1.0
        self.block = SUBSTEPS * plan.B

    def prepare(self, t_chunk, d_chunk):
        """(centres, contexts+negatives, weight) padded to a multiple of block (padding weight 0)."""
        p, device = self.p, self.device
        kept = self.rng.random(len(t_chunk)) < self.keep_p[t_chunk]
        cen, ctx = skipgram_pairs(t_chunk[kept], d_chunk[kept], p.L, self.rng)
        perm = self.rng.permutation(len(cen))
        n_chunk = len(cen)
        pad = (-n_chunk) % self.block
        cen_t = torch.as_tensor(np.concatenate([cen[perm], np.zeros(pad, np.int64)]), device=device)
        ctx_t = torch.as_tensor(np.concatenate([ctx[perm], np.zeros(pad, np.int64)]), device=device)
        wt_t = torch.ones(n_chunk + pad, dtype=self.dtype, device=device)
        wt_t[n_chunk:] = 0.0
        # Column 0 the true context, then k_neg noise words per pair, drawn for the whole chunk.
        ctx_t = torch.cat([ctx_t[:, None], self.noise.draw((n_chunk + pad, p.k_neg), self.gen)], 1)
        return cen_t, ctx_t, wt_t, n_chunk

    def lrs(self, words_before, chunk_words, n_chunk, n_padded):
        """word2vec's linear decay by raw words covered so far, interpolated within the chunk."""
        p = self.p
        starts_b = np.arange(0, n_padded, p.B)
        progress = (words_before + chunk_words * np.minimum(starts_b / max(n_chunk, 1), 1.0)) / p.total_words
        return torch.as_tensor(np.maximum(p.min_lr, p.lr0 * (1.0 - progress)), dtype=self.dtype, device=self.device)

    def run(self, rank: int, workers: int, words_before, on_block=None, on_chunk=None) -> None:
        """The one chunk loop. words_before() -> words done so far (drives the lr);
        on_block(loss, s, n_chunk, chunk_words, lrs) -> True stops the run;
        on_chunk(chunk_words, n_chunk, stopped_at) after each chunk (stopped_at: None or a block offset)."""
        gi = -1
        for _ in range(self.p.epochs):
            for a in range(0, len(self.tokens), self.p.chunk):
                gi += 1
                if gi % workers != rank:
                    continue  # another worker trains this chunk
                t_chunk, d_chunk = self.tokens[a:a + self.p.chunk], self.doc[a:a + self.p.chunk]
                cen_t, ctx_t, wt_t, n_chunk = self.prepare(t_chunk, d_chunk)
                lrs = self.lrs(words_before(), len(t_chunk), n_chunk, len(cen_t))
                stopped = None
                for s in range(0, n_chunk, self.block):
                    b = slice(s, s + self.block)
                    loss = self.kernel(self.W, self.C, cen_t[b], ctx_t[b], self.labels, wt_t[b],
                                       lrs[s // self.p.B:s // self.p.B + SUBSTEPS])
                    if on_block is not None and on_block(loss, s, n_chunk, len(t_chunk), lrs):
                        stopped = s
                        break
                if on_chunk is not None:
                    on_chunk(len(t_chunk), n_chunk, stopped)
                if stopped is not None:
                    return


def _start_helpers(workers, plan, W, C, tokens, doc, keep_p, counts, seed):
    """Hogwild helpers (as word2vec's threads): processes 1..workers−1 on the same shared-memory
    tables; a shared counter of words done drives everyone's lr."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    W.share_memory_()
    if C is not W:
        C.share_memory_()
    shared = ctx.Value("d", 0.0)
    procs = []
    for rank in range(1, workers):
        p = ctx.Process(target=_helper, args=(rank, workers, plan, W, C, torch.from_numpy(tokens).share_memory_(),
                                              torch.from_numpy(doc).share_memory_(), keep_p, counts, shared,
                                              seed + rank), daemon=True)
        p.start()
        procs.append(p)
    return shared, procs


def _add_words(shared, n):
    with shared.get_lock():
        shared.value += n


def _helper(rank, workers, plan, W, C, tokens, doc, keep_p, counts, shared, seed):
    torch.set_num_threads(1)
    stream = Stream(plan, tokens.numpy(), doc.numpy(), keep_p, counts, W, C, seed)
    stream.run(rank, workers, lambda: shared.value, on_chunk=lambda n, *_: _add_words(shared, n))


def train_sgns(ids, counts, t, r, device="cpu", callback=None, article_starts=None, stats=None):
    """word2vec SGNS, as word2vec.c / gensim: per epoch, words are dropped with the subsampling rule
    (keep prob min(1, t/P + sqrt(t/P))) before windowing, each kept word pairs with the contexts
    inside its dynamic window, every pair gets `negatives` noise words drawn ∝ count^0.75, and the lr
    decays linearly over the words processed. The torch kernel shuffles pairs within chunks of ~2M
    tokens and updates in minibatches with summed gradients. Windows never cross an article: pass
    article_starts (token offsets) or put negative separator ids in `ids`.

    tied=True uses one table (the paper's model); tied=False word2vec's input/output tables, with
    the output table starting at zero (word2vec.c) when init=w2v. Returns the input table.
    If `stats` is a dict it receives words, pairs, seconds, steps, kernel and words_per_sec.
    """
    device = torch.device(device)
    dtype = DTYPES[r.dtype]
    gen = torch.Generator(device=device).manual_seed(r.seed % 2**63)
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=torch.Generator().manual_seed(
        r.seed % 2**63))))
    counts = np.asarray(counts, dtype=np.float64)
    V, k_neg, L, B = len(counts), int(r.negatives), r.window, r.batch_size
    tokens, doc = article_ids(ids, article_starts)
    keep_p = subsample_keep_prob(counts / counts.sum(), t.subsample)
    W = init_embedding(V, r.d, r.init_scale, gen, dtype, device)
    if t.tied:
        C = W
    elif r.init == "w2v":
        C = torch.zeros_like(W)
    else:
        C = init_embedding(V, r.d, r.init_scale, gen, dtype, device)
    stats = {} if stats is None else stats
    info = dict(loss=float("nan"), lr=r.lr, steps=r.steps, words=0)
    if callback is not None:
        callback(0, snapshot(W), info)
    min_lr = r.lr * t.min_lr_ratio
    if r.kernel == "native":
        noise = AliasTable(negative_distribution(counts), device)
        sgns_native.train_native(tokens, doc, keep_p, noise, W, C, t, r, min_lr, callback, info, stats)
        return snapshot(W)
    keep_frac = float(np.mean(keep_p[tokens])) if len(tokens) else 0.0
    chunk = 1 << 21
    if r.workers > 1:
        chunk = min(chunk, max(50_000, math.ceil(len(tokens) / (4 * r.workers))))
    plan = Plan(L=L, B=B, k_neg=k_neg, epochs=t.epochs, chunk=chunk, total_words=len(tokens) * t.epochs, lr0=r.lr,
                min_lr=min_lr, dtype=r.dtype, compile=use_compile(t.compile, keep_frac * len(tokens) * (L + 1) * t.epochs))
    stream = Stream(plan, tokens, doc, keep_p, counts, W, C, r.seed, rng=rng, gen=gen)
    shared, helpers = None, []
    if r.workers > 1:
        shared, helpers = _start_helpers(r.workers, plan, W, C, tokens, doc, keep_p, counts, r.seed)
    state = dict(step=0, words=0, pairs=0, loss_n=0, loss=torch.zeros((), dtype=dtype, device=device))

    def on_block(loss, s, n_chunk, chunk_words, lrs):
        state["loss"] += loss
        n_real = min(stream.block, n_chunk - s)
        prev = state["step"]
        state["step"] += SUBSTEPS
        state["pairs"] += n_real
        state["loss_n"] += n_real
        if state["step"] // t.log_every > prev // t.log_every:
            _report(state, callback, W, info, lr=float(lrs[s // B]), words=int(state["words"] + chunk_words * s / n_chunk))
        return r.steps is not None and state["step"] >= r.steps

    def on_chunk(chunk_words, n_chunk, stopped):
        # a capped run counts the words of the chunk's pairs it trained
        done = 1.0 if stopped is None else min(1.0, (stopped + stream.block) / max(n_chunk, 1))
        state["words"] += chunk_words if stopped is None else int(chunk_words * done)
        if shared is not None:
            _add_words(shared, chunk_words)

    start = time.perf_counter()
    stream.run(0, r.workers, (lambda: shared.value) if shared is not None else (lambda: state["words"]), on_block, on_chunk)
    for h in helpers:
        h.join()
        if h.exitcode != 0:
            raise RuntimeError(f"SGNS helper process failed with exit code {h.exitcode}")
    if shared is not None:
        state["words"] = int(shared.value)
    seconds = time.perf_counter() - start
    if state["loss_n"] or state["step"] == 0:
        _report(state, callback, W, info, words=state["words"])
    stats.update(words=state["words"], pairs=state["pairs"], seconds=seconds, steps=state["step"], kernel="torch",
                 words_per_sec=state["words"] / max(seconds, 1e-9))
    return snapshot(W)


def _report(state, callback, W, info, **extra):
    """One callback with the mean loss since the last one (NaN if no pair was trained since)."""
    n = state["loss_n"]
    info.update(extra, loss=float(state["loss"]) / n if n else float("nan"))
    if callback is not None:
        callback(state["step"], snapshot(W), dict(info))
    state["loss"].zero_()
    state["loss_n"] = 0
