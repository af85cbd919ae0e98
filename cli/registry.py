"""The experiments the CLI knows: command name, package name, typed options and their overrides."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Option:
    """A typed CLI option that becomes one or more Hydra overrides."""

    name: str  # python parameter name; the flag is --name with '_' -> '-'
    type: type
    help: str
    to_overrides: Callable[[object], list[str]] | None = None  # default: [f"{key}={value}"]
    key: str | None = None  # config key (default: name)

    def overrides(self, value) -> list[str]:
        if self.to_overrides is not None:
            return self.to_overrides(value)
        return [f"{self.key or self.name}={value}"]


@dataclass(frozen=True)
class Experiment:
    command: str  # CLI command, e.g. rf-sweep
    package: str  # repro.experiments.<package>, configs/<package>/
    summary: str
    example: str
    options: tuple[Option, ...] = field(default_factory=tuple)


def corpus_overrides(value) -> list[str]:
    """--corpus takes a known corpus name or a path to a local text/jsonl file."""
    names = group_options("word2vec", "corpus")
    if value in names:
        return [f"corpus={value}"]
    path = Path(str(value)).expanduser()
    # an existing file is pinned to its absolute path (runs may start elsewhere); a bad value stays
    # as typed so the error names what the user wrote
    return ["corpus=file", f"corpus.path={path.resolve() if path.exists() else value}"]


def experiment_overrides(package: str):
    """--experiment NAME -> experiment=NAME, plus whatever the experiment's run module adds for NAME
    (run.experiment_overrides, e.g. a sweep of one run per method); the experiment owns that list."""
    def to_overrides(value) -> list[str]:
        from repro.experiments.common.rundir import experiment_module

        extra = getattr(experiment_module(package), "experiment_overrides", None)
        return extra(str(value)) if extra is not None else [f"experiment={value}"]
    return to_overrides


EXPERIMENTS: dict[str, Experiment] = {
    e.command: e
    for e in (
        Experiment(
            "word2vec", "word2vec",
            "QWEM / word2vec embeddings vs their closed form, stepwise dynamics and analogy emergence (Karkada et al.)",
            "repro word2vec --corpus wikitext2 data_dir=~/data train.method=qwem_sgd",
            (Option("corpus", str, "corpus name (wikitext, wikitext2, enwiki) or a path to a .txt/.jsonl[.gz|.xz|.bz2] file",
                    corpus_overrides),
             Option("experiment", str, "train (default) | emergence (analogy emergence: task vectors, spike, SNR) | "
                                       "benchmark (one run per row of the paper's table and figures, as a sweep)",
                    experiment_overrides("word2vec"))),
        ),
        Experiment(
            "richness", "richness",
            "wide networks along the richness scale, lazy (NTK) to rich (muP) (Karkada's tutorial)",
            "repro richness --width 4096 r=0,0.25,0.5",
            (Option("experiment", str, "train | named_points_mlp (alias e1) | width_exponents (e2) | lr_transfer (e3) | "
                                       "named_points_cnn (e4) | gamma_sweep | coord_check (coord) | lazy_limit (lazy) | "
                                       "gauges | lazy_widths | named_points_mixer (e5) | lr_laws | lr_laws_mnist | "
                                       "lr_transfer_widths | loss_curves | ntk_prediction"),
             Option("width", int, "hidden width n"),
             Option("r", float, "richness width exponent r: 0 = NTK/lazy, 0.5 = muP/rich (outside [0, 1/2]: a warning)"),
             Option("gamma0", float, "width-independent prefactor: richness alpha = gamma0 * width^r; the paper's "
                                     "gamma is alpha at gamma0 = 1, Atanasov et al.'s gamma is gamma0 at r = 1/2"),
             Option("gauge", str, "equivalent parameterisation: stp (layerwise learning rates), mup (per-layer "
                                  "multipliers, one learning rate) or rescale (1/gamma output multiplier, lr ~ gamma^2)")),
        ),
        Experiment(
            "rf-sweep", "rf_sweep",
            "random-feature ridge regression over features k, samples n and ridge vs the eigenframework (Simon et al.)",
            "repro rf-sweep preset=quick dataset.noise=0.1,0.5",
            (Option("experiment", str, "fig1 (default: RF train/test vs k and n) | exponents (alpha, beta of a kernel) | "
                                       "spectra | kernel_tiles (one tile of a kernel matrix per run) | fitting_ratio"),
             Option("dataset", str, "task: gaussian, cifar10, mnist, fashion_mnist"),
             Option("trials", int, "trials per (n, k)")),
        ),
    )
}

BY_PACKAGE = {e.package: e for e in EXPERIMENTS.values()}


def lookup(name: str) -> Experiment:
    """An experiment by command or package name (rf-sweep or rf_sweep)."""
    exp = EXPERIMENTS.get(name) or BY_PACKAGE.get(name)
    if exp is None:
        from repro.experiments.common.errors import ConfigError

        raise ConfigError(f"unknown experiment {name!r}; valid choices: {', '.join(EXPERIMENTS)}")
    return exp


def configs_root() -> Path:
    import repro.configs

    return Path(repro.configs.__file__).parent


def config_dir(package: str) -> Path:
    return configs_root() / package


def group_options(package: str, group: str) -> list[str]:
    """Options of a config group: configs/<package>/<group>/*.yaml, or the shared configs/<group>/."""
    for folder in (config_dir(package) / group, configs_root() / group):
        if folder.is_dir():
            return sorted(p.stem for p in folder.glob("*.yaml"))
    return []


def is_group(package: str, key: str) -> bool:
    return "." not in key and bool(group_options(package, key))
