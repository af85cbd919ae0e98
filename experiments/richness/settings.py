"""Every setting of `repro richness`, as frozen dataclasses that mirror configs/richness/config.yaml.

    settings(cfg) -> Settings     strict: every YAML key a field, every field a YAML key, types checked
    resolve(s)    -> Resolved     the one place the top-level knobs are laid over the experiment's block

No field has a default: the values live in the YAML (and its presets), with a comment each. A key means one
thing wherever it appears, so its type is written once (TYPES) and each dataclass lists its keys. The top level
holds knobs (`width`, `r`, ...) that are null unless the user sets them; each experiment's block holds the values
that experiment reads. `resolve` takes the block, replaces every field whose top-level knob is set, applies a
named point (`param` sets r and gauge) and returns the result, which `run` writes to summary.json ("resolved").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, make_dataclass, replace
from typing import Literal

from repro.experiments.common.settings import CLI_KEYS, build

from .parametrization import POINTS

# Experiment names, and the short names they had before (kept as aliases).
EXPERIMENTS = ("train", "named_points_mlp", "width_exponents", "lr_transfer", "named_points_cnn", "gamma_sweep",
               "coord_check", "lazy_limit", "gauges", "lazy_widths", "named_points_mixer", "lr_laws", "lr_laws_mnist",
               "lr_transfer_widths", "loss_curves", "ntk_prediction")
ALIASES = {"e1": "named_points_mlp", "e2": "width_exponents", "e3": "lr_transfer", "e4": "named_points_cnn",
           "e5": "named_points_mixer", "coord": "coord_check", "lazy": "lazy_limit"}

Point = Literal["ntp", "ntp-lr", "mup", "mup-lr", "mfp"]
assert set(Point.__args__) == set(POINTS)


@dataclass(frozen=True)
class Teacher:
    """The synthetic teacher task (data.teacher_task)."""
    d: int
    k: int
    width: int
    seed: int


@dataclass(frozen=True)
class Breakers:
    """The gauges check's reruns that must break the equivalence (null skips one)."""
    weight_decay: float | None
    adam_lr_factor: float | None
    breaks_above: float


TYPES = {
    # fixed for every experiment
    "seed": int, "device": str, "dtype": Literal["float32", "float64", "bfloat16", "float16"], "data_dir": str | None,
    "tag": str | None, "optimizer": Literal["sgd", "adam"], "weight_decay": float, "bias": bool, "gain": float,
    "loss": Literal["mean", "half_sum"], "n_eval": int, "teacher": Teacher,
    "experiment": Literal[EXPERIMENTS + tuple(ALIASES)], "param": Point | None,
    # knobs: null at the top level, a value in the blocks that read them
    "r": float, "gamma0": float, "gauge": Literal["stp", "mup", "rescale"], "width": int, "depth": int, "lr": float,
    "steps": int, "epochs": int, "batch": int, "momentum": float, "dataset": Literal["teacher", "mnist", "cifar10"],
    "model": Literal["mlp", "myrtle5", "mixer"], "n_train": int, "n_test": int, "center": bool, "probe": int, "ntk_probe": int,
    "log_every": int, "ntk_every": int,
    # the experiments' own keys
    "trials": int, "params": tuple[Point, ...], "widths": tuple[int, ...], "table_batch": int,
    "r_values": tuple[float, ...], "ntk_steps": int, "ntk_lr_draws": int, "ntk_lr_frac": float, "tolerance": float,
    "lr_grid": dict, "n_lrs": int, "cap": float, "gamma0_values": tuple[float, ...], "lrs": tuple[float, ...],
    "float64_below": float, "seeds": int, "fit_max_richness": float, "exponent_tolerance": float,
    "breakers": Breakers, "groups": int | None, "rich_floor": float, "curve_points": int, "lr_range": tuple[float, ...],
    "pool": int, "fit_lazy_below": float, "fit_rich_above": float,
}
COMMON_KEYS = "seed device dtype data_dir tag optimizer weight_decay bias gain loss n_eval teacher"
KNOBS = tuple("r gamma0 gauge width depth lr steps epochs batch momentum dataset model n_train n_test center probe "
              "ntk_probe log_every ntk_every".split())


def _dataclass(name: str, keys: str, doc: str, optional: bool = False, constants: dict | None = None):
    """A frozen dataclass with one field per key (typed from TYPES; `optional`: X | None); `constants` become
    class attributes, not settings."""
    specs = [(k, TYPES[k] | None if optional else TYPES[k]) for k in keys.split()]
    return make_dataclass(name, specs, frozen=True, namespace={"__doc__": doc, "__module__": __name__,
                                                                **(constants or {})})


Common = _dataclass("Common", COMMON_KEYS, "Settings fixed for every experiment.")
TrainBlock = _dataclass(
    "TrainBlock", "model dataset width depth r gamma0 gauge lr steps batch momentum n_train n_test center probe "
                  "ntk_probe log_every ntk_every", "train: one run with the lazy-vs-rich measurements.")
NamedPointsMLP = _dataclass(
    "NamedPointsMLP", "dataset width depth gamma0 lr epochs batch momentum n_train n_test center probe ntk_probe "
                      "trials params", "named_points_mlp (E1): every named point, an MLP.", constants={"model": "mlp", "groups": None})
NamedPointsCNN = _dataclass(
    "NamedPointsCNN", "width gamma0 lr epochs batch momentum n_train n_test center probe ntk_probe trials params",
    "named_points_cnn (E4): every named point, Myrtle-5 on CIFAR-10.",
    constants={"model": "myrtle5", "dataset": "cifar10", "depth": None, "groups": None})
NamedPointsMixer = _dataclass(
    "NamedPointsMixer", "dataset width groups gamma0 lr epochs batch momentum n_train n_test center probe ntk_probe "
                        "trials params", "named_points_mixer (E5): the named points, the Myrtle Mixer.",
    constants={"model": "mixer", "depth": None})
WidthExponents = _dataclass(
    "WidthExponents", "dataset depth gamma0 gauge lr batch table_batch n_train n_test center ntk_probe widths trials "
                      "r_values ntk_steps ntk_lr_draws ntk_lr_frac tolerance",
    "width_exponents (E2): one SGD step across widths, fitted exponents.")
LrTransfer = _dataclass(
    "LrTransfer", "model dataset depth gamma0 epochs batch momentum n_train n_test center widths trials params lr_grid "
                  "n_lrs cap", "lr_transfer (E3): test MSE against base lr per width.")
GammaSweep = _dataclass(
    "GammaSweep", "model dataset width depth r gauge steps batch momentum n_train n_test center gamma0_values lrs "
                  "float64_below", "gamma_sweep: a gamma0 x base-lr grid at one width.")
CoordCheck = _dataclass(
    "CoordCheck", "dataset depth gauge gamma0 r lr steps batch momentum n_train n_test widths seeds",
    "coord_check: mup-style coordinate statistics across widths.")
LazyLimit = _dataclass(
    "LazyLimit", "dataset width depth r gauge steps n_train n_test gamma0_values tolerance fit_max_richness "
                 "exponent_tolerance", "lazy_limit: the trained network against its linearisation as richness -> 0.")
Gauges = _dataclass(
    "Gauges", "dataset width depth r gamma0 lr steps batch momentum n_train n_test center tolerance breakers",
    "gauges: every gauge at the same (r, gamma0) gives the same SGD trajectory.")
LazyWidths = _dataclass(
    "LazyWidths", "dataset depth gamma0 gauge steps n_train n_test widths r_values trials rich_floor",
    "lazy_widths: D(n), the network against its linearisation across widths, per r.")
LossCurves = _dataclass(
    "LossCurves", "dataset depth gamma0 gauge steps n_train n_test widths r_values trials curve_points",
    "loss_curves (extension 12.6): loss against step across widths at fixed richness, beside the linearised model.")
_LR_LAWS = ("dataset width depth r gauge steps batch momentum n_train n_test center gamma0_values lr_range n_lrs "
            "trials float64_below fit_lazy_below fit_rich_above")
LrLaws = _dataclass("LrLaws", _LR_LAWS, "lr_laws: the optimal base lr against gamma0 (spec sec. 8), online teacher task.",
                    constants={"model": "mlp"})
LrLawsMnist = _dataclass("LrLawsMnist", _LR_LAWS, "lr_laws_mnist: the same on online MNIST.", constants={"model": "mlp"})
LrTransferWidths = _dataclass(
    "LrTransferWidths", "model dataset depth gamma0 gauge epochs batch momentum n_train n_test center widths trials "
                        "r_values lr_range n_lrs cap", "lr_transfer_widths (extension 12.5): optimal base lr vs width per r.")
NtkPrediction = _dataclass(
    "NtkPrediction", "dataset depth gauge steps n_train n_test pool widths r_values gamma0_values trials",
    "ntk_prediction: the lazy network's test MSE predicted from its initial NTK's eigenstructure (KRR eigenframework).")
BLOCKS = {"train": TrainBlock, "named_points_mlp": NamedPointsMLP, "width_exponents": WidthExponents,
          "lr_transfer": LrTransfer, "named_points_cnn": NamedPointsCNN, "gamma_sweep": GammaSweep,
          "coord_check": CoordCheck, "lazy_limit": LazyLimit, "gauges": Gauges, "lazy_widths": LazyWidths,
          "named_points_mixer": NamedPointsMixer, "lr_laws": LrLaws, "lr_laws_mnist": LrLawsMnist,
          "lr_transfer_widths": LrTransferWidths, "loss_curves": LossCurves, "ntk_prediction": NtkPrediction}
assert tuple(BLOCKS) == EXPERIMENTS

Settings = make_dataclass(
    "Settings", [(k, TYPES[k]) for k in (COMMON_KEYS + " experiment param").split()]
    + [(k, TYPES[k] | None) for k in KNOBS] + list(BLOCKS.items()),
    frozen=True, namespace={"__doc__": "configs/richness/config.yaml, key for key.", "__module__": __name__})


def settings(cfg) -> Settings:
    """The resolved config as frozen dataclasses (ConfigError, one line, on a missing/unknown/mistyped key)."""
    return build(Settings, cfg, ignore=CLI_KEYS)


def canonical(name: str) -> str:
    """The experiment's descriptive name (e1 -> named_points_mlp)."""
    return ALIASES.get(name, name)


def block_of(s: Settings):
    """The experiment's own block, as written in the YAML."""
    return getattr(s, canonical(s.experiment))


def set_knobs(s: Settings) -> dict:
    """The top-level knobs the user set (not null)."""
    return {k: getattr(s, k) for k in KNOBS if getattr(s, k) is not None}


def keys_of(block) -> set[str]:
    return {f.name for f in fields(block)}


def has_point(block) -> bool:
    """Whether the block holds both r and gauge, so that a named point (`param`) can set them."""
    return {"r", "gauge"} <= keys_of(block)


@dataclass(frozen=True)
class Resolved:
    """What one run reads: its experiment's name, its block with the knobs applied, the common settings."""
    experiment: str
    block: object  # one of BLOCKS' dataclasses
    common: Common

    def record(self) -> dict:
        """summary.json "resolved": every value the run used, under the YAML's key names."""
        return {"experiment": self.experiment, **asdict(self.common), self.experiment: asdict(self.block)}


def resolve(s: Settings) -> Resolved:
    """Lay the top-level knobs over the experiment's block: a knob that is set (not null) replaces the block's
    value; `param` (a named point) then sets r and gauge. validate has checked that every knob set is a field
    of the block and that `param` is used only where the block has r and gauge (and r, gauge are null)."""
    block = replace(block_of(s), **set_knobs(s))
    if s.param is not None:
        r, gauge = POINTS[s.param]
        block = replace(block, r=r, gauge=gauge)
    common = Common(**{f.name: getattr(s, f.name) for f in fields(Common)})
    return Resolved(canonical(s.experiment), block, common)
