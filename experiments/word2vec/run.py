"""repro word2vec: corpus → statistics → M* → baselines and a trained model → benchmarks.

Reads top to bottom:
  1. load: token ids (cached), unigram P_i, co-occurrences with dynamic-window weights (cached) → P_ij
  2. build: the Setting 3.1 target M* (k_neg) and its top eigenpairs (cached): the closed form
     svd(M*); the baselines svd(PPMI) / svd(PMI) from the same statistics (`baselines`)
  3. loop: train.method (qwem_sgd | qwem_gd | sgns; none = baselines only), logging measured and
     predicted singular values, loss, analogy accuracy and the theory's acc(W_{r(t)}) over time
  4. log: benchmarks for every embedding, accuracy vs d of the truncated closed form, eigen-features
  5. save: embeddings and tables; summary.json (with the resolved trainer values under "resolved")
Files: metrics.jsonl (per callback), eigvals.npy, theory_curve.json, acc_vs_d.json, benchmarks.json,
eigen_features.md/.json, embeddings/<name>.npy (float32) + vocab.txt, figures/.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from repro.experiments.common.atomic import atomic_write_json, atomic_write_text
from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.device import resolve_device
from repro.experiments.common.errors import require, require_nonnegative, require_positive, require_range
from repro.experiments.common.log import logger
from repro.experiments.common.metrics import MetricsWriter

from . import (analogies, corpus as corpus_mod, cooccurrence, eigen, features, sgns_native, sgns_population, similarity,
               targets, theory)
from .monitor import TrainingLogger
from .scores import evaluate_embedding, flat_results, save_embeddings
from .settings import TRAINERS, Settings, as_dict, resolve, settings

log = logger("word2vec")
CHEAP_TOKENISE_BYTES = 32 << 20  # validate() tokenises (and caches) local corpora below this size


def data_dir_of(s: Settings) -> Path | None:
    """The data folder if one is set or the default exists; None otherwise."""
    path = resolve_data_dir(None, s.data_dir)
    return path if path.is_dir() else None


# ----------------------------------------------------------------------------------------------
# validate: every check a config can reach, before anything is written

def validate(cfg: DictConfig) -> None:
    old = OmegaConf.select(cfg, "train.method")
    require(old not in ("closed_form", "ppmi"), f"train.method={old} is invalid: untrained baselines have their own "
            f"key now; valid: train.method=none baselines=[{old}] (train.method: qwem_sgd | qwem_gd | sgns | none)")
    s = settings(cfg)
    require(s.experiment in DRIVERS, f"experiment={s.experiment} is invalid: not available in this build; "
            f"valid: {' | '.join(DRIVERS)}")
    t = s.train
    for key in ("vocab_size", "window", "d"):
        require_range(getattr(s, key), key, 1)
    require_range(s.vocab_size, "vocab_size", 2)
    require(s.d <= s.vocab_size, f"d={s.d} is invalid: more dimensions than words; valid: d <= vocab_size={s.vocab_size}")
    require_positive(s.k_neg, "k_neg")
    require_positive(s.eigen.tol, "eigen.tol")
    require_range(s.eigen.extra, "eigen.extra", 0)
    require_range(s.eval.analogy_every, "eval.analogy_every", 0)
    for key in ("n_pcs", "n_words", "sv_logged"):
        require_range(getattr(s.eval, key), f"eval.{key}", 1)
    require_range(t.steps, "train.steps", 1)
    require(t.sgns_steps is None or t.sgns_steps >= 1, f"train.sgns_steps={t.sgns_steps} is invalid: no steps; valid: >= 1 or null")
    for key in ("lr", "dt_per_step", "init_scale"):
        require(getattr(t, key) is None or getattr(t, key) > 0,
                f"train.{key}={getattr(t, key)} is invalid: it must be positive; valid: > 0 or null")
    require(t.batch_size is None or t.batch_size >= 1, f"train.batch_size={t.batch_size} is invalid; valid: >= 1 or null")
    require(t.workers is None or t.workers >= 1, f"train.workers={t.workers} is invalid; valid: >= 1 or null")
    require_positive(t.gd_dt, "train.gd_dt")
    require_range(t.lr_decay_at, "train.lr_decay_at", 0.0, 1.0)
    require_positive(t.lr_decay, "train.lr_decay")
    require_range(t.log_every, "train.log_every", 1)
    require_nonnegative(t.subsample, "train.subsample")
    require_range(t.epochs, "train.epochs", 1)
    require_range(t.min_lr_ratio, "train.min_lr_ratio", 0.0, 1.0)
    for name in ("qwem_sgd", "qwem_gd", "sgns"):
        m = getattr(t.per_method, name)
        require(m.lr is None or m.lr > 0, f"train.per_method.{name}.lr={m.lr} is invalid; valid: > 0 or null")
        require(m.batch_size is None or m.batch_size >= 1,
                f"train.per_method.{name}.batch_size={m.batch_size} is invalid; valid: >= 1 or null")
    require(t.per_method.qwem_sgd.batch_size is not None or t.batch_size is not None or t.method != "qwem_sgd",
            "train.batch_size=None is invalid for train.method=qwem_sgd: no per_method batch size; valid: >= 1")
    require_positive(t.init_scales.small, "train.init_scales.small")
    require_positive(t.init_scales.w2v, "train.init_scales.w2v")
    if t.method in ("qwem_sgd", "qwem_gd"):
        require(t.lr is None or t.dt_per_step is None, f"train.lr={t.lr} is invalid with train.dt_per_step={t.dt_per_step}: "
                f"both set the step size; valid: set one of them and the other to null")
    if t.method == "qwem_gd":
        require(t.reweight == "omniscient", f"train.reweight={t.reweight} is invalid for train.method=qwem_gd: full-batch "
                f"GD needs a constant G; valid: omniscient")
    if t.method == "sgns":
        require(float(s.k_neg).is_integer(), f"k_neg={s.k_neg} is invalid for train.method=sgns: negatives are "
                f"drawn words; valid: a whole number")
        require(t.per_method.sgns.batch_size is not None or t.batch_size is not None,
                "train.batch_size=None is invalid for train.method=sgns: no per_method batch size; valid: >= 1")
    device = resolve_device(s.device)
    if t.method == "sgns" and t.kernel == "native":
        dtype = t.dtype or t.per_method.sgns.dtype
        require(device.type == "cpu" and dtype == "float32", f"train.kernel=native is invalid for device={device.type}, "
                f"dtype={dtype}: word2vec's C loop runs on the CPU in float32; valid: torch, auto")
        require(sgns_native.load() is not None, f"train.kernel=native is invalid here: the C kernel could not be "
                f"built ({sgns_native.last_error}); valid: torch, auto")
    data_dir = data_dir_of(s)
    require(s.cache or not s.corpus.streaming, f"cache={s.cache} is invalid for corpus={s.corpus.name}: its token-id "
            f"shards live in the cache (that is what makes it resumable); valid: cache=true")
    corpus_mod.check_source(s.corpus, data_dir)
    _check_vocab_cheaply(s, data_dir)
    _validate_harness_and_benchmark(s)
    if s.experiment == "emergence":
        from . import emergence

        emergence.validate(s, data_dir)


def _check_vocab_cheaply(s: Settings, data_dir) -> None:
    """Distinct-word count vs V (and an empty corpus) before any run starts, when that is cheap:
    the token cache exists, or the local file is small enough to tokenise now (the result is cached)."""
    local = corpus_mod.find_local(s.corpus, data_dir)
    if local is None or local.stat().st_size > CHEAP_TOKENISE_BYTES or not s.cache:
        return
    corpus_mod.load_corpus(s.corpus, s.vocab_size, data_dir)


# ----------------------------------------------------------------------------------------------
# run

def run(cfg: DictConfig, run_dir: Path) -> dict:
    """One run of `experiment` (DRIVERS): settings built once here and handed to the driver."""
    s = settings(cfg)
    return DRIVERS[s.experiment](s, Path(run_dir))


def run_train(s: Settings, run_dir: Path) -> dict:
    """experiment=train: corpus -> statistics -> M* -> baselines and train.method -> benchmarks."""
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    device = resolve_device(s.device)
    data_dir = data_dir_of(s)
    V, d, k_neg, method = s.vocab_size, s.d, s.k_neg, s.train.method

    # 1. load: corpus and statistics
    t = time.perf_counter()
    corpus = corpus_mod.load_corpus(s.corpus, V, data_dir, use_cache=s.cache)
    timings["corpus_s"] = time.perf_counter() - t
    log(f"corpus {corpus.source}: {corpus.n_tokens:,} in-vocabulary tokens of {corpus.n_raw_tokens:,}, "
        f"{corpus.n_articles:,} articles, {corpus.n_distinct:,} distinct words")
    fp = corpus_mod.corpus_fingerprint(s.corpus, V, data_dir)
    t = time.perf_counter()
    cooc = cooccurrence.cached_cooccurrence(corpus, fp, s.window, use_cache=s.cache)
    timings["cooccurrence_s"] = time.perf_counter() - t
    Pij, Pi = cooc.joint(), corpus.unigram()
    del cooc
    stats_key = {"corpus": fp, "window": s.window, "V": V}

    # 2. build: M*, the closed form, the baselines
    M = targets.m_star(Pij, Pi, k_neg)
    frob_sq = float(np.einsum("ij,ij->", M, M))
    n_eig = min(V, d + s.eigen.extra)
    w, v, timings["eig_mstar_s"] = eigen.cached_top_eigenpairs("mstar", lambda: M, n_eig, s.eigen, s.seed,
                                                               dict(stats_key, k_neg=k_neg), device, s.cache)
    del M
    np.save(run_dir / "eigvals.npy", w)
    vocab = {word: i for i, word in enumerate(corpus.words)}
    questions = analogies.load_benchmarks(data_dir, vocab)
    sims = similarity.load_benchmarks(data_dir)
    google = questions.get("google")
    rank_acc = features.RankAccuracy(w, v, google) if google is not None else None
    embeddings, top_vectors = {}, {"svd(M*)": v}
    if "closed_form" in s.baselines:
        embeddings["closed_form"] = eigen.embedding_from_eigs(w, v, d)
    for name, build_matrix in (("ppmi", lambda: targets.ppmi(Pij, Pi)), ("pmi", lambda: targets.pmi(Pij, Pi, s.pmi_zero))):
        if name in s.baselines:
            wb, vb, timings[f"eig_{name}_s"] = eigen.cached_top_eigenpairs(
                name, build_matrix, d, s.eigen, s.seed, dict(stats_key, pmi_zero=s.pmi_zero), device, s.cache)
            embeddings[name] = eigen.embedding_from_eigs(wb, vb, d)
            if name == "ppmi":
                top_vectors["svd(PPMI)"] = vb

    # 3. loop: training, logged against the theory
    summary: dict = {}
    writer = MetricsWriter(run_dir)
    if method in TRAINERS:
        dt_per_lr = (sgns_population.time_per_lr(Pij, Pi, s.harness.reweight, k_neg, s.train.subsample, s.harness.loss)
                     if method.startswith("harness") else None)
        r = resolve(s, float(w[0]), frob_sq, device.type, torch.get_num_threads(), dt_per_lr)
        log(f"train.lr={r.lr:.4g} ({r.lr_rule}), batch_size={r.batch_size}, init={r.init} x {r.init_scale:g}, "
            f"dtype={r.dtype}" + (f", kernel={r.kernel} x {r.workers}" if method == "sgns" else ""))
        summary.update(train_lr=r.lr, resolved=as_dict(r))
        dyn = None if method == "sgns" else theory.Dynamics(w, r.init_scale, d, s.eval.theory_rule, k_neg, frob_sq)
        logger_cb = TrainingLogger(writer, dyn, google, rank_acc, method, s.eval, corpus.n_tokens * s.train.epochs,
                                   sims=sims, vocab=vocab, checkpoint_dir=run_dir / "checkpoints")
        t = time.perf_counter()
        W = train_model(Pij, Pi, corpus, s, r, device, logger_cb)
        logger_cb.close()
        timings["train_s"] = time.perf_counter() - t
        embeddings["trained"] = W
        summary["subspace_overlap"] = eigen.subspace_overlap(W, v[:, :d])
        if dyn is not None and logger_cb.times:
            full_batch = method in ("qwem_gd", "harness_gd")   # their step is deterministic: compare with its own map
            summary.update(dyn.switch_on(logger_cb.times, logger_cb.sq_sv, steps=logger_cb.steps if full_batch else None))
            atomic_write_json(run_dir / "theory_curve.json", dyn.curve(logger_cb.times[-1], rank_acc))
    writer.close()
    del Pij

    # 4. log: benchmarks, accuracy vs d, eigen-features
    results = {name: evaluate_embedding(E, questions, sims, vocab) for name, E in embeddings.items()}
    atomic_write_json(run_dir / "benchmarks.json", results)
    if rank_acc is not None and s.eval.acc_vs_d:
        atomic_write_json(run_dir / "acc_vs_d.json", features.accuracy_vs_rank(w, v, google, features.rank_grid(len(w))))
    if "trained" in embeddings:
        top_vectors[method] = features.principal_directions(embeddings["trained"])[0]
    tables = {name: features.top_words(U, corpus.words, s.eval.n_pcs, s.eval.n_words) for name, U in top_vectors.items()}

    # 5. save
    atomic_write_text(run_dir / "eigen_features.md", features.table_markdown(tables))
    atomic_write_json(run_dir / "eigen_features.json", tables)
    save_embeddings(run_dir, embeddings, corpus.words)
    from . import plots

    summary.update(flat_results(results))
    summary.update(corpus=corpus.source, tokens=corpus.n_tokens, raw_tokens=corpus.n_raw_tokens,
                   articles=corpus.n_articles, distinct_words=corpus.n_distinct, corpus_filter=corpus.filter_stats,
                   vocab_coverage=float(corpus.n_tokens / max(corpus.n_raw_tokens, 1)), method=method,
                   eigvals_top5=w[:5], eigvals_positive=int((w > 0).sum()), mstar_frob_sq=frob_sq,
                   **{k: round(x, 3) for k, x in timings.items()})
    summary["seconds"] = round(time.perf_counter() - t_start, 2)
    plots.plot_run(run_dir)
    return summary


def run_emergence(s: Settings, run_dir: Path) -> dict:
    """experiment=emergence: task vectors, the MP spike, SNR(d), per-family accuracy (emergence.py)."""
    from .emergence import run_emergence as driver

    return driver(s, run_dir)


# What one run does, by `experiment` (config.yaml): each driver takes (Settings, run_dir) -> summary.
DRIVERS = {"train": run_train, "emergence": run_emergence}


def train_model(Pij, Pi, corpus, s: Settings, r, device, callback):
    """The trained table of train.method (float64 numpy, V x d)."""
    from . import qwem, sgns

    if r.method.startswith("harness"):
        from . import harness_sgns

        fn = harness_sgns.train_harness_gd if r.method == "harness_gd" else harness_sgns.train_harness_sgd
        return fn(Pij, Pi, s.train, s.harness, r, device, callback)
    if r.method == "qwem_sgd":
        return qwem.train_qwem_sgd(Pij, Pi, s.train, r, device, callback)
    if r.method == "qwem_gd":
        return qwem.train_qwem_gd(Pij, Pi, s.train, r, device, callback)
    stats: dict = {}
    W = sgns.train_sgns(corpus.ids, corpus.counts, s.train, r, device, callback, article_starts=corpus.starts, stats=stats)
    log(f"sgns ({stats['kernel']} kernel): {stats['words_per_sec']:.3g} words/s")
    return W


# ----------------------------------------------------------------------------------------------
# experiment=benchmark (benchmark.py): one row of the spec-7 table per run of a sweep

def run_benchmark(s: Settings, run_dir: Path) -> dict:
    """experiment=benchmark: the train run of row benchmark.row, its scores, the sweep's table."""
    from .benchmark import run_benchmark as driver

    return driver(s, run_dir, run_train)


DRIVERS["benchmark"] = run_benchmark


def experiment_overrides(name: str) -> list[str]:
    """What `repro word2vec --experiment NAME` adds: benchmark sweeps every row (one run each)."""
    from .benchmark import ROWS

    return [f"experiment={name}"] + ([f"benchmark.row={','.join(ROWS)}"] if name == "benchmark" else [])


def _validate_harness_and_benchmark(s: Settings) -> None:
    t, b = s.train, s.benchmark
    if t.method.startswith("harness"):
        require(t.lr is None or t.dt_per_step is None, f"train.lr={t.lr} is invalid with train.dt_per_step="
                f"{t.dt_per_step}: both set the step size; valid: set one of them and the other to null")
    require(t.method != "harness_sgd" or t.batch_size is not None or t.per_method.harness_sgd.batch_size is not None,
            "train.batch_size=None is invalid for train.method=harness_sgd: no per_method batch size; valid: >= 1")
    if s.experiment != "benchmark":
        return
    from .benchmark import ROWS

    require(b.row in ROWS, f"benchmark.row={b.row} is invalid: experiment=benchmark runs one row; valid: "
            f"{' | '.join(ROWS)} (repro word2vec --experiment benchmark sweeps them all)")
    require_range(b.checkpoints, "benchmark.checkpoints", 0)
    require_range(b.spectra, "benchmark.spectra", 0)
    require_range(b.harness_step_scale, "benchmark.harness_step_scale", 1e-6, 1.0)
    a = b.ablation
    require_range(a.vocab_size, "benchmark.ablation.vocab_size", 2)
    require(1 <= a.d <= a.vocab_size, f"benchmark.ablation.d={a.d} is invalid; valid: 1 <= d <= "
            f"benchmark.ablation.vocab_size={a.vocab_size}")
    require_positive(a.k_neg, "benchmark.ablation.k_neg")
    require_positive(a.init_scale, "benchmark.ablation.init_scale")
    from .benchmark import row_settings

    _check_vocab_cheaply(row_settings(s), data_dir_of(s))   # an ablation row has its own V: check it now, not mid-sweep
