"""rf-sweep settings: the resolved config as frozen dataclasses, and the values derived from them.

Every default lives in configs/rf_sweep/ (config.yaml, dataset/, features/, preset/); these classes
declare the keys and their types only. `settings(cfg)` builds them strictly (a YAML key without a
field, or a field without a key, is a one-line ConfigError). `resolve(s)` is the one place that
derives values from others (the (n, k) points, the ridge grid, the device); the run writes its
result to summary.json under "resolved".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from repro.experiments.common.settings import CLI_KEYS, build


@dataclass(frozen=True)
class Dataset:
    name: Literal["gaussian", "cifar10", "mnist", "fashion_mnist", "svhn"]
    noise: float                # σ²: label noise of the Gaussian task, and the theory's noise term
    modes: int                  # M: power-law modes (gaussian) or spectrum images (real data)
    sampling: Literal["fresh", "pool", "split"]  # fresh: gaussian; pool | split: real data
    alpha: float | None         # λ_i = i^-alpha (gaussian only, null otherwise)
    beta: float | None          # v_i² = i^-beta (gaussian only, null otherwise)


@dataclass(frozen=True)
class Features:
    name: Literal["relu", "gaussian"]
    weight_var: float           # W ~ N(0, weight_var / d)


@dataclass(frozen=True)
class Grid:
    layout: Literal["cross", "product"]
    n: tuple[int, ...]          # [min, max, count] (checked in validate: three integers)
    k: tuple[int, ...]
    fixed_n: int                # n of the k sweep (cross layout)
    fixed_k: int                # k of the n sweep (cross layout)


@dataclass(frozen=True)
class Ridges:
    values: tuple[float, ...] | None  # explicit ridges; null: the log grid below
    log10_min: float
    log10_max: float
    num: int
    ridgeless: bool             # add δ = 0 to the log grid


@dataclass(frozen=True)
class Theory:
    curve_points: int
    peak_points: int
    table_step: float           # spacing in ln γ of the spectral-sum interpolation table


@dataclass(frozen=True)
class Plot:
    at_end: bool
    ridge_indices: tuple[int, ...]
    noise_levels: tuple[float, ...]


@dataclass(frozen=True)
class Kernel:
    """The kernel experiments' kernel (configs/rf_sweep/kernel/): computed in tiles, or a file."""
    name: Literal["relu_nngp", "fc_ntk", "myrtle5", "myrtle7", "myrtle10", "file"]
    depth: int                  # Dense layers of the fully connected kernels (read-out included)
    kind: Literal["ntk", "nngp"]
    w_std: float
    b_std: float
    images: int | None          # pool size (first N training images); null: kernel_pool.pool_size derives it
    tile: int                   # tile side
    compile: Literal["auto", "always", "never"]
    path: str | None            # kernel=file: .npy / .npz


@dataclass(frozen=True)
class KernelTiles:
    index: int | None           # null: every tile; I: tile I only


@dataclass(frozen=True)
class Exponents:
    n: tuple[int, ...]          # [min, max, count]
    n_test: int
    trials: int
    delta: float
    fit: tuple[float, ...]      # [lo, hi]
    bootstrap: int
    direct_windows: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Spectra:
    n: tuple[int, ...]          # subset sizes


@dataclass(frozen=True)
class FittingRatio:
    n: int                      # N training points per trial
    n_test: int                 # held-out points per trial
    trials: int                 # random permutations of the (N + n_test)-point kernel
    noise_levels: tuple[float, ...]  # σ²_rel of the label noise
    n_sweep: tuple[int, ...]    # smaller training sizes (prefixes of each trial's N): optimal-ridge MSE vs n
    ridges: int                 # size of the authors' log ridge grid (spec §5.2)
    ridgeless: bool             # also δ = 0
    alpha: float | None         # (α, β) of the closed-form lines; null: exponents_from, else table
    beta: float | None
    exponents_from: str | None  # an experiment=exponents run directory (its summary.json)
    table: dict                 # dataset -> [α, β] (spec §9, depth-10 Myrtle CNTK)


EXPERIMENTS = ("fig1", "exponents", "spectra", "kernel_tiles", "fitting_ratio")  # run.DRIVERS: what one run does


@dataclass(frozen=True)
class Settings:
    experiment: Literal[EXPERIMENTS]
    seed: int
    device: str                 # auto | cpu | cuda[:i]
    dtype: Literal["float64", "float32"]
    data_dir: str | None
    tag: str | None             # a free label: part of the run's identity, changes no result
    trials: int
    n_test: int
    dataset: Dataset
    features: Features
    grid: Grid
    ridges: Ridges
    theory: Theory
    plot: Plot
    kernel: Kernel
    kernel_tiles: KernelTiles
    exponents: Exponents
    spectra: Spectra
    fitting_ratio: FittingRatio


@dataclass(frozen=True)
class Resolved:
    """What the sweep actually runs, derived from Settings by `resolve`."""

    device: str                          # the device `auto` became
    points: tuple[tuple[int, int], ...]  # measured (n, k) pairs, sorted
    ridges: tuple[float, ...]            # δ grid, ascending (0 first when ridgeless)
    exact: bool                          # Gaussian features of the Gaussian task: the theory is exact
    population: int | None               # pool size of the held-out correction (sampling=pool), else None

    def to_json(self) -> dict:
        return {"device": self.device, "points": len(self.points),
                "n": sorted({n for n, _ in self.points}), "k": sorted({k for _, k in self.points}),
                "ridges": list(self.ridges), "exact_theory": self.exact, "population": self.population}


def resolve(s: Settings) -> Resolved:
    """Every value rf-sweep derives from others, in one place:

    - points: the (n, k) pairs of grid.layout (cross: the k sweep at fixed_n and the n sweep at
      fixed_k; product: every pair) over integer log grids (grid.int_logspace of [min, max, count]);
    - ridges: ridges.values when given, else logspace(log10_min, log10_max, num) plus δ = 0 when
      ridgeless;
    - device: `auto` is CUDA when present, else the CPU;
    - exact: Gaussian features on the Gaussian task sample (ψ, y) jointly and the theory uses the
      task's exact power-law modes; any other pair estimates the spectrum from M points;
    - population: with sampling=pool train and test points come from the M spectrum images, so the
      theory is corrected for held-out points of an M-point population (spec §2.3).
    """
    from repro.experiments.common.device import resolve_device

    from . import grid

    return Resolved(
        device=str(resolve_device(s.device)),
        points=tuple(grid.points(s.grid)),
        ridges=tuple(float(d) for d in grid.ridges(s.ridges)),
        exact=s.dataset.name == "gaussian" and s.features.name == "gaussian",
        population=s.dataset.modes if s.dataset.sampling == "pool" else None,
    )


def settings(cfg) -> Settings:
    """The resolved config as Settings (ConfigError on a missing, unknown or mistyped key)."""
    return build(Settings, cfg, ignore=CLI_KEYS)
