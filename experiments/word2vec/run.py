"""repro word2vec: corpus → statistics → M* → closed form, baselines and a trained model → benchmarks.

Reads top to bottom:
  1. corpus: token ids (cached), unigram P_i
  2. co-occurrences with dynamic-window weights (cached) → P_ij
  3. Setting 3.1 target M* (k_neg) and its top eigenpairs (cached): the closed form svd(M*)
  4. baselines svd(PPMI) / svd(PMI) from the same statistics
  5. training (train.method: qwem_sgd | qwem_gd | sgns), logging measured and predicted singular
     values, loss, analogy accuracy and the theory's accuracy acc(W_{r(t)}) over time
  6. benchmarks for every embedding, accuracy vs d of the truncated closed form, eigen-feature table
Files: metrics.jsonl (per callback), eigvals.npy, theory_curve.json, acc_vs_d.json, benchmarks.json,
eigen_features.md, embeddings/<name>.npy (float32) + vocab.txt, figures/.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from repro.experiments.common.atomic import atomic_write_json, atomic_write_text
from repro.experiments.common.datadir import cache_dir, cache_key, resolve_data_dir
from repro.experiments.common.device import resolve_device
from repro.experiments.common.errors import require, require_choice
from repro.experiments.common.metrics import MetricsWriter
from repro.experiments.common.progress import Progress

from . import analogies, corpus as corpus_mod, cooccurrence, eigen, features, similarity, targets

METHODS = ("qwem_sgd", "qwem_gd", "sgns", "closed_form", "ppmi")
TRAINED = ("qwem_sgd", "qwem_gd", "sgns")
BASELINES = ("closed_form", "ppmi", "pmi")
CHEAP_TOKENISE_BYTES = 32 << 20  # validate() tokenises (and caches) local corpora below this size


def log(msg: str) -> None:
    print(f"[word2vec] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# validate

def data_dir_of(cfg) -> Path | None:
    """The data folder if one is set or the default exists; None otherwise."""
    path = resolve_data_dir(None, cfg.get("data_dir"))
    return path if path.is_dir() else None


def validate(cfg: DictConfig) -> None:
    for key in ("vocab_size", "window", "d"):
        v = cfg.get(key)
        require(isinstance(v, int) and v >= 1, f"{key}={v!r} is invalid: it must be a positive integer")
    require(cfg.vocab_size >= 2, f"vocab_size={cfg.vocab_size} is invalid: it must be at least 2")
    require(cfg.d <= cfg.vocab_size, f"d={cfg.d} is invalid: it must be <= vocab_size={cfg.vocab_size}")
    require(cfg.k_neg is not None and float(cfg.k_neg) > 0, f"k_neg={cfg.k_neg!r} is invalid: it must be > 0")
    require_choice(cfg.train.method, "train.method", METHODS)
    require_choice(cfg.eigen.method, "eigen.method", eigen.METHODS)
    for b in cfg.baselines or []:
        require_choice(b, "baselines", BASELINES)
    require_choice(cfg.train.reweight, "train.reweight", targets.REWEIGHTINGS)
    from .train import KERNELS

    require_choice(cfg.train.get("kernel", "auto"), "train.kernel", KERNELS)
    if cfg.train.method == "sgns" and cfg.train.get("kernel") == "native":
        require(cfg.train.dtype in (None, "float32"),
                f"train.dtype={cfg.train.dtype!r} is invalid for train.kernel=native; valid choices: float32")
    if cfg.train.method == "qwem_gd":
        require(cfg.train.reweight == "omniscient",
                f"train.reweight={cfg.train.reweight!r} is invalid for train.method=qwem_gd; valid choices: omniscient")
    if cfg.train.init is not None:
        require_choice(cfg.train.init, "train.init", ("small", "w2v"))
    for key in ("steps", "sgns_steps"):
        v = cfg.train.get(key)
        require(v is None or int(v) >= 1, f"train.{key}={v!r} is invalid: it must be >= 1 (or null)")
    for key in ("lr", "init_scale", "batch_size", "dt_per_step"):
        v = cfg.train.get(key)
        require(v is None or float(v) > 0, f"train.{key}={v!r} is invalid: it must be > 0 (or null for the default)")
    require(int(cfg.train.log_every) >= 1, f"train.log_every={cfg.train.log_every!r} is invalid: it must be >= 1")
    require_choice(cfg.eval.theory_rule, "eval.theory_rule", ("dof", "entry", "authors"))
    resolve_device(cfg.device)
    data_dir = data_dir_of(cfg)
    corpus_mod.check_source(cfg.corpus, data_dir)
    _check_vocab_cheaply(cfg, data_dir)


def _check_vocab_cheaply(cfg, data_dir) -> None:
    """Distinct-word count vs V (and an empty corpus) before any run starts, when that is cheap:
    the token cache exists, or the local file is small enough to tokenise now (the result is cached)."""
    local = corpus_mod.find_local(cfg.corpus, data_dir)
    if local is None or local.stat().st_size > CHEAP_TOKENISE_BYTES or not cfg.get("cache", True):
        return
    corpus_mod.load_corpus(cfg.corpus, int(cfg.vocab_size), data_dir, log=lambda *_: None)


# ----------------------------------------------------------------------------------------------
# statistics and eigenpairs

def cached_eigs(name: str, matrix_fn, V: int, d: int, cfg, key_parts: dict, device):
    """Top-d eigenpairs of the V x V matrix_fn(), cached on disk under the statistics' key."""
    # exact and torch are both dense solvers (same pairs up to rounding); krylov depends on tol and seed
    method = eigen.resolve_method(cfg.eigen.method, V, d, _eig_device(device))
    solver = f"krylov:{float(cfg.eigen.tol):g}:{int(cfg.seed)}" if method == "krylov" else "dense"
    key = cache_key(kind="eig", name=name, d=int(d), solver=solver, **key_parts)
    path = cache_dir("word2vec_eig") / f"{key}.npz"
    if cfg.cache and path.exists():
        with np.load(path) as z:
            return z["w"], z["v"], 0.0
    M = matrix_fn()
    t = time.perf_counter()
    w, v = eigen.top_eigenpairs(M, d, method, float(cfg.eigen.tol), device=_eig_device(device),
                                seed=int(cfg.seed), log=log)
    seconds = time.perf_counter() - t
    log(f"top-{d} eigenpairs of {name} ({M.shape[0]}x{M.shape[0]}) in {seconds:.1f} s")
    if cfg.cache:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, w=w, v=v)
        tmp.replace(path)
    return w, v, seconds


def _eig_device(device):
    return device if getattr(device, "type", "cpu") == "cuda" else None


# ----------------------------------------------------------------------------------------------
# training with logging

def init_of(tcfg) -> tuple[str, float]:
    """(init, init_scale) as the trainers resolve them (null → method defaults, spec §5.6)."""
    init = tcfg.init or ("w2v" if tcfg.method == "sgns" else "small")
    scale = tcfg.init_scale if tcfg.init_scale is not None else (1e-12 if init == "small" else 0.1)
    return init, float(scale)


class TrainingLogger:
    """The trainers' callback: measured singular values, loss and analogy accuracy, next to the
    theory's singular values, loss, effective rank r(t) and accuracy acc(W_{r(t)}) (QWEM only)."""

    def __init__(self, writer, eigvals, k_neg, frob_sq, questions, rank_acc, cfg, theory_on: bool,
                 sgns_words: int | None = None):
        from . import theory

        self.theory, self.writer, self.q, self.rank_acc = theory, writer, questions, rank_acc
        self.cfg, self.theory_on, self.calls = cfg, theory_on, 0
        d = int(cfg.d)
        self.lam = np.asarray(eigvals[:d], np.float64)
        _, self.init_scale = init_of(cfg.train)
        self.s0_sq = theory.initial_sq_singular_values(self.init_scale, d, d, cfg.eval.theory_rule)
        self.tau = theory.learning_times(self.lam, self.init_scale, d=d, rule=cfg.eval.theory_rule)
        self.k_neg, self.frob_sq = float(k_neg), float(frob_sq)
        self.n_sv = int(min(cfg.eval.sv_logged, d))
        self.last_W = None
        self.times, self.sq_sv = [], []
        self.progress, self.done, self.sgns_words = None, 0, sgns_words

    def _progress(self, step: int, info: dict, row: dict) -> None:
        """A bar on a terminal, else a line every 10 s with rate and ETA: steps for QWEM, corpus
        words for SGNS (its step count is open-ended)."""
        sgns = self.cfg.train.method == "sgns"
        if self.progress is None:
            total = self.sgns_words if sgns else info.get("steps")
            self.progress = Progress(total, f"train {self.cfg.train.method}", "word" if sgns else "step")
        now = int(info.get("words") or 0) if sgns else int(step)
        shown = {k: row[k] for k in ("loss", "analogy") if row.get(k) is not None}
        self.progress.update(max(0, now - self.done), **shown)
        self.done = max(self.done, now)

    def __call__(self, step, W, info=None):
        info = info or {}
        S = np.linalg.svd(W, compute_uv=False)
        row = {"step": int(step), "loss": info.get("loss"), "lr": info.get("lr"), "words": info.get("words"),
               "sv": S[: self.n_sv]}
        every = int(self.cfg.eval.analogy_every or 0)
        due = self.q is not None and (step == 0 or (every > 0 and self.calls % every == 0))
        if self.theory_on and "theory_time" in info:
            t = float(info["theory_time"])
            r = int(self.theory.effective_rank(self.tau, t)[0])
            row.update(theory_time=t, t_over_tau1=t / self.tau[0], rank_theory=r,
                       sv_theory=np.sqrt(self.theory.predicted_sq_singular_values(self.lam, self.s0_sq, t)[0][: self.n_sv]),
                       loss_theory=float(self.theory.predicted_loss(self.lam, self.s0_sq, t, self.k_neg, self.frob_sq)[0]))
            self.times.append(t)
            self.sq_sv.append(S**2)
            if due:
                row["analogy_theory"] = self.rank_acc(r)
        if due:
            row["analogy"] = analogies.accuracy(W, self.q)
        self.writer.log(**row)
        self._progress(step, info, row)
        self.calls += 1
        self.last_W = W


def lr_for_dt(dt: float, frob_sq: float, k_neg: float) -> float:
    """The normalised-loss lr whose step advances theory time by dt: Δt = 2η(1+k)/(V²|m|) with
    V²|m| = ‖M*‖_F² (spec §4.5), so η = Δt ‖M*‖_F² / (2(1+k))."""
    return float(dt) * frob_sq / (2.0 * (1.0 + k_neg))


def train_config(cfg, frob_sq: float):
    """cfg.train, with lr derived from train.dt_per_step when that is set (QWEM only)."""
    tcfg = OmegaConf.create(OmegaConf.to_container(cfg.train, resolve=True))
    if tcfg.method == "sgns":
        # train.steps belongs to QWEM (the presets set it); an SGNS run caps only on train.sgns_steps
        tcfg.steps = tcfg.get("sgns_steps")
    if tcfg.get("dt_per_step") and tcfg.method in ("qwem_sgd", "qwem_gd"):
        tcfg.lr = lr_for_dt(tcfg.dt_per_step, frob_sq, float(tcfg.negatives))
        log(f"train.dt_per_step={tcfg.dt_per_step:g} -> train.lr={tcfg.lr:.4g}")
    return tcfg


def train_model(method, Pij, Pi, corpus, tcfg, device, callback):
    from . import train

    if method == "qwem_sgd":
        return train.train_qwem_sgd(Pij, Pi, tcfg, device, callback)
    if method == "qwem_gd":
        return train.train_qwem_gd(Pij, Pi, tcfg, device, callback)
    stats: dict = {}
    W = train.train_sgns(corpus.ids, corpus.counts, tcfg, device, callback, article_starts=corpus.starts, stats=stats)
    log(f"sgns ({stats.get('kernel', 'torch')} kernel): {stats.get('words_per_sec', 0):.3g} words/s")
    return W


# ----------------------------------------------------------------------------------------------
# evaluation

def evaluate_embedding(W, questions: dict, sims: dict, vocab) -> dict:
    out = {}
    for name, qs in questions.items():
        res = analogies.evaluate(W, qs)
        out[f"analogy_{name}"] = res["accuracy"]
        out[f"analogy_{name}_n"] = res["n"]
        out[f"analogy_{name}_sections"] = res["sections"]
    out.update(similarity.evaluate_all(W, sims, vocab))
    return out


def theory_curve(eigvals, d, k_neg, frob_sq, cfg, rank_acc, t_end: float, n_points: int = 200) -> dict:
    """Dense theory curves on a log time grid: s_k(t), loss, r(t), acc(W_{r(t)})."""
    from . import theory

    lam = np.asarray(eigvals[:d], np.float64)
    _, scale = init_of(cfg.train)
    s0 = theory.initial_sq_singular_values(scale, d, d, cfg.eval.theory_rule)
    tau = theory.learning_times(lam, scale, d=d, rule=cfg.eval.theory_rule)
    t = np.geomspace(0.05 * tau[0], max(t_end, 1.5 * tau[0]), n_points)
    r = theory.effective_rank(tau, t)
    acc = [rank_acc(int(x)) for x in r] if rank_acc is not None else []
    return {"t": t, "t_over_tau1": t / tau[0], "tau": tau, "sv": np.sqrt(theory.predicted_sq_singular_values(lam, s0, t)),
            "loss": theory.predicted_loss(lam, s0, t, k_neg, frob_sq), "rank": r, "accuracy": acc,
            "init_scale": scale, "rule": cfg.eval.theory_rule}


# ----------------------------------------------------------------------------------------------
# run

def run(cfg: DictConfig, run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    device = resolve_device(cfg.device)
    data_dir = data_dir_of(cfg)
    V, L, d, k_neg = int(cfg.vocab_size), int(cfg.window), int(cfg.d), float(cfg.k_neg)
    method = str(cfg.train.method)

    # 1-2. corpus and statistics
    t = time.perf_counter()
    corpus = corpus_mod.load_corpus(cfg.corpus, V, data_dir, use_cache=bool(cfg.cache), log=log)
    timings["corpus_s"] = time.perf_counter() - t
    log(f"corpus {corpus.source}: {len(corpus.ids):,} in-vocabulary tokens of {corpus.n_raw_tokens:,}, "
        f"{len(corpus.starts) - 1:,} articles, {corpus.n_distinct:,} distinct words")
    fp = corpus_mod.corpus_fingerprint(cfg.corpus, V, data_dir)
    t = time.perf_counter()
    cooc = cooccurrence.cached_cooccurrence(corpus, fp, L, use_cache=bool(cfg.cache), log=log)
    timings["cooccurrence_s"] = time.perf_counter() - t
    Pij, Pi = cooc.joint(), corpus.unigram()
    del cooc
    stats_key = {"corpus": fp, "window": L}

    # 3. M* and the closed form
    M = targets.m_star(Pij, Pi, k_neg)
    frob_sq = float(np.einsum("ij,ij->", M, M))
    n_eig = min(V, d + int(cfg.eigen.extra or 0))
    w, v, timings["eig_mstar_s"] = cached_eigs("mstar", lambda: M, V, n_eig, cfg, dict(stats_key, k_neg=k_neg), device)
    del M
    np.save(run_dir / "eigvals.npy", w)
    vocab = {word: i for i, word in enumerate(corpus.words)}
    questions = analogies.load_benchmarks(data_dir, vocab)
    sims = similarity.load_benchmarks(data_dir)
    google = questions.get("google")
    rank_acc = features.RankAccuracy(w, v, google) if google is not None else None

    embeddings = {"closed_form": eigen.embedding_from_eigs(w, v, d)}
    # 4. baselines
    wanted = set(cfg.baselines or []) | ({method} if method in BASELINES else set())
    for name in ("ppmi", "pmi"):
        if name in wanted:
            fn = (lambda: targets.ppmi(Pij, Pi)) if name == "ppmi" else (lambda: targets.pmi(Pij, Pi, float(cfg.pmi_zero)))
            wb, vb, timings[f"eig_{name}_s"] = cached_eigs(name, fn, V, d, cfg, dict(stats_key, pmi_zero=float(cfg.pmi_zero)), device)
            embeddings[name] = eigen.embedding_from_eigs(wb, vb, d)
            if name == "ppmi":
                ppmi_vecs = vb

    # 5. training
    summary: dict = {}
    writer = MetricsWriter(run_dir)
    if method in TRAINED:
        logger = TrainingLogger(writer, w, k_neg, frob_sq, google, rank_acc, cfg, theory_on=method != "sgns",
                                sgns_words=len(corpus.ids) * int(cfg.train.epochs))
        t = time.perf_counter()
        tcfg = train_config(cfg, frob_sq)
        summary["train_lr"] = float(tcfg.lr) if tcfg.lr is not None else None
        W = train_model(method, Pij, Pi, corpus, tcfg, device, logger)
        if logger.progress is not None:
            logger.progress.close()
        timings["train_s"] = time.perf_counter() - t
        embeddings["trained"] = W
        summary.update(trained_vs_theory(W, v[:, :d], w[:d], logger))
        if logger.times:
            curve = theory_curve(w, d, k_neg, frob_sq, cfg, rank_acc, t_end=logger.times[-1])
            atomic_write_json(run_dir / "theory_curve.json", curve)
    writer.close()
    del Pij

    # 6. benchmarks, accuracy vs d, eigen-features
    results = {name: evaluate_embedding(E, questions, sims, vocab) for name, E in embeddings.items()}
    atomic_write_json(run_dir / "benchmarks.json", results)
    if rank_acc is not None and cfg.eval.acc_vs_d:
        atomic_write_json(run_dir / "acc_vs_d.json", features.accuracy_vs_rank(w, v, google, features.rank_grid(len(w))))
    tables = {"svd(M*)": features.top_words(v, corpus.words, int(cfg.eval.n_pcs), int(cfg.eval.n_words))}
    if "ppmi" in embeddings:
        tables["svd(PPMI)"] = features.top_words(ppmi_vecs, corpus.words, int(cfg.eval.n_pcs), int(cfg.eval.n_words))
    if "trained" in embeddings:
        U, _ = features.principal_directions(embeddings["trained"])
        tables[method] = features.top_words(U, corpus.words, int(cfg.eval.n_pcs), int(cfg.eval.n_words))
    atomic_write_text(run_dir / "eigen_features.md", features.table_markdown(tables))
    atomic_write_json(run_dir / "eigen_features.json", tables)
    save_embeddings(run_dir, embeddings, corpus.words)

    from . import plots

    summary.update(flat_results(results))
    summary.update(corpus=corpus.source, tokens=int(len(corpus.ids)), raw_tokens=corpus.n_raw_tokens,
                   articles=int(len(corpus.starts) - 1), distinct_words=corpus.n_distinct,
                   vocab_coverage=float(len(corpus.ids) / max(corpus.n_raw_tokens, 1)), method=method,
                   eigvals_top5=w[:5], eigvals_positive=int((w > 0).sum()), mstar_frob_sq=frob_sq,
                   **{k: round(x, 3) for k, x in timings.items()})
    summary["seconds"] = round(time.perf_counter() - t_start, 2)
    plots.plot_run(run_dir)
    return summary


def trained_vs_theory(W, top_vecs, lam, logger) -> dict:
    """Subspace overlap of W with the top-d eigenspace; switch-on times vs τ_k (first 10 modes)."""
    out = {"subspace_overlap": eigen.subspace_overlap(W, top_vecs)}
    if logger.times:
        times = np.asarray(logger.times)
        s2 = np.asarray(logger.sq_sv)
        n = min(10, len(lam), s2.shape[1])
        switch = logger.theory.switch_on_times(times, s2[:, :n], lam[:n])
        ratio = switch / logger.tau[:n]
        out.update(switch_on_over_tau=ratio, switch_on_max_rel_err=float(np.nanmax(np.abs(ratio - 1))) if np.isfinite(ratio).any() else None,
                   tau1=float(logger.tau[0]), final_t_over_tau1=float(times[-1] / logger.tau[0]))
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
    folder = run_dir / "embeddings"
    folder.mkdir(exist_ok=True)
    for name, E in embeddings.items():
        np.save(folder / f"{name}.npy", np.asarray(E, np.float32))
    atomic_write_text(folder / "vocab.txt", "\n".join(words) + "\n")
