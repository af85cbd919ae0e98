"""Looking at finished work: `repro runs` (list), `repro plot` (figures), `repro aggregate` (tidy table)."""
from __future__ import annotations

from pathlib import Path

from repro.experiments.common.atomic import read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import CONFIG_FILE, RUN_FILE, SUMMARY_FILE, experiment_module

from .sweep import SWEEP_FILE, sweep_runs


def _require_dir(path: Path) -> Path:
    if not Path(path).is_dir():
        raise ConfigError(f"{str(path)!r} is not a directory; pass a run or sweep directory")
    return Path(path)


def find_runs(root: Path) -> list[Path]:
    """Every run directory (one holding config.yaml) at or below root."""
    root = _require_dir(root)
    if (root / CONFIG_FILE).exists():
        return [root]
    return sorted(p.parent for p in root.rglob(CONFIG_FILE))


def _experiment_of(run_dir: Path) -> str:
    info = read_json(run_dir / RUN_FILE) or {}
    if "experiment" in info:
        return info["experiment"]
    sweep = read_json(run_dir.parent / SWEEP_FILE) or {}
    if "experiment" in sweep:
        return sweep["experiment"]
    raise ConfigError(f"cannot tell which experiment wrote {run_dir} (no run.json)")


def listing(root: Path) -> str:
    runs = find_runs(root) if Path(root).exists() else []
    if not runs:
        return f"no runs under {root}"
    lines = [f"{'status':<12}{'wall':>10}  {'experiment':<10}  run"]
    for d in runs:
        info = read_json(d / RUN_FILE) or {}
        wall = info.get("wall_seconds")
        lines.append(f"{info.get('status', 'pending'):<12}{(f'{wall:.1f}s' if wall is not None else '-'):>10}  "
                     f"{info.get('experiment', '?'):<10}  {d}")
    return "\n".join(lines)


def plot(directory: Path) -> list[Path]:
    """Figures of one run, or of every run of a sweep plus the sweep's own figures."""
    directory = _require_dir(directory)
    runs = [directory] if (directory / CONFIG_FILE).exists() else sweep_runs(directory)
    runs = [r for r in runs if (r / SUMMARY_FILE).exists()]
    if not runs:
        raise ConfigError(f"no finished runs in {directory}")
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
    """One row per run: run id, status, wall time, flattened config and summary scalars."""
    import pandas as pd
    from omegaconf import OmegaConf

    rows = []
    for d in runs:
        info = read_json(d / RUN_FILE) or {}
        row = {"run": d.name, "status": info.get("status", "pending"), "wall_seconds": info.get("wall_seconds")}
        cfg = OmegaConf.to_container(OmegaConf.load(d / CONFIG_FILE), resolve=True)
        _flatten("config", cfg, row)
        _flatten("summary", read_json(d / SUMMARY_FILE) or {}, row)
        rows.append(row)
    return pd.DataFrame(rows)


def aggregate(directory: Path) -> list[Path]:
    directory = _require_dir(directory)
    runs = sweep_runs(directory) if (directory / SWEEP_FILE).exists() else find_runs(directory)
    if not runs:
        raise ConfigError(f"no runs in {directory}")
    df = table(runs)
    csv, parquet = directory / "aggregate.csv", directory / "aggregate.parquet"
    df.to_csv(csv, index=False)
    df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(parquet, index=False)
    return [csv, parquet]
