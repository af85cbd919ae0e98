"""Trainers: QWEM by minibatch SGD on sampled pairs, QWEM by full-batch GD, word2vec SGNS.

Public API (used by run.py):

    train_qwem_sgd(Pij, Pi, cfg_train, device, callback=None) -> W   (V, d) numpy
    train_qwem_gd(Pij, Pi, cfg_train, device, callback=None)  -> W   (V, d) numpy
    train_sgns(ids, counts, cfg_train, device, callback=None, article_starts=None, stats=None) -> W
    qwem_time_per_step(Pij, Pi, cfg_train) -> Δt     (theory time advanced by one step at the base lr)

Pij is the (V, V) symmetric joint co-occurrence distribution (float64, sums to 1), Pi the (V,)
unigram distribution; ids the int token-id stream, counts the (V,) word counts.

callback(step, W) is called at step 0, every `log_every` steps and after the last step, with W a
float64 numpy copy of the embedding (the input table for untied SGNS). If the callback accepts a
third argument named `info` (or **kwargs), it also gets a dict: `loss` (mean normalised loss since
the last call; QWEM ℒ of spec §5.5 starts at 1.0, SGNS the mean per-pair logistic loss), `lr`,
`steps` (total), and for QWEM `theory_time` (spec §4.5, so measured and predicted singular values
can be plotted on one axis), for SGNS `words` (raw corpus words processed so far).

Keys read from the `train` config node (all optional, defaults in brackets):

    d            embedding dimension [200]
    lr           learning rate [QWEM SGD: 5.0 (spec §5.7, normalised loss); QWEM GD: from gd_dt;
                 SGNS: 0.025 (word2vec)]
    gd_dt        QWEM GD with lr null: Euler step Δt = gd_dt/λ_1(M*) [0.2]
    steps        QWEM: number of SGD/GD steps [10000]; SGNS: optional cap on minibatches [null]
    batch_size   QWEM SGD: positive pairs per step, with as many negative pairs [50000];
                 SGNS: (centre, context) pairs per minibatch [1024]; gradients are summed over
                 the minibatch as word2vec's per-pair updates are, so keep it ≲ 16k. SGNS steps
                 come SUBSTEPS (4) minibatches per kernel call, so `steps` counts minibatches
                 and callbacks fall on the first multiple of 4 at or past each log_every
    init         small | w2v: W_ij ~ N(0, init_scale²/d) (spec §5.6) [small]
    init_scale   init_sz of spec §5.6 [null: 1e-12 for small, 0.1 for w2v]
    negatives    k_neg, negative samples per positive pair [1]
    reweight     QWEM SGD importance weights: omniscient (Setting 3.1) | sgns | unigram [omniscient];
                 QWEM GD supports omniscient only (constant G makes the full gradient a matmul)
    lr_decay_at  QWEM: fraction of steps after which lr is multiplied by lr_decay [0.75]
    lr_decay     QWEM: that factor (spec §5.6) [0.1]; 1.0 keeps lr constant
    log_every    steps between callbacks [100]
    tied         SGNS: one table for words and contexts (as the paper) or two (word2vec) [true]
    subsample    SGNS: word2vec subsampling threshold t, 0 disables [1e-5]
    window       SGNS: one-sided window L, dynamic (uniform reduced window, spec §1) [16]
    epochs       SGNS: passes over the token stream [1]
    min_lr_ratio SGNS: final lr / lr of the linear decay (word2vec: 0.0001/0.025) [0.004]
    dtype        float64 | float32 [QWEM: float64 (spec §5.6); SGNS: float32]
    kernel       SGNS: native | torch | auto [auto]. native is word2vec's own algorithm in C
                 (sgns_kernel.c: per-pair SGD in corpus order, `workers` Hogwild threads, CPU
                 float32; a step is batch_size pairs, callbacks and the steps cap at chunk ends);
                 torch is the minibatched kernel below (any device); auto = native when it builds
                 and the run is on CPU in float32, else torch
    workers      SGNS on CPU: Hogwild threads of the native kernel [torch.get_num_threads()], or
                 processes training chunks of the torch kernel on shared tables (steps then
                 counts the main process's minibatches) [1]
    compile      QWEM SGD and SGNS: torch.compile the fused update step: true | false | auto (only
                 when a run has > 3e7 pairs, to repay the one-off compile) [auto]
    seed         RNG seed [null: torch.initial_seed(), i.e. the run's seed_everything]
"""
from __future__ import annotations

import inspect
import math
import time

import numpy as np
import torch

from . import models, sgns_native, targets, theory

DTYPES = {"float64": torch.float64, "float32": torch.float32}


# ---------------------------------------------------------------- config and callback helpers

def _get(cfg, key, default):
    value = cfg.get(key, default) if cfg is not None else default
    return default if value is None else value


def _dtype(cfg, default: str) -> torch.dtype:
    name = str(_get(cfg, "dtype", default))
    if name not in DTYPES:
        raise ValueError(f"train.dtype={name!r} is invalid; valid choices: {', '.join(DTYPES)}")
    return DTYPES[name]


def _generator(cfg, device) -> torch.Generator:
    seed = cfg.get("seed", None) if cfg is not None else None
    seed = torch.initial_seed() if seed is None else int(seed)
    return torch.Generator(device=device).manual_seed(seed % 2**63)


def _wants_info(callback) -> bool:
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind == p.VAR_KEYWORD or p.name == "info" for p in params)


def _notify(callback, wants_info, step, W, info):
    if callback is None:
        return
    Wn = W.detach().to("cpu", torch.float64).numpy().copy()
    if wants_info:
        callback(step, Wn, info=info)
    else:
        callback(step, Wn)


_COMPILED = {}


def _use_compile(setting, expected_pairs: float) -> bool:
    """compile=true/false, or auto: only when training is long enough (> 3e7 pairs) to repay the
    one-off torch.compile (10–60 s on a small CPU) with its ~3x faster fused gather/scatter step."""
    if isinstance(setting, str) and setting == "auto":
        return expected_pairs > 3e7
    return bool(setting)


# ---------------------------------------------------------------- QWEM: pair sampler

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


# ---------------------------------------------------------------- QWEM by SGD

def _qwem_schedule(cfg):
    steps = int(_get(cfg, "steps", 10000))
    lr = float(_get(cfg, "lr", 5.0))
    decay_at = cfg.get("lr_decay_at", 0.75) if cfg is not None else 0.75
    decay = float(_get(cfg, "lr_decay", 0.1))
    return steps, lr, decay_at, decay


def qwem_time_per_step(Pij, Pi, cfg_train, mean_sq: float | None = None) -> float:
    """Theory time per step at the base lr: Δt = 2η(1 + k_neg)/(V²|m|) (spec §4.5, omniscient)."""
    k_neg = float(_get(cfg_train, "negatives", 1))
    if mean_sq is None:
        mean_sq = models.mean_sq_target(Pij, Pi, k_neg)
    return theory.time_per_step(float(_get(cfg_train, "lr", 5.0)), len(Pi), k_neg, mean_sq)


def qwem_sgd_update(W, I, J, qk, sign, scale_lr):
    """One fused QWEM SGD update on 2B pairs (positives first, then negatives).

    qk: importance weight times 1 (positives) or k_neg (negatives); sign: −1 for positives, +1 for
    negatives, so the per-pair loss is qk(sign·x + x²/4) and its derivative qk(sign + x/2)
    (models.qwem_pair_terms). scale_lr = lr/(B|m|) (0-d tensor). Tied: both rows of a pair move.
    Returns the summed un-normalised loss.
    """
    WI, WJ = W[I], W[J]
    x = (WI * WJ).sum(1)
    loss = (qk * (sign * x + 0.25 * x * x)).sum()
    g = (qk * (sign + 0.5 * x) * scale_lr).unsqueeze(1)
    W.index_add_(0, I, -g * WJ)
    W.index_add_(0, J, -g * WI)
    return loss


def _qwem_kernel(use_compile: bool):
    if not use_compile:
        return qwem_sgd_update
    if "qwem" not in _COMPILED:
        try:
            _COMPILED["qwem"] = torch.compile(qwem_sgd_update, dynamic=False)
        except Exception:  # noqa: BLE001 — eager is correct, only slower
            _COMPILED["qwem"] = qwem_sgd_update
    return _COMPILED["qwem"]


def train_qwem_sgd(Pij, Pi, cfg_train, device="cpu", callback=None):
    """QWEM by plain SGD on B positive pairs ~ P_ij and B negative pairs ~ P_iP_j per step.

    Per-step loss (spec §4.5/§5.5): ℒ = 1 − (1/B) Σ_b [q⁺(−x + x²/4) + k q⁻(x′ + x′²/4)] / m, with
    the importance weights and normaliser m of `reweight` (models.PairWeights). Its expectation in
    Setting 3.1 is 1 + ((1+k)/(4V²|m|))(‖WWᵀ − M*‖² − ‖M*‖²), so one step is an Euler step of the
    gradient flow of theory.py with Δt = 2η(1+k)/(V²|m|). Tied weights (the QWEM model).
    """
    device = torch.device(device)
    dtype = _dtype(cfg_train, "float64")
    gen = _generator(cfg_train, device)
    V, d = len(Pi), int(_get(cfg_train, "d", 200))
    k_neg = float(_get(cfg_train, "negatives", 1))
    B = int(_get(cfg_train, "batch_size", 50000))
    steps, lr0, decay_at, decay = _qwem_schedule(cfg_train)
    log_every = max(1, int(_get(cfg_train, "log_every", 100)))
    mode = str(_get(cfg_train, "reweight", "omniscient"))

    mean_sq = models.mean_sq_target(Pij, Pi, k_neg)
    sampler = PairSampler(Pij, device)
    Pi_t = torch.as_tensor(np.asarray(Pi, dtype=np.float64), device=device)
    uni = AliasTable(Pi, device)
    weights = models.PairWeights(mode, sampler, Pi_t, k_neg, mean_sq, float(_get(cfg_train, "subsample", 1e-5)))
    scale = 1.0 / (B * abs(weights.m))  # d ℒ / d(Σ per-pair losses)
    need_p = mode == "omniscient"
    dt = theory.time_per_step(lr0, V, k_neg, mean_sq)

    W = models.init_embedding(V, d, str(_get(cfg_train, "init", "small")), cfg_train.get("init_scale", None)
                              if cfg_train is not None else None, gen, dtype, device)
    # Per-pair constants of the fused update: positives (first B) −x, negatives k_neg·(+x).
    sign = torch.cat([-torch.ones(B, dtype=dtype, device=device), torch.ones(B, dtype=dtype, device=device)])
    kvec = torch.cat([torch.ones(B, dtype=dtype, device=device), torch.full((B,), k_neg, dtype=dtype, device=device)])
    kernel = _qwem_kernel(_use_compile(_get(cfg_train, "compile", "auto"), 2.0 * B * steps))
    wants = _wants_info(callback)
    info = dict(loss=1.0, lr=lr0, steps=steps, theory_time=0.0, mean_sq_target=mean_sq, dt_per_step=dt)
    _notify(callback, wants, 0, W, info)
    loss_sum, loss_n = 0.0, 0
    for step in range(1, steps + 1):
        lr = theory.lr_at(step - 1, lr0, steps, decay_at, decay)
        i, j = sampler.sample(B, gen)
        # Negatives (i', j') ~ P_i P_j; positives and negatives then share one gather/scatter.
        I = torch.cat([i, uni.draw(B, gen)])
        J = torch.cat([j, uni.draw(B, gen)])
        q = torch.cat([weights.positive(i, j, sampler.values(i, j) if need_p else None),
                       weights.negative(I[B:], J[B:], sampler.values(I[B:], J[B:]) if need_p else None)]).to(dtype)
        loss = kernel(W, I, J, q * kvec, sign, torch.tensor(scale * lr, dtype=dtype, device=device))
        loss_sum += 1.0 + scale * float(loss)
        loss_n += 1
        if step % log_every == 0 or step == steps:
            info = dict(info, loss=loss_sum / loss_n, lr=lr,
                        theory_time=float(theory.theory_time(step, lr0, V, k_neg, mean_sq, steps, decay_at, decay)))
            if not math.isfinite(info["loss"]):
                raise FloatingPointError(f"QWEM SGD diverged at step {step} (loss {info['loss']}); lower train.lr")
            _notify(callback, wants, step, W, info)
            loss_sum, loss_n = 0.0, 0
    return W.detach().to("cpu", torch.float64).numpy()


# ---------------------------------------------------------------- QWEM by full-batch GD

def _top_eigenvalue(M: torch.Tensor) -> float:
    """Largest algebraic eigenvalue λ_1 of symmetric M (Lanczos, scipy eigsh on a torch matvec).

    Not plain power iteration: a corpus M* has a large *negative* eigenvalue (≈ −2V from the −2
    entries of never-co-occurring pairs) that would dominate it.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    def matvec(x):
        xt = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, 1), device=M.device).to(M.dtype)
        return (M @ xt).double().cpu().numpy().ravel()

    op = LinearOperator(M.shape, matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(M.shape[0])
    return float(eigsh(op, k=1, which="LA", tol=1e-4, v0=v0, return_eigenvectors=False)[0])


def train_qwem_gd(Pij, Pi, cfg_train, device="cpu", callback=None):
    """QWEM by full-batch gradient descent on the exact Setting 3.1 loss (spec §3, §4.1).

    ℒ(W) = 1 + ((1+k)/(4‖M*‖²)) (‖WWᵀ − M*‖² − ‖M*‖²) — the expectation of the SGD loss — so
    W ← W + Δt · ½ (M* − WWᵀ) W with Δt = 2η(1+k)/(V²|m|): the same lr means the same theory time
    per step as train_qwem_sgd. Euler is stable while Δt·λ_1 ≲ 1; with lr null the step is
    chosen as Δt = gd_dt/λ_1 (gd_dt default 0.2; the paper's SGD lr 5 would be a tiny GD step).
    """
    device = torch.device(device)
    dtype = _dtype(cfg_train, "float64")
    gen = _generator(cfg_train, device)
    mode = str(_get(cfg_train, "reweight", "omniscient"))
    if mode != "omniscient":
        raise ValueError(f"train.reweight={mode!r} is not supported by full-batch GD; valid choices: omniscient")
    V, d = len(Pi), int(_get(cfg_train, "d", 200))
    k_neg = float(_get(cfg_train, "negatives", 1))
    steps, lr0, decay_at, decay = _qwem_schedule(cfg_train)
    log_every = max(1, int(_get(cfg_train, "log_every", 100)))

    M = torch.as_tensor(targets.m_star(Pij, Pi, k_neg), device=device).to(dtype)
    frob_sq = float((M.double() ** 2).sum())
    mean_sq = frob_sq / V**2
    if cfg_train is None or cfg_train.get("lr", None) is None:
        # No lr given: take the Euler step Δt = gd_dt/λ_1 (stable, and accurate for the logistic
        # steps when gd_dt ≲ 0.2), i.e. η = Δt V²|m| / (2(1+k)).
        lam1 = _top_eigenvalue(M)
        lr0 = float(_get(cfg_train, "gd_dt", 0.2)) / lam1 * V**2 * mean_sq / (2.0 * (1.0 + k_neg))
    W = models.init_embedding(V, d, str(_get(cfg_train, "init", "small")), cfg_train.get("init_scale", None)
                              if cfg_train is not None else None, gen, dtype, device)
    coef = (1.0 + k_neg) / (4.0 * frob_sq)
    dt = theory.time_per_step(lr0, V, k_neg, mean_sq)
    wants = _wants_info(callback)
    info = dict(loss=1.0, lr=lr0, steps=steps, theory_time=0.0, mean_sq_target=mean_sq, dt_per_step=dt)
    _notify(callback, wants, 0, W, info)
    for step in range(1, steps + 1):
        lr = theory.lr_at(step - 1, lr0, steps, decay_at, decay)
        MW = M @ W
        W = W + (theory.time_per_step(lr, V, k_neg, mean_sq) * 0.5) * (MW - W @ (W.T @ W))
        if step % log_every == 0 or step == steps:
            # Exact loss of the W handed to the callback: ‖WWᵀ−M‖² − ‖M‖² = ‖WᵀW‖² − 2 tr(WᵀMW).
            loss = 1.0 + coef * float(((W.T @ W) ** 2).sum() - 2.0 * (W * (M @ W)).sum())
            if not math.isfinite(loss):
                raise FloatingPointError(f"QWEM GD diverged at step {step}; lower train.lr")
            info = dict(info, loss=loss, lr=lr,
                        theory_time=float(theory.theory_time(step, lr0, V, k_neg, mean_sq, steps, decay_at, decay)))
            _notify(callback, wants, step, W, info)
    return W.detach().to("cpu", torch.float64).numpy()


# ---------------------------------------------------------------- word2vec SGNS on the token stream

def _article_ids(ids: np.ndarray, article_starts) -> tuple[np.ndarray, np.ndarray]:
    """Split off negative separator ids; return (token ids, article id per token)."""
    ids = np.asarray(ids)
    if article_starts is not None:
        doc = np.zeros(len(ids), dtype=np.int64)
        starts = np.asarray(article_starts, dtype=np.int64)
        doc[starts[(starts > 0) & (starts < len(ids))]] = 1
        doc = np.cumsum(doc)
    else:
        doc = np.zeros(len(ids), dtype=np.int64)
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


SUBSTEPS = 4  # minibatches per kernel call: amortises the compiled function's per-call overhead


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


def _sgns_kernel(use_compile: bool):
    """torch.compile'd sgns_steps (fuses gathers, logits and scatter-adds: ~3x faster on CPU), or
    the eager one. Compilation happens on the first call (10–60 s on a small CPU; inductor's disk
    cache makes later processes quicker); any failure falls back to eager."""
    if not use_compile:
        return sgns_steps
    if "fn" not in _COMPILED:
        try:
            _COMPILED["fn"] = torch.compile(sgns_steps, dynamic=False)
        except Exception:  # noqa: BLE001 — no compiler toolchain: eager is correct, only slower
            _COMPILED["fn"] = sgns_steps
    return _COMPILED["fn"]


def _prepare_chunk(t_chunk, d_chunk, keep_p, L, block, k_neg, noise, rng, gen, dtype, device):
    """Subsample, window and shuffle one chunk of the stream into padded (centre, contexts+negatives,
    weight) tensors; padding pairs (to a multiple of block) carry weight 0."""
    kept = rng.random(len(t_chunk)) < keep_p[t_chunk]
    cen, ctx = skipgram_pairs(t_chunk[kept], d_chunk[kept], L, rng)
    perm = rng.permutation(len(cen))
    n_chunk = len(cen)
    pad = (-n_chunk) % block
    cen_t = torch.as_tensor(np.concatenate([cen[perm], np.zeros(pad, np.int64)]), device=device)
    ctx_t = torch.as_tensor(np.concatenate([ctx[perm], np.zeros(pad, np.int64)]), device=device)
    wt_t = torch.ones(n_chunk + pad, dtype=dtype, device=device)
    wt_t[n_chunk:] = 0.0
    # Column 0 the true context, then k_neg noise words per pair, drawn for the whole chunk.
    ctx_t = torch.cat([ctx_t[:, None], noise.draw((n_chunk + pad, k_neg), gen)], 1)
    return cen_t, ctx_t, wt_t, n_chunk


def _chunk_lrs(words_before, chunk_words, n_chunk, n_padded, B, total_words, lr0, min_lr, dtype, device):
    """word2vec's linear decay by raw words covered so far, interpolated within the chunk."""
    starts_b = np.arange(0, n_padded, B)
    progress = (words_before + chunk_words * np.minimum(starts_b / max(n_chunk, 1), 1.0)) / total_words
    return torch.as_tensor(np.maximum(min_lr, lr0 * (1.0 - progress)), dtype=dtype, device=device)


def _start_helpers(workers, W, C, tokens, doc, keep_p, counts, params, seed):
    """Hogwild helpers (as word2vec's threads): processes 1..workers−1 train every workers-th chunk
    on the same shared-memory tables; a shared counter of words done drives everyone's lr."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    W.share_memory_()
    if C is not W:
        C.share_memory_()
    shared = ctx.Value("d", 0.0)
    procs = []
    for rank in range(1, workers):
        p = ctx.Process(target=_sgns_helper, args=(rank, workers, W, C, torch.from_numpy(tokens).share_memory_(),
                                                   torch.from_numpy(doc).share_memory_(), keep_p, counts, params,
                                                   shared, seed + rank), daemon=True)
        p.start()
        procs.append(p)
    return shared, procs


def _sgns_helper(rank, workers, W, C, tokens, doc, keep_p, counts, params, shared, seed):
    torch.set_num_threads(1)
    tokens, doc = tokens.numpy(), doc.numpy()
    dtype, device = DTYPES[params["dtype"]], W.device
    gen = torch.Generator().manual_seed(seed % 2**63)
    rng = np.random.default_rng(seed)
    noise = AliasTable(models.negative_distribution(counts), device)
    kernel = _sgns_kernel(_use_compile(params["compile"], params["expected_pairs"]))
    B, k_neg, chunk = params["B"], params["k_neg"], params["chunk"]
    block = SUBSTEPS * B
    labels = torch.zeros(B, 1 + k_neg, dtype=dtype, device=device)
    labels[:, 0] = 1.0
    gi = -1
    for _ in range(params["epochs"]):
        for a in range(0, len(tokens), chunk):
            gi += 1
            if gi % workers != rank:
                continue
            t_chunk, d_chunk = tokens[a:a + chunk], doc[a:a + chunk]
            cen_t, ctx_t, wt_t, n_chunk = _prepare_chunk(t_chunk, d_chunk, keep_p, params["L"], block, k_neg, noise,
                                                         rng, gen, dtype, device)
            lrs = _chunk_lrs(shared.value, len(t_chunk), n_chunk, len(cen_t), B, params["total_words"],
                             params["lr0"], params["min_lr"], dtype, device)
            for s in range(0, n_chunk, block):
                kernel(W, C, cen_t[s:s + block], ctx_t[s:s + block], labels, wt_t[s:s + block],
                       lrs[s // B:s // B + SUBSTEPS])
            with shared.get_lock():
                shared.value += len(t_chunk)


KERNELS = ("auto", "native", "torch")


def sgns_kernel_choice(kind: str, device, dtype) -> str:
    """native (word2vec's per-pair C loop, CPU float32) when asked or, for auto, when it builds here."""
    kind = str(kind)
    if kind not in KERNELS:
        raise ValueError(f"train.kernel={kind!r}; valid: {', '.join(KERNELS)}")
    if kind == "torch":
        return "torch"
    fits = torch.device(device).type == "cpu" and dtype == torch.float32
    if kind == "native":
        if not fits:
            raise ValueError(f"train.kernel=native runs on the CPU in float32 (got device {device}, dtype {dtype})")
        if sgns_native.load() is None:
            raise RuntimeError(f"train.kernel=native: the C kernel could not be built: {sgns_native.last_error}")
        return "native"
    return "native" if fits and sgns_native.load() is not None else "torch"


def _train_sgns_native(tokens, doc, keep_p, noise, W, C, p, callback, wants, info, stats):
    """word2vec's algorithm through sgns_kernel.c: the stream in chunks (one slice per thread, Hogwild),
    lr decaying linearly with words done; between chunks, callbacks at every log_every "steps", where
    a step is batch_size pairs (so step counts and caps mean the same as for the torch kernel, checked
    at chunk ends)."""
    Wn, Cn = W.numpy(), C.numpy()
    tok32, doc32 = tokens.astype(np.int32), doc.astype(np.int32)
    keep32 = np.asarray(keep_p, np.float32)
    prob, alias = noise.prob.cpu().numpy().astype(np.float64), noise.alias.cpu().numpy().astype(np.int64)
    n = len(tok32)
    chunk = int(np.clip(math.ceil(n / 16), 4096, 1 << 20))
    total_words = n * p["epochs"]
    words, pairs, step, loss_sum, loss_pairs = 0, 0, 0, 0.0, 0
    start = time.perf_counter()
    offsets = (a for _ in range(p["epochs"]) for a in range(0, n, chunk))
    for gi, a in enumerate(offsets):
        b = min(n, a + chunk)
        lr_a = max(p["min_lr"], p["lr0"] * (1.0 - words / total_words))
        lr_b = max(p["min_lr"], p["lr0"] * (1.0 - (words + b - a) / total_words))
        got, loss = sgns_native.train_stream(Wn, Cn, tok32[a:b], doc32[a:b], keep32, prob, alias, p["k"],
                                             p["L"], lr_a, lr_b, p["threads"], p["seed"] * 1_000_003 + gi)
        words, pairs, loss_sum, loss_pairs = words + b - a, pairs + got, loss_sum + loss, loss_pairs + got
        prev, step = step, pairs // p["B"]
        capped = p["max_steps"] is not None and step >= int(p["max_steps"])
        if step // p["log_every"] > prev // p["log_every"] or capped:
            info = dict(info, loss=loss_sum / max(loss_pairs, 1), lr=lr_b, words=words)
            _notify(callback, wants, step, W, info)
            loss_sum, loss_pairs = 0.0, 0
        if capped:
            break
    seconds = time.perf_counter() - start
    if loss_pairs:
        _notify(callback, wants, step, W, dict(info, loss=loss_sum / loss_pairs, words=words))
    if stats is not None:
        stats.update(words=words, pairs=pairs, seconds=seconds, steps=step, kernel="native",
                     words_per_sec=words / max(seconds, 1e-9))


def train_sgns(ids, counts, cfg_train, device="cpu", callback=None, article_starts=None, stats=None):
    """word2vec skip-gram with negative sampling (Mikolov et al. 2013) in PyTorch, minibatched.

    As word2vec.c / gensim: per epoch, words are dropped with the subsampling rule (keep prob
    min(1, t/P + sqrt(t/P))) before windowing, each kept word pairs with the contexts inside its
    dynamic window, every pair gets `negatives` noise words drawn ∝ count^0.75, and the lr decays
    linearly over the words processed. Unlike word2vec's per-pair Hogwild updates, pairs are
    shuffled within chunks of ~2M tokens and updated in minibatches with summed gradients.
    Windows never cross an article: pass article_starts (token offsets) or put negative separator
    ids in `ids`. Chunk edges also cut windows (a negligible fraction of pairs).

    tied=True uses one table (the paper's model); tied=False word2vec's input/output tables, with
    the output table starting at zero (word2vec.c) when init=w2v. Returns the input table.
    If `stats` is a dict it receives words, pairs, seconds and words_per_sec.
    """
    device = torch.device(device)
    dtype = _dtype(cfg_train, "float32")
    gen = _generator(cfg_train, device)
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=torch.Generator().manual_seed(
        int(gen.initial_seed()) % 2**63))))
    counts = np.asarray(counts, dtype=np.float64)
    V, d = len(counts), int(_get(cfg_train, "d", 200))
    k_neg = int(_get(cfg_train, "negatives", 1))
    L = int(_get(cfg_train, "window", 16))
    B = int(_get(cfg_train, "batch_size", 1024))
    epochs = int(_get(cfg_train, "epochs", 1))
    max_steps = cfg_train.get("steps", None) if cfg_train is not None else None
    lr0 = float(_get(cfg_train, "lr", 0.025))
    min_lr = lr0 * float(_get(cfg_train, "min_lr_ratio", 0.0001 / 0.025))
    log_every = max(1, int(_get(cfg_train, "log_every", 100)))
    tied = bool(_get(cfg_train, "tied", True))
    init = str(_get(cfg_train, "init", "w2v"))

    tokens, doc = _article_ids(ids, article_starts)
    P = counts / counts.sum()
    keep_p = models.subsample_keep_prob(P, float(_get(cfg_train, "subsample", 1e-5)))
    noise = AliasTable(models.negative_distribution(counts), device)
    W = models.init_embedding(V, d, init, cfg_train.get("init_scale", None) if cfg_train is not None else None,
                              gen, dtype, device)
    if tied:
        C = W
    elif init == "w2v":
        C = torch.zeros_like(W)
    else:
        C = models.init_embedding(V, d, init, cfg_train.get("init_scale", None), gen, dtype, device)

    total_words = len(tokens) * epochs
    wants = _wants_info(callback)
    info = dict(loss=float("nan"), lr=lr0, steps=max_steps, words=0)
    _notify(callback, wants, 0, W, info)
    if sgns_kernel_choice(_get(cfg_train, "kernel", "auto"), device, dtype) == "native":
        params = dict(k=k_neg, L=L, B=B, epochs=epochs, lr0=lr0, min_lr=min_lr, log_every=log_every,
                      max_steps=max_steps, threads=int(_get(cfg_train, "workers", torch.get_num_threads())), seed=int(gen.initial_seed()))
        _train_sgns_native(tokens, doc, keep_p, noise, W, C, params, callback, wants, info, stats)
        return W.detach().to("cpu", torch.float64).numpy()
    chunk = 1 << 21
    labels = torch.zeros(B, 1 + k_neg, dtype=dtype, device=device)
    labels[:, 0] = 1.0
    keep_frac = float(np.mean(keep_p[tokens])) if len(tokens) else 0.0
    kernel = _sgns_kernel(_use_compile(_get(cfg_train, "compile", "auto"), keep_frac * len(tokens) * (L + 1) * epochs))
    block = SUBSTEPS * B
    step, words_done, n_pairs, loss_n = 0, 0, 0, 0
    loss_sum = torch.zeros((), dtype=dtype, device=device)
    start = time.perf_counter()
    done = False
    workers = int(_get(cfg_train, "workers", 1)) if device.type == "cpu" else 1   # torch kernel: processes
    shared, helpers = None, []
    if workers > 1:
        chunk = min(chunk, max(50_000, math.ceil(len(tokens) / (4 * workers))))
        shared, helpers = _start_helpers(workers, W, C, tokens, doc, keep_p, counts, dict(
            L=L, B=B, k_neg=k_neg, epochs=epochs, chunk=chunk, total_words=total_words, lr0=lr0, min_lr=min_lr,
            dtype=str(dtype).replace("torch.", ""), compile=_get(cfg_train, "compile", "auto"),
            expected_pairs=keep_frac * len(tokens) * (L + 1) * epochs), int(gen.initial_seed()))
    gi = -1
    for _ in range(epochs):
        for a in range(0, len(tokens), chunk):
            gi += 1
            if workers > 1 and gi % workers != 0:
                continue  # a helper process trains this chunk
            t_chunk, d_chunk = tokens[a:a + chunk], doc[a:a + chunk]
            cen_t, ctx_t, wt_t, n_chunk = _prepare_chunk(t_chunk, d_chunk, keep_p, L, block, k_neg, noise, rng, gen,
                                                         dtype, device)
            base = shared.value if shared is not None else words_done
            lrs = _chunk_lrs(base, len(t_chunk), n_chunk, len(cen_t), B, total_words, lr0, min_lr, dtype, device)
            for s in range(0, n_chunk, block):
                b_i = s // B
                loss_sum += kernel(W, C, cen_t[s:s + block], ctx_t[s:s + block], labels, wt_t[s:s + block],
                                   lrs[b_i:b_i + SUBSTEPS])
                n_real = min(block, n_chunk - s)
                prev = step
                step += SUBSTEPS
                n_pairs += n_real
                loss_n += n_real
                if step // log_every > prev // log_every:
                    info = dict(info, loss=float(loss_sum) / loss_n, lr=float(lrs[b_i]),
                                words=int(words_done + len(t_chunk) * s / n_chunk))
                    _notify(callback, wants, step, W, info)
                    loss_sum.zero_()
                    loss_n = 0
                if max_steps is not None and step >= int(max_steps):
                    done = True
                    break
            words_done += len(t_chunk) if not done else int(len(t_chunk) * min(1.0, (s + block) / max(n_chunk, 1)))
            if shared is not None:
                with shared.get_lock():
                    shared.value += len(t_chunk)
            if done:
                break
        if done:
            break
    for h in helpers:
        h.join()
        if h.exitcode != 0:
            raise RuntimeError(f"SGNS helper process failed with exit code {h.exitcode}")
    if shared is not None:
        words_done = int(shared.value)
    seconds = time.perf_counter() - start
    if loss_n or step == 0:
        info = dict(info, loss=float(loss_sum) / loss_n if loss_n else float("nan"), words=words_done)
        _notify(callback, wants, step, W, info)
    if stats is not None:
        stats.update(words=words_done, pairs=n_pairs, seconds=seconds, steps=step, kernel="torch",
                     words_per_sec=words_done / max(seconds, 1e-9))
    return W.detach().to("cpu", torch.float64).numpy()
