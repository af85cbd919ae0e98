"""Looking at finished work: `repro runs` (list), `repro plot` (figures), `repro aggregate` (tidy table).

Only verified runs (run.json done, summary.json readable with the config's hash) are plotted or
aggregated; the others are named in one stderr line. A damaged run.json, sweep.json, summary.json
or config.yaml is named and treated as missing, never a crash.
"""
from __future__ import annotations

import sys
from pathlib import Path

from repro.experiments.common.atomic import read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import (CONFIG_FILE, DONE, LOCK_FILE, RUN_FILE, RUNNING, SUMMARY_FILE, SWEEP_FILE,
                                             experiment_module, is_held, load_config, run_info, status)

from .sweep import sweep_runs


def _require_dir(path: Path) -> Path:
    if not Path(path).is_dir():
        raise ConfigError(f"{str(path)!r} is invalid: not a directory; valid: a run or sweep directory")
    return Path(path)


def find_runs(root: Path) -> list[Path]:
    """Every run directory (one holding config.yaml, run.json or a run lock) at or below root."""
    root = _require_dir(root)
    marks = (CONFIG_FILE, RUN_FILE, LOCK_FILE)
    if any((root / m).exists() for m in marks):
        return [root]
    return sorted({p.parent for name in marks for p in root.rglob(name)})


def _runs_of(directory: Path) -> list[Path]:
    directory = _require_dir(directory)
    if (directory / SWEEP_FILE).exists():
        return sweep_runs(directory)
    return find_runs(directory)


def _experiment_of(run_dir: Path) -> str:
    info = run_info(run_dir)
    if "experiment" in info:
        return info["experiment"]
    sweep = read_json(run_dir.parent / SWEEP_FILE, {}, expect=dict)
    if "experiment" in sweep:
        return sweep["experiment"]
    raise ConfigError(f"{str(run_dir)!r} is invalid: cannot tell which experiment wrote it (no readable run.json)")


def shown_status(run_dir: Path) -> str:
    """The status `repro runs` shows: held while a process holds the run, stale for a 'running'
    run.json that no process holds any more (it died), else the verified status."""
    if is_held(run_dir):
        return "held"
    s = status(run_dir)
    return "stale" if s == RUNNING else s


def listing(root: Path) -> str:
    runs = find_runs(root)
    if not runs:
        return f"no runs under {root}"
    lines = [f"{'status':<12}{'wall':>10}  {'experiment':<10}  run"]
    for d in runs:
        info = run_info(d)
        wall = info.get("wall_seconds")
        wall = f"{wall:.1f}s" if isinstance(wall, (int, float)) else "-"
        lines.append(f"{shown_status(d):<12}{wall:>10}  {str(info.get('experiment', '?')):<10}  {d}")
    return "\n".join(lines)


def _finished(runs: list[Path], directory: Path) -> list[Path]:
    done = [r for r in runs if status(r) == DONE]
    skipped = [r.name for r in runs if r not in done]
    if skipped:
        print(f"skipping {len(skipped)} run(s) not verified done: {', '.join(skipped[:5])}"
              + (" ..." if len(skipped) > 5 else ""), file=sys.stderr)
    if not done:
        raise ConfigError(f"{str(directory)!r} is invalid: no finished runs in it; valid: a run or sweep directory "
                          f"with done runs (see `repro runs {directory}`)")
    return done


def plot(directory: Path) -> list[Path]:
    """Figures of one run, or of every run of a sweep plus the sweep's own figures."""
    runs = _finished(_runs_of(directory), directory)
    paths: list[Path] = []
    plots = experiment_module(_experiment_of(runs[0]), "plots")
    for r in runs:
        paths += plots.plot_run(r)
    if (directory / SWEEP_FILE).exists() and hasattr(plots, "plot_sweep"):
        paths += plots.plot_sweep(directory, runs)
    return paths


def _flatten(prefix: str, obj, out: dict) -> dict:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, list) and len(obj) > 8:
        return out  # long arrays (curves) stay in the run's own files
    else:
        out[prefix] = obj if not isinstance(obj, list) else str(obj)
    return out


def table(runs: list[Path]):
    """One row per verified run: run id, status, wall time, flattened config and summary scalars."""
    import pandas as pd
    from omegaconf import OmegaConf

    rows = []
    for d in runs:
        info = run_info(d)
        row = {"run": d.name, "status": info.get("status"), "wall_seconds": info.get("wall_seconds")}
        _flatten("config", OmegaConf.to_container(load_config(d), resolve=True), row)
        _flatten("summary", read_json(d / SUMMARY_FILE, {}, expect=dict), row)
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate(directory: Path) -> list[Path]:
    directory = _require_dir(directory)
    df = table(_finished(_runs_of(directory), directory))
    csv, parquet = directory / "aggregate.csv", directory / "aggregate.parquet"
    df.to_csv(csv, index=False)
    df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(parquet, index=False)
    return [csv, parquet]
