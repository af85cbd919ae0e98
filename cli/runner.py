"""From one command to finished run directories: check the options, expand, compose and validate
every run, prepare the directories, launch, then report. Nothing is written until every run of the
grid has validated (checks.py holds the checks that are not an experiment's own)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from repro.experiments.common.atomic import atomic_write_text, read_json
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import (CONFIG_FILE, DONE, FAILED, HELD, INTERRUPTED, SWEEP_FILE, RunLock,
                                             config_hash, execute, experiment_module, is_held, recorded_hash,
                                             run_info, status, verified)

from . import checks
from .compose import compose_config
from .launchers import check_settings, chosen, launch
from .registry import Experiment
from .sweep import (MAX_RUNS, check_name, expand, run_dir_name, single_run_name, sweep_identity, sweep_name,
                    write_sweep_file)


@dataclass
class CommonOptions:
    out: Path | None
    name: str | None
    device: str | None
    seed: int | None
    data_dir: Path | None
    jobs: int | None
    launcher: str | None
    dry_run: bool
    force: bool
    max_runs: int = MAX_RUNS

    def overrides(self) -> list[str]:
        out = []
        if self.device is not None:
            out.append(f"device={self.device}")
        if self.seed is not None:
            out.append(f"seed={self.seed}")
        if self.data_dir is not None:
            out.append(f"data_dir={Path(self.data_dir).expanduser().resolve()}")
        if self.launcher is not None:
            out.append(f"launcher={self.launcher}")
        if self.jobs is not None:
            out.append(f"launcher.jobs={self.jobs}")
        return out


@dataclass
class Run:
    name: str  # directory name inside a sweep (slug-hash)
    cfg: object
    digest: str  # config_hash(cfg)


def _check_options(opts: CommonOptions, overrides: list[str]) -> None:
    if opts.name is not None:
        check_name(opts.name)
    checks.output_root(opts.out)
    if opts.max_runs < 1:
        raise ConfigError(f"--max-runs={opts.max_runs} is invalid: the cap on runs; valid: a positive integer")
    if opts.data_dir is not None and not Path(opts.data_dir).expanduser().is_dir():
        raise ConfigError(f"--data-dir={str(opts.data_dir)!r} is invalid: not an existing directory; valid: a data folder")
    if opts.device is not None:
        checks.device_name(opts.device, "--device")
    launcher = chosen(overrides)
    if opts.jobs is not None and launcher != "local":
        raise ConfigError(f"--jobs={opts.jobs} is invalid with launcher={launcher}: it sets the local launcher's "
                          f"processes; valid: drop it (slurm: launcher.array_parallelism, ray: launcher.num_cpus_per_run)")


def prepare(exp: Experiment, overrides: list[str], max_runs: int = MAX_RUNS):
    """Compose and validate every combination; returns (grid, [Run]). Raises ConfigError."""
    grid = expand(exp.package, overrides, max_runs)
    validate = experiment_module(exp.package).validate
    runs = []
    for slug, combo in grid.runs():
        try:
            cfg = compose_config(exp.package, combo)
            check_settings(cfg.launcher)
            checks.run_config(cfg)
            validate(cfg)
            checks.memory(exp.package, cfg)
        except ConfigError as e:
            raise ConfigError(f"{e}" + (f" (in run {slug})" if grid.is_sweep else "")) from None
        digest = config_hash(cfg)
        runs.append(Run(run_dir_name(slug, digest), cfg, digest))
    return grid, runs


def _target(exp: Experiment, overrides: list[str], opts: CommonOptions, grid, runs: list[Run]) -> Path:
    root = checks.output_root(opts.out) / exp.package
    if opts.name:
        return root / opts.name
    return root / (sweep_name(overrides) if grid.is_sweep else single_run_name(overrides, runs[0].digest))


def _check_reuse(target: Path, grid, runs: list[Run], opts: CommonOptions) -> None:
    """A folder named again with --name must hold the same work, unless --force replaces it. (Default
    names carry the config's hash, or for sweeps the overrides' text, so they cannot mix work.)"""
    if opts.force or not opts.name or not target.exists() or not any(target.iterdir()):
        return
    what = "--name " + opts.name
    if grid.is_sweep:
        info = read_json(target / SWEEP_FILE, None, expect=dict)
        same = info is not None and info.get("identity") == sweep_identity({r.name: r.digest for r in runs})
        if info is None and (target / CONFIG_FILE).exists():
            raise ConfigError(f"{what} already holds a single run, not a sweep; choose a new --name")
        if info is not None and not same:
            raise ConfigError(f"{what} already holds a sweep with a different grid or config; choose a new --name, "
                              f"or pass --force to run this sweep there (finished runs of the same config are kept)")
        return
    recorded = recorded_hash(target)
    if recorded is None and (target / SWEEP_FILE).exists():
        raise ConfigError(f"{what} already holds a sweep, not a single run; choose a new --name")
    if recorded is not None and recorded != runs[0].digest:
        raise ConfigError(f"{what} already holds a run of a different config (hash {recorded} vs {runs[0].digest}); "
                          f"choose a new --name, or pass --force to replace it (its old metrics and summary are kept "
                          f"as *.attempt-N files)")


def launch_experiment(exp: Experiment, overrides: list[str], opts: CommonOptions) -> int:
    """Run (or resume) one command's runs; returns the exit code."""
    overrides = overrides + opts.overrides()
    _check_options(opts, overrides)
    grid, runs = prepare(exp, overrides, opts.max_runs)
    target = _target(exp, overrides, opts, grid, runs)
    _check_reuse(target, grid, runs, opts)
    dirs = {r.name: (target / r.name if grid.is_sweep else target) for r in runs}
    if opts.dry_run:
        _print_grid(grid, runs, dirs)
        print(target, flush=True)
        return 0

    tasks, held = _prepare_dirs(runs, dirs, opts.force)
    if len(tasks) + len(held) < len(runs):
        print(f"resuming: {len(runs) - len(tasks) - len(held)} of {len(runs)} run(s) already done, "
              f"{len(tasks) + len(held)} to run", file=sys.stderr)
    hashes = {r.name: r.digest for r in runs}
    if grid.is_sweep:
        write_sweep_file(target, exp.package, grid, hashes)
    try:
        results = launch(exp.package, tasks, runs[0].cfg.launcher, target, opts.force)
        held += [d for d, s in results.items() if s == HELD]
        if held:
            print(f"waiting for {len(held)} run(s) another process holds", file=sys.stderr, flush=True)
            for d in held:  # blocks on the lock; runs it here only if the holder died before finishing
                execute(exp.package, d, wait=True)
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept. Run the same command again to resume.", file=sys.stderr)
        print(target, flush=True)
        return 130
    finally:
        if grid.is_sweep:
            write_sweep_file(target, exp.package, grid, hashes)
    return _report(runs, dirs, target)


def _prepare_dirs(runs: list[Run], dirs: dict, force: bool) -> tuple[list, list]:
    """Write config.yaml for every run to do; returns ([(dir, attempt seen)], [dirs another process holds])."""
    tasks, held = [], []
    for r in runs:
        d = dirs[r.name]
        done = not force and verified(d, r.digest)
        if done and recorded_hash(d) == r.digest:
            continue
        lock = RunLock(d)
        if not lock.acquire():
            held.append(d)
            continue
        try:
            if recorded_hash(d) != r.digest:  # new, replaced (--force), or a damaged config.yaml of a done run
                atomic_write_text(d / CONFIG_FILE, OmegaConf.to_yaml(r.cfg))
            if not done:
                seen = run_info(d).get("attempts")
                tasks.append((d, seen if isinstance(seen, int) else 0))
        finally:
            lock.release()
    return tasks, held


def _print_grid(grid, runs: list[Run], dirs: dict) -> None:
    print(f"{len(runs)} run(s); fixed overrides: {' '.join(grid.fixed) or '(none)'}")
    for r in runs:
        print(f"  {status(dirs[r.name], r.digest):<11} {dirs[r.name]}")
    if grid.axes:
        print(f"swept: {', '.join(f'{k} ({len(v)})' for k, v in grid.axes)}")


def _report(runs: list[Run], dirs: dict, target: Path) -> int:
    states = {r.name: status(dirs[r.name], r.digest) for r in runs}
    bad = {n: s for n, s in states.items() if s in (FAILED, INTERRUPTED)}
    done = sum(s == DONE for s in states.values())
    waiting = len(states) - done - len(bad)
    held = sum(is_held(dirs[n]) for n in states if states[n] not in (DONE, FAILED, INTERRUPTED))
    print(f"{done}/{len(states)} run(s) done" + (f", {waiting} still queued or running" if waiting else "")
          + (f" ({held} held by another process)" if held else ""), file=sys.stderr)
    for n, s in bad.items():
        print(f"  {s}: {dirs[n]}  {run_info(dirs[n]).get('error', '')}", file=sys.stderr)
    print(target, flush=True)
    return 1 if bad else 0
