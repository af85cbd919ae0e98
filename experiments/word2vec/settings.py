"""word2vec settings: the resolved config as frozen dataclasses, and the values derived from them.

Every default lives in configs/word2vec/ (config.yaml, corpus/, preset/); these classes declare the
keys and their types only. `settings(cfg)` builds them strictly (a YAML key without a field, or a
field without a key, is a one-line ConfigError). `resolve(s, ...)` is the one place that fills the
trainer's nulls (lr, batch size, init, init scale, dtype, seed, kernel, workers) from the rules of
config.yaml; run.py writes its result to summary.json under "resolved".
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from repro.experiments.common.settings import CLI_KEYS, build

from .models import REWEIGHTINGS

TRAINERS = ("qwem_sgd", "qwem_gd", "sgns", "harness_gd", "harness_sgd")   # harness_*: the paper's word2vec (harness_sgns)
METHODS = TRAINERS + ("none",)
BASELINES = ("closed_form", "ppmi", "pmi")
CORPORA = ("wikitext", "wikitext2", "enwiki", "wikipedia", "file")
ARTICLE_SPLITS = ("auto", "wikitext", "blank", "lines", "none")
EIGEN_METHODS = ("auto", "exact", "torch", "krylov")
INITS = ("small", "w2v")
DTYPES = ("float64", "float32")
KERNELS = ("auto", "native", "torch")
THEORY_RULES = ("dof", "entry", "authors")
EXPERIMENTS = ("train", "emergence", "benchmark")   # run.DRIVERS: what one run does


@dataclass(frozen=True)
class Corpus:
    name: Literal[CORPORA]
    path: str | None               # a local file; null: look under data_dir (then the hub)
    local_dirs: tuple[str, ...]    # folders tried under data_dir
    local_files: tuple[str, ...]   # file names tried in each folder
    hub: str | None                # Hugging Face dataset, or null
    hub_config: str | None
    hub_rows_are_lines: bool
    split: str
    article_split: Literal[ARTICLE_SPLITS]
    text_field: str
    min_article_tokens: int
    streaming: bool                # read shard by shard into cached token-id shards (corpus=wikipedia)


@dataclass(frozen=True)
class Eigen:
    method: Literal[EIGEN_METHODS]
    tol: float
    extra: int


@dataclass(frozen=True)
class Eval:
    analogy_every: int
    acc_vs_d: bool
    n_pcs: int
    n_words: int
    theory_rule: Literal[THEORY_RULES]
    sv_logged: int
    checkpoints: int               # W saved at this many log-spaced steps (Fig. 1c)


@dataclass(frozen=True)
class MethodDefaults:
    """What a null train.lr / batch_size / init / dtype means for one trainer."""
    lr: float | None               # qwem_gd: null, the step comes from gd_dt / lambda_1
    batch_size: int | None         # qwem_gd: null (full batch)
    init: Literal[INITS]
    dtype: Literal[DTYPES]


@dataclass(frozen=True)
class PerMethod:
    qwem_sgd: MethodDefaults
    qwem_gd: MethodDefaults
    sgns: MethodDefaults
    harness_gd: MethodDefaults
    harness_sgd: MethodDefaults


@dataclass(frozen=True)
class InitScales:
    small: float
    w2v: float


@dataclass(frozen=True)
class Train:
    method: Literal[METHODS]
    steps: int
    sgns_steps: int | None
    lr: float | None
    dt_per_step: float | None
    gd_dt: float
    lr_decay_at: float
    lr_decay: float
    batch_size: int | None
    init: Literal[INITS] | None
    init_scale: float | None
    reweight: Literal[REWEIGHTINGS]
    log_every: int
    tied: bool
    subsample: float
    epochs: int
    min_lr_ratio: float
    dtype: Literal[DTYPES] | None
    kernel: Literal[KERNELS]
    compile: bool | Literal["auto"]
    workers: int | None
    seed: int | None
    per_method: PerMethod
    init_scales: InitScales


@dataclass(frozen=True)
class DGrid:
    lo_log2: float
    hi_log2: float | None          # null: up to vocab_size
    step_log2: float


@dataclass(frozen=True)
class Emergence:
    """experiment=emergence (spec §8): see the emergence block of config.yaml."""
    families: tuple[str, ...]
    sources: dict                  # family name -> [google:<section> | bats:<code>, ...]
    fig4_family: str
    fig4_families: tuple[str, ...]
    fig6_families: tuple[str, ...]
    min_pairs: int
    d_grid: DGrid
    mp_ds: tuple[int, ...]
    fig6_d: int
    mp_outliers: int
    localisation_k: int
    standard: bool
    train: bool
    emergence_fraction: float


@dataclass(frozen=True)
class Harness:
    """train.method=harness_gd | harness_sgd: the SGNS loss on importance-weighted pairs (spec §5.5)."""
    loss: Literal["sgns", "quartic"]
    reweight: Literal[REWEIGHTINGS]


@dataclass(frozen=True)
class Ablation:
    """Fig. 7's rows (spec §5.7): their own V, d, k_neg and init scale."""
    vocab_size: int
    d: int
    k_neg: float
    init_scale: float


@dataclass(frozen=True)
class Benchmark:
    """experiment=benchmark (benchmark.py): which row this run is and how the rows are trained."""
    row: str | None
    qwem_method: Literal["qwem_gd", "qwem_sgd"]
    word2vec_method: Literal["harness_gd", "harness_sgd"]
    checkpoints: int
    spectra: int
    harness_step_scale: float
    small_init_scale: float | None   # init of the small-init rows; null = train.init_scales.small
    steps: int | None                # QWEM steps of the trained rows (harness: 1/harness_step_scale x); null = train.steps
    ablation: Ablation


@dataclass(frozen=True)
class Settings:
    experiment: Literal[EXPERIMENTS]
    seed: int
    device: str
    tag: str | None
    data_dir: str | None
    cache: bool
    vocab_size: int
    window: int
    k_neg: float
    d: int
    eigen: Eigen
    baselines: tuple[Literal[BASELINES], ...]
    pmi_zero: float
    eval: Eval
    train: Train
    corpus: Corpus
    harness: Harness
    benchmark: Benchmark
    emergence: Emergence


def settings(cfg) -> Settings:
    """The resolved config as typed, frozen dataclasses (one-line ConfigError on any mismatch)."""
    return build(Settings, cfg, ignore=CLI_KEYS)


@dataclass(frozen=True)
class Resolved:
    """What a trainer runs with: train's nulls filled in. Trainers read the fields here, and the
    rest (schedule, reweighting, SGNS knobs) from Train."""
    method: str
    d: int
    negatives: float
    window: int
    steps: int | None              # QWEM: train.steps; SGNS: train.sgns_steps (null: every epoch)
    lr: float
    lr_rule: str                   # which rule gave lr
    batch_size: int | None
    init: str
    init_scale: float
    dtype: str
    seed: int
    kernel: str                    # sgns: native | torch (qwem: torch)
    workers: int


def lr_for_dt(dt: float, frob_sq: float, k_neg: float) -> float:
    """The normalised-loss lr whose step advances theory time by dt: Δt = 2η(1+k)/(V²|m|) with
    V²|m| = ‖M*‖_F² (spec §4.5), so η = Δt ‖M*‖_F² / (2(1+k))."""
    return float(dt) * frob_sq / (2.0 * (1.0 + k_neg))


def resolve(s: Settings, lam1: float, frob_sq: float, device_type: str, threads: int,
            dt_per_lr: float | None = None) -> Resolved:
    """Fill train's nulls, in the order config.yaml documents.

    lr: train.lr; else (QWEM) train.dt_per_step through lr_for_dt; else per_method.<method>.lr;
        else (qwem_gd) the Euler step Δt = gd_dt/λ_1 (stable, and accurate for the logistic steps
        when gd_dt ≲ 0.2). batch_size, init, dtype: train.<key>, else per_method.<method>.<key>.
    init_scale: train.init_scale, else init_scales.<init>. seed: train.seed, else the run's seed.
    kernel: SGNS's native kernel when asked, or for auto when the run is on the CPU in float32 and
        the C kernel builds here; else torch. workers: train.workers, else the run's torch threads
        (native kernel) or 1 (torch kernel; always 1 off the CPU).
    lam1 = λ_1(M*), frob_sq = ‖M*‖_F² of the run's statistics, device_type "cpu" | "cuda".
    dt_per_lr: the harness trainers' theory time per unit lr (sgns_population.time_per_lr), which
        replaces lr_for_dt's QWEM map for train.method=harness_gd | harness_sgd.
    """
    from . import sgns_native

    t = s.train
    assert t.method in TRAINERS, t.method
    m = getattr(t.per_method, t.method)
    qwem = t.method != "sgns"

    def from_dt(dt):
        return dt / dt_per_lr if t.method.startswith("harness") else lr_for_dt(dt, frob_sq, s.k_neg)

    if t.lr is not None:
        lr, rule = t.lr, "train.lr"
    elif qwem and t.dt_per_step is not None:
        lr, rule = from_dt(t.dt_per_step), "train.dt_per_step"
    elif m.lr is not None:
        lr, rule = m.lr, f"train.per_method.{t.method}.lr"
    else:
        lr, rule = from_dt(t.gd_dt / lam1), "train.gd_dt / lambda_1"
    init = t.init or m.init
    dtype = t.dtype or m.dtype
    kernel = "torch"
    if not qwem and (t.kernel == "native" or (t.kernel == "auto" and device_type == "cpu" and dtype == "float32"
                                              and sgns_native.load() is not None)):
        kernel = "native"
    workers = threads if kernel == "native" else 1
    return Resolved(
        method=t.method, d=s.d, negatives=s.k_neg, window=s.window,
        steps=t.steps if qwem else t.sgns_steps, lr=float(lr), lr_rule=rule,
        batch_size=t.batch_size if t.batch_size is not None else m.batch_size, init=init,
        init_scale=t.init_scale if t.init_scale is not None else getattr(t.init_scales, init),
        dtype=dtype, seed=t.seed if t.seed is not None else s.seed, kernel=kernel,
        workers=1 if device_type != "cpu" else (t.workers if t.workers is not None else workers))


def as_dict(r: Resolved) -> dict:
    return dataclasses.asdict(r)
