"""Sweep expansion and sweep directories.

Hydra's sweep syntax (`a=1,2`, `range(..)`, `choice(..)`, `glob(..)`) is parsed with Hydra's public
OverridesParser and expanded here into the Cartesian grid, one override list per run, because the
compose API has no multirun. Directory names are derived from the overrides alone, so running the
same command again finds the same directories and resumes.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from repro.experiments.common.atomic import atomic_write_json, read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import RUN_FILE, status

from .registry import group_options

SWEEP_FILE = "sweep.json"


@dataclass
class Grid:
    fixed: list[str]  # overrides shared by every run
    axes: list[tuple[str, list[str]]]  # (key element, swept values) in command order

    @property
    def is_sweep(self) -> bool:
        return bool(self.axes)

    def runs(self) -> list[tuple[str, list[str]]]:
        """(run name, full override list) for every combination of the grid."""
        out = []
        for values in itertools.product(*(vals for _, vals in self.axes)):
            swept = [f"{key}={v}" for (key, _), v in zip(self.axes, values)]
            out.append((run_name(swept), self.fixed + swept))
        return out


def expand(package: str, overrides: list[str]) -> Grid:
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as e:
        raise ConfigError(f"cannot parse overrides: {' '.join(str(e).split())[:300]}") from None
    fixed, axes = [], []
    for o in parsed:
        if not o.is_sweep_override():
            fixed.append(o.input_line)
            continue
        key = o.get_key_element()
        if type(o.value()).__name__ == "Glob":
            options = group_options(package, o.key_or_group)
            values = list(o.value().filter(options))
        else:
            values = list(o.sweep_string_iterator())
        if not values:
            raise ConfigError(f"{o.input_line!r} sweeps over no values")
        axes.append((key, values))
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"a key is swept twice: {', '.join(keys)}")
    if any(k.lstrip("+").startswith("launcher") for k in keys):
        raise ConfigError("the launcher cannot be swept; choose one with --launcher")
    return Grid(fixed, axes)


def _slug(text: str, limit: int = 60) -> str:
    text = re.sub(r"[^A-Za-z0-9=.,_+-]+", "-", text).strip("-")
    return text[:limit]


def run_name(swept: list[str]) -> str:
    """A readable directory name for one combination, e.g. width=256_r=0.5."""
    name = _slug("_".join(s.lstrip("+") for s in swept), limit=100)
    if len(name) >= 100:
        name = name[:80] + "-" + _digest(swept)
    return name or "run"


def _digest(items) -> str:
    return hashlib.sha256("\x00".join(items).encode()).hexdigest()[:8]


def identity(overrides: list[str]) -> list[str]:
    """The overrides that decide the results: the launcher choice does not."""
    return [o for o in overrides if not o.lstrip("+~").startswith("launcher")]


def default_name(overrides: list[str]) -> str:
    """Deterministic run/sweep id: 'default', or a slug of the overrides plus a short hash."""
    ident = identity(overrides)
    if not ident:
        return "default"
    return f"{_slug('_'.join(o.lstrip('+') for o in ident), 48)}-{_digest(ident)}"


def write_sweep_file(sweep_dir: Path, experiment: str, grid: Grid, names: list[str]) -> None:
    """sweep.json: the grid and each run's current status (rewritten as runs finish)."""
    atomic_write_json(sweep_dir / SWEEP_FILE, {
        "experiment": experiment,
        "fixed": grid.fixed,
        "axes": {k: v for k, v in grid.axes},
        "runs": {n: status(sweep_dir / n) for n in names},
    })


def sweep_runs(sweep_dir: Path) -> list[Path]:
    """The run directories of a sweep (from sweep.json when present)."""
    info = read_json(sweep_dir / SWEEP_FILE)
    if info:
        return [sweep_dir / n for n in info["runs"]]
    return sorted(p.parent for p in sweep_dir.glob(f"*/{RUN_FILE}"))
