"""From one command to finished run directories: expand, compose and validate every run, prepare the
directories, launch, then report. Nothing is written until every run of the grid has validated."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from repro.experiments.common.atomic import read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import CONFIG_FILE, DONE, FAILED, INTERRUPTED, experiment_module, status

from .compose import compose_config
from .launchers import LAUNCHERS, launch, require_extra
from .registry import Experiment
from .sweep import default_name, expand, write_sweep_file


@dataclass
class CommonOptions:
    out: Path | None
    name: str | None
    device: str | None
    seed: int | None
    data_dir: Path | None
    jobs: int
    launcher: str
    dry_run: bool
    force: bool

    def overrides(self) -> list[str]:
        out = []
        if self.device is not None:
            out.append(f"device={self.device}")
        if self.seed is not None:
            out.append(f"seed={self.seed}")
        if self.data_dir is not None:
            if not Path(self.data_dir).expanduser().is_dir():
                raise ConfigError(f"--data-dir {str(self.data_dir)!r} is not an existing directory")
            out.append(f"data_dir={Path(self.data_dir).expanduser().resolve()}")
        if self.launcher != "local":
            out.append(f"launcher={self.launcher}")
        return out


def output_root(out: Path | None) -> Path:
    return Path(out or os.environ.get("REPRO_OUTPUT_DIR") or "outputs").expanduser()


def _check_options(opts: CommonOptions) -> None:
    if opts.launcher not in LAUNCHERS:
        raise ConfigError(f"--launcher {opts.launcher!r} is invalid; valid choices: {', '.join(LAUNCHERS)}")
    if opts.jobs < 1:
        raise ConfigError(f"--jobs {opts.jobs} is invalid: it must be a positive integer")
    if opts.device is not None and opts.device not in ("auto", "cpu", "cuda") and not opts.device.startswith("cuda:"):
        raise ConfigError(f"--device {opts.device!r} is invalid; valid choices: auto, cpu, cuda")
    require_extra(opts.launcher)


def _check_data_dir(cfg) -> None:
    """A data folder named in the config must exist, whether or not this run reads it."""
    value = cfg.get("data_dir")
    if value and not Path(str(value)).expanduser().is_dir():
        raise ConfigError(f"data_dir={value!r} is not an existing directory; point it at a data folder or drop it")


def prepare(exp: Experiment, overrides: list[str]):
    """Compose and validate every combination; returns (grid, [(name, cfg)]). Raises ConfigError."""
    grid = expand(exp.package, overrides)
    validate = experiment_module(exp.package).validate
    runs = []
    for name, combo in grid.runs():
        try:
            cfg = compose_config(exp.package, combo)
            _check_data_dir(cfg)
            validate(cfg)
        except ConfigError as e:
            where = f" (in run {name})" if grid.is_sweep else ""
            raise ConfigError(f"{e}{where}") from None
        runs.append((name, cfg))
    return grid, runs


def launch_experiment(exp: Experiment, overrides: list[str], opts: CommonOptions) -> int:
    """Run (or resume) one command's runs; returns the exit code."""
    _check_options(opts)
    overrides = overrides + opts.overrides()
    grid, runs = prepare(exp, overrides)
    target = output_root(opts.out) / exp.package / (opts.name or default_name(overrides))
    run_dirs = {name: (target / name if grid.is_sweep else target) for name, _ in runs}
    if opts.dry_run:
        _print_grid(grid, runs, run_dirs)
        print(target, flush=True)
        return 0

    pending = []
    for name, cfg in runs:
        d = run_dirs[name]
        if status(d) == DONE and not opts.force:
            continue
        d.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(cfg, d / CONFIG_FILE)
        pending.append(d)
    skipped = len(runs) - len(pending)
    if skipped:
        print(f"resuming: {skipped} of {len(runs)} run(s) already done, {len(pending)} to run", file=sys.stderr)
    if grid.is_sweep:
        write_sweep_file(target, exp.package, grid, list(run_dirs))

    settings = runs[0][1].launcher
    try:
        launch(opts.launcher, exp.package, pending, settings, opts.jobs, target)
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept. Run the same command again to resume.", file=sys.stderr)
        print(target, flush=True)
        return 130
    finally:
        if grid.is_sweep:
            write_sweep_file(target, exp.package, grid, list(run_dirs))
    return _report(run_dirs, target, opts)


def _print_grid(grid, runs, run_dirs) -> None:
    keys = [k for k, _ in grid.axes]
    print(f"{len(runs)} run(s); fixed overrides: {' '.join(grid.fixed) or '(none)'}")
    for name, _ in runs:
        print(f"  {status(run_dirs[name]):<11} {run_dirs[name]}")
    if keys:
        print(f"swept: {', '.join(f'{k} ({len(v)})' for k, v in grid.axes)}")


def _report(run_dirs: dict, target: Path, opts: CommonOptions) -> int:
    states = {n: status(d) for n, d in run_dirs.items()}
    bad = {n: s for n, s in states.items() if s in (FAILED, INTERRUPTED)}
    done = sum(s == DONE for s in states.values())
    waiting = len(states) - done - len(bad)
    print(f"{done}/{len(states)} run(s) done" + (f", {waiting} still queued or running" if waiting else ""), file=sys.stderr)
    for n, s in bad.items():
        err = (read_json(run_dirs[n] / "run.json") or {}).get("error", "")
        print(f"  {s}: {run_dirs[n]}  {err}", file=sys.stderr)
    print(target, flush=True)
    return 1 if bad else 0
