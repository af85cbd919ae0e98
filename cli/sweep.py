"""Sweep expansion, run and sweep names, and sweep.json.

Hydra's sweep syntax (`a=1,2`, `range(..)`, `choice(..)`, `glob(..)`) is parsed with Hydra's public
OverridesParser and expanded here into the Cartesian grid, one override list per run, because the
compose API has no multirun. The grid's size is counted from the parsed sweeps before any value is
listed, so `seed=range(1000000000)` is refused at once instead of filling memory.

Names: a run directory is `<slug of its swept values, or of the command's overrides>-<8 hex of its
config hash>` (rundir.config_hash), so two different configs never share a directory and the same
command finds the same directories again (that is how re-running resumes). A sweep directory is
`<slug of the overrides>-<8 hex of their text>`; it holds sweep.json and one run directory per
combination. `--name` replaces the sweep or single-run directory's name, never a run's hash.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from repro.experiments.common.atomic import atomic_write_json, read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import (CONFIG_FILE, RUN_FILE, SWEEP_FILE, SWEEP_LOCK_FILE, RunLock,
                                             status)

from .registry import group_options

MAX_RUNS = 10_000  # default cap on the runs of one command (--max-runs raises it)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=,+-]*$")
NAME_MAX = 100


@dataclass
class Grid:
    fixed: list[str]  # overrides shared by every run
    axes: list[tuple[str, list[str]]]  # (key element, swept values) in command order

    @property
    def is_sweep(self) -> bool:
        return bool(self.axes)

    @property
    def size(self) -> int:
        return math.prod(len(v) for _, v in self.axes)

    def runs(self) -> Iterator[tuple[str, list[str]]]:
        """(slug of the swept values, full override list) for every combination of the grid."""
        for values in itertools.product(*(vals for _, vals in self.axes)):
            swept = [f"{key}={v}" for (key, _), v in zip(self.axes, values)]
            yield _slug("_".join(s.lstrip("+") for s in swept), 60) or "run", self.fixed + swept


def _count(o, package: str) -> int:
    """How many values a parsed sweep override stands for, without listing them."""
    v = o.value()
    kind = type(v).__name__
    if kind == "RangeSweep":
        if not v.step:
            raise ConfigError(f"{o.input_line!r} is invalid: range() step 0 never ends; valid: a non-zero step")
        return max(0, math.ceil((v.stop - v.start) / v.step))
    if kind == "ChoiceSweep":
        return len(v.list)
    if kind == "Glob":
        return len(v.filter(group_options(package, o.key_or_group)))
    raise ConfigError(f"{o.input_line!r} is invalid: {kind} cannot be listed as a grid; valid: a,b / range() / "
                      f"choice() / glob()")


def expand(package: str, overrides: list[str], max_runs: int = MAX_RUNS) -> Grid:
    """The grid of a command's overrides; refused, unlisted, when it has more than max_runs runs."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as e:
        raise ConfigError(f"cannot parse overrides: {' '.join(str(e).split())[:300]}") from None
    fixed, sweeps = [], []
    for o in parsed:
        if o.is_sweep_override():
            sweeps.append(o)
        else:
            fixed.append(o.input_line)
    keys = [o.get_key_element() for o in sweeps]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"a key is swept twice: {', '.join(keys)}")
    if any(k.lstrip("+").startswith("launcher") for k in keys):
        raise ConfigError("the launcher cannot be swept; choose one with --launcher")
    counts = [_count(o, package) for o in sweeps]
    for o, n in zip(sweeps, counts):
        if n == 0:
            raise ConfigError(f"{o.input_line!r} sweeps over no values")
    total = math.prod(counts)
    if total > max_runs:
        sizes = " x ".join(f"{o.get_key_element()} ({n})" for o, n in zip(sweeps, counts))
        raise ConfigError(f"the sweep has {total} runs ({sizes}), more than the cap of {max_runs}; narrow it, "
                          f"or raise the cap with --max-runs {total}")
    axes = []
    for o in sweeps:
        if type(o.value()).__name__ == "Glob":
            values = list(o.value().filter(group_options(package, o.key_or_group)))
        else:
            values = list(o.sweep_string_iterator())
        axes.append((o.get_key_element(), values))
    return Grid(fixed, axes)


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^A-Za-z0-9=.,_+-]+", "-", text).strip("-")[:limit].rstrip("-")


def digest(items) -> str:
    return hashlib.sha256("\x00".join(items).encode()).hexdigest()[:8]


def identity(overrides: list[str]) -> list[str]:
    """The overrides that decide the results: the launcher choice and its settings do not."""
    return [o for o in overrides if not o.lstrip("+~").startswith("launcher")]


def run_dir_name(slug: str, config_hash: str) -> str:
    return f"{slug}-{config_hash[:8]}"


def single_run_name(overrides: list[str], config_hash: str) -> str:
    """A single run's directory: 'default-<hash>' or a slug of the overrides plus the hash."""
    ident = identity(overrides)
    return run_dir_name(_slug("_".join(o.lstrip("+") for o in ident), 48) or "default", config_hash)


def sweep_name(overrides: list[str]) -> str:
    """Deterministic sweep id: a slug of the overrides plus a short hash of their text."""
    ident = identity(overrides)
    return f"{_slug('_'.join(o.lstrip('+') for o in ident), 48)}-{digest(ident)}"


def check_name(name: str) -> str:
    """--name must be one safe path component: it can never point outside --out."""
    if len(name) > NAME_MAX:
        raise ConfigError(f"--name={name[:40]!r}... is invalid: {len(name)} characters; valid: at most {NAME_MAX}")
    if not NAME_RE.match(name) or name in (".", ".."):
        raise ConfigError(f"--name={name!r} is invalid: it must be one folder name; valid: letters, digits and "
                          f"._=,+- (not starting with . or -), no '/'")
    return name


def sweep_identity(config_hashes: dict[str, str]) -> str:
    return digest(sorted(config_hashes.values()))


def write_sweep_file(sweep_dir: Path, experiment: str, grid: Grid, config_hashes: dict[str, str]) -> None:
    """sweep.json: the grid, its identity and each run's current status, under the sweep's lock
    (runs update their own entry as they finish: rundir.update_sweep)."""
    with RunLock(sweep_dir, SWEEP_LOCK_FILE):
        atomic_write_json(sweep_dir / SWEEP_FILE, {
            "experiment": experiment,
            "fixed": grid.fixed,
            "axes": {k: v for k, v in grid.axes},
            "identity": sweep_identity(config_hashes),
            "config_hashes": config_hashes,
            "runs": {n: status(sweep_dir / n, h) for n, h in config_hashes.items()},
        })


def sweep_runs(sweep_dir: Path) -> list[Path]:
    """The run directories of a sweep: from sweep.json, or (missing or unreadable) every run folder."""
    info = read_json(sweep_dir / SWEEP_FILE, None, expect=dict)
    if info and isinstance(info.get("runs"), dict):
        return [sweep_dir / n for n in info["runs"]]
    return sorted({p.parent for pattern in (f"*/{RUN_FILE}", f"*/{CONFIG_FILE}") for p in sweep_dir.glob(pattern)})
