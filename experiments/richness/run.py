"""repro richness: train along the richness scale r (0 = lazy NTK ... 1/2 = rich muP) and measure it.

`validate(cfg)` checks everything a config can get wrong before anything runs; `run(cfg, run_dir)` resolves the
settings once (settings.resolve: the top-level knobs over the experiment's block), dispatches to the experiment's
driver and writes what it resolved to summary.json under "resolved". Every result records r, gamma0, n and
alpha = gamma0 * n**r (the paper's gamma = alpha at gamma0 = 1).
"""
from __future__ import annotations

import time
import zipfile
from pathlib import Path

from omegaconf import DictConfig

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.device import resolve_device, resolve_dtype
from repro.experiments.common.errors import require, require_nonnegative, require_positive
from repro.experiments.common.metrics import MetricsWriter

from . import plots
from .context import Context
from .coord_check import run_coord_check
from .gamma_sweep import run_gamma_sweep
from .gauges import run_gauges
from .kernel_limit import run_lazy_limit
from .lazy_widths import run_lazy_widths
from .loss_curves import run_loss_curves
from .lr_laws import run_lr_laws
from .lr_transfer import run_lr_transfer, run_lr_transfer_widths
from .mixer import MIN_SIDE
from .named_points import run_named_points
from .ntk_prediction import run_ntk_prediction
from .parametrization import check_r
from .settings import (EXPERIMENTS, KNOBS, Resolved, Settings, block_of, canonical, has_point, keys_of, resolve,
                       set_knobs, settings)
from .train import run_train
from .width_exponents import run_width_exponents

DRIVERS = {"train": run_train, "named_points_mlp": run_named_points, "width_exponents": run_width_exponents,
           "lr_transfer": run_lr_transfer, "named_points_cnn": run_named_points, "gamma_sweep": run_gamma_sweep,
           "coord_check": run_coord_check, "lazy_limit": run_lazy_limit, "gauges": run_gauges,
           "lazy_widths": run_lazy_widths, "named_points_mixer": run_named_points, "lr_laws": run_lr_laws,
           "lr_laws_mnist": run_lr_laws, "lr_transfer_widths": run_lr_transfer_widths, "loss_curves": run_loss_curves,
           "ntk_prediction": run_ntk_prediction}
assert set(DRIVERS) == set(EXPERIMENTS)

POSITIVE = ("width", "depth", "steps", "epochs", "batch", "n_train", "n_test", "trials", "seeds", "n_lrs",
            "table_batch", "ntk_lr_draws", "gamma0", "lr", "tolerance", "fit_max_richness", "exponent_tolerance", "cap",
            "rich_floor", "curve_points", "pool", "fit_lazy_below", "fit_rich_above")
NONNEGATIVE = ("probe", "ntk_probe", "log_every", "ntk_every", "ntk_steps", "float64_below")
POSITIVE_LISTS = ("widths", "gamma0_values", "lrs")
NON_EMPTY = ("widths", "r_values", "gamma0_values", "lrs", "params")


# ----------------------------------------------------------------------------------------------- validate
def validate(cfg: DictConfig) -> None:
    """Every check a config can reach, before any run directory exists; ConfigError (one line) on the first."""
    check(settings(cfg))


def check(s: Settings) -> None:
    """validate on settings already built: the knobs set fit the experiment, then every value, then the data."""
    name, block = canonical(s.experiment), block_of(s)
    own = keys_of(block)
    for key, value in set_knobs(s).items():
        require(key in own, f"{key}={value!r} is invalid for experiment={name}: it reads no {key} (its knobs: "
                            f"{', '.join(k for k in KNOBS if k in own)}); valid: null")
    if s.param is not None:
        require(has_point(block), f"param={s.param} is invalid for experiment={name}: its block sets no r and gauge "
                                  "(named points are for train, gamma_sweep, coord_check, lazy_limit); valid: null")
        for key in ("r", "gauge"):
            require(getattr(s, key) is None, f"{key}={getattr(s, key)!r} is invalid with param={s.param}: the named "
                                             f"point sets r and gauge; valid: null")
    rs = resolve(s)
    key = _namer(s, name)
    _check_block(rs, key)
    _check_common(rs)
    if rs.block.dataset != "teacher":
        _check_images(rs, key)


def _namer(s: Settings, name: str):
    """The key a user sets a block value with: the top-level knob if they set it, else `block.key`."""
    top = set_knobs(s)
    return lambda k: k if k in top else f"{name}.{k}"


def _check_block(rs: Resolved, key) -> None:
    b = rs.block
    own = keys_of(b)
    for k in own & set(POSITIVE):
        require_positive(getattr(b, k), key(k))
    for k in own & set(NONNEGATIVE):
        require_nonnegative(getattr(b, k), key(k))
    for k in own & set(NON_EMPTY):
        require(len(getattr(b, k)) > 0, f"{key(k)}=[] is invalid: it is empty; valid: a non-empty list")
    for k in own & set(POSITIVE_LISTS):
        for i, v in enumerate(getattr(b, k)):
            require_positive(v, f"{key(k)}[{i}]")
    if "depth" in own and b.depth is not None:
        require(b.depth >= 2, f"{key('depth')}={b.depth} is invalid: an MLP needs a read-in and a read-out layer; "
                              "valid: >= 2")
    if "momentum" in own:
        require(0 <= b.momentum < 1, f"{key('momentum')}={b.momentum} is invalid: SGD momentum; valid: 0 <= momentum < 1")
    if "model" in own and b.model == "myrtle5":
        require(b.dataset == "cifar10", f"{key('dataset')}={b.dataset!r} is invalid for model=myrtle5: Myrtle-5 "
                                        "reads 32x32 colour images; valid: cifar10")
    model = getattr(b, "model", None)  # a field, or a class constant of the named-point blocks (None: an MLP)
    if model == "mixer":
        require(b.dataset != "teacher", f"{key('dataset')}='teacher' is invalid for the Myrtle Mixer: it reads "
                                        "images; valid: cifar10, mnist")
    if "groups" in own and b.groups is not None:
        require(b.groups >= 1 and b.width % b.groups == 0,
                f"{key('groups')}={b.groups} is invalid: the spatial conv splits the {b.width} channels "
                f"({key('width')}) into groups; valid: a divisor of {b.width}, or null (= width, depthwise)")
    if "lr_range" in own:
        lo_hi = list(b.lr_range)
        require(len(lo_hi) == 2 and 0 < lo_hi[0] <= lo_hi[1], f"{key('lr_range')}={lo_hi} is invalid: a log-spaced "
                                                               "lr grid; valid: [low, high] with 0 < low <= high")
    if rs.experiment in ("lr_laws", "lr_laws_mnist"):
        need = b.steps * b.batch
        require(b.n_train >= need, f"{key('n_train')}={b.n_train} is invalid: online training takes a fresh batch "
                                   f"every step ({key('steps')} x {key('batch')} = {need}); valid: >= {need}")
    if rs.experiment == "ntk_prediction":
        require(b.dataset == "teacher", f"{key('dataset')}={b.dataset!r} is invalid for ntk_prediction: the pool's "
                                        "Gram NTK over k = 10 outputs is (10 pool)^2; valid: teacher")
        require(b.pool >= 2 * b.n_train + 2, f"{key('pool')}={b.pool} is invalid: the ridgeless eigenframework at "
                                             f"n = {key('n_train')} = {b.n_train} needs more modes than n, also "
                                             f"from half the pool; valid: >= {2 * b.n_train + 2}")
    if rs.experiment == "lazy_widths":
        require(len(b.widths) >= 2, f"{key('widths')}={list(b.widths)} is invalid: an exponent is fitted over "
                                    "widths; valid: two or more widths")
    for k in ("batch", "table_batch", "probe", "ntk_probe"):
        if k in own:
            require(getattr(b, k) <= b.n_train, f"{key(k)}={getattr(b, k)} is invalid: more than the "
                                                f"{key('n_train')}={b.n_train} training points; valid: <= {b.n_train}")
    if "ntk_lr_frac" in own:
        frac = b.ntk_lr_frac
        require(0 < frac < 1, f"{key('ntk_lr_frac')}={frac} is invalid: a fraction of the stable lr; valid: 0 < x < 1")
    if "lr_grid" in own:
        for nm in b.params:
            lo_hi = b.lr_grid.get(nm)
            ok = isinstance(lo_hi, list) and len(lo_hi) == 2 and all(isinstance(v, (int, float)) for v in lo_hi)
            require(ok and 0 < lo_hi[0] <= lo_hi[1], f"{key('lr_grid')}.{nm}={lo_hi!r} is invalid: every named point "
                                                     "needs its grid; valid: [low, high] with 0 < low <= high")
    if "breakers" in own:
        for k in ("weight_decay", "adam_lr_factor"):
            if getattr(b.breakers, k) is not None:
                require_positive(getattr(b.breakers, k), f"{key('breakers')}.{k}")
        require_positive(b.breakers.breaks_above, f"{key('breakers')}.breaks_above")


def _check_common(rs: Resolved) -> None:
    c = rs.common
    require_nonnegative(c.weight_decay, "weight_decay")
    require_positive(c.gain, "gain")
    require_positive(c.n_eval, "n_eval")
    for k in ("d", "k", "width"):
        require_positive(getattr(c.teacher, k), f"teacher.{k}")
    resolve_dtype(c.dtype)
    resolve_device(c.device)
    if c.data_dir is not None:
        resolve_data_dir(None, c.data_dir)


def _check_images(rs: Resolved, key) -> None:
    """n_train / n_test within the split, and the images at hand (a local copy or a reachable hub): checked
    last (after the cheap key checks), so an offline machine fails before any run directory exists."""
    from repro.experiments.common.images import require_available

    from .data import split_shapes, split_sizes

    b, c = rs.block, rs.common
    root = resolve_data_dir(None, c.data_dir)
    require_available(b.dataset, root)
    try:
        sizes, where = split_sizes(b.dataset, root)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        require(False, f"data_dir={str(root)!r} is invalid: its {b.dataset} copy cannot be read ({type(e).__name__}); "
                       f"valid: a folder whose {b.dataset}/*.npz holds x_train, y_train, x_test, y_test")
    for k, split in (("n_train", "train"), ("n_test", "test")):
        n = getattr(b, k)
        require(n <= sizes[split], f"{key(k)}={n} is invalid: {b.dataset}'s {split} split has {sizes[split]} "
                                   f"examples in {where}; valid: 1 <= {k} <= {sizes[split]}")
    if getattr(b, "model", None) in ("mixer", "myrtle5"):
        shape = split_shapes(b.dataset, root)[0]["train"]
        side = min(shape[1:3]) if len(shape) >= 3 else 1
        require(side >= MIN_SIDE, f"{key('dataset')}={b.dataset!r} is invalid for model={b.model}: its images "
                                  f"({'x'.join(map(str, shape[1:])) or 'none'} in {where}) are too small for the two "
                                  f"2x2 pools; valid: images of side >= {MIN_SIDE}")


# ----------------------------------------------------------------------------------------------- run
def run(cfg: DictConfig, run_dir: Path) -> dict:
    s = settings(cfg)
    check(s)
    rs = resolve(s)
    r_warning = check_r(rs.block.r) if "r" in keys_of(rs.block) else None
    t0 = time.monotonic()
    with MetricsWriter(run_dir) as writer:
        ctx = Context(Path(run_dir), resolve_device(rs.common.device), resolve_dtype(rs.common.dtype), writer)
        summary = DRIVERS[rs.experiment](rs, ctx)
    summary = {"experiment": rs.experiment, **summary, "wall_seconds": round(time.monotonic() - t0, 2),
               "device": str(ctx.device), "resolved": rs.record()}
    if r_warning:
        summary["r_warning"] = r_warning
    plots.plot_run(run_dir)
    return summary

