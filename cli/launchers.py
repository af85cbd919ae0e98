"""Launchers: each runs a list of prepared run directories through the same `execute`.

The launcher is chosen in one place, the config group `launcher` (`configs/launcher/*.yaml`):
`--launcher ray` is the override `launcher=ray`, `--jobs N` is `launcher.jobs=N`, and what runs is
the composed `cfg.launcher` node, so the options and the group can never disagree.

local  serial in this process, or `jobs` worker processes;
slurm  submitit job array (cluster=local runs submitit's local executor, used by the tests);
ray    tasks on a local Ray or a running cluster.
submitit and ray are optional extras, imported only when asked for. Every launcher returns what
`execute` returned per run (HELD: another process holds it), or None where it cannot know yet
(a SLURM array submitted without waiting).
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute

LAUNCHERS = ("local", "slurm", "ray")
EXTRAS = {"slurm": "submitit", "ray": "ray"}


def chosen(overrides: list[str]) -> str:
    """The launcher a command's overrides choose (the group default is local); two choices are refused."""
    picks = [o.split("=", 1)[1] for o in overrides if o.lstrip("+").startswith("launcher=")]
    if len(set(picks)) > 1:
        raise ConfigError(f"launcher={picks[-1]!r} is invalid: two launchers were chosen ({', '.join(picks)}); "
                          f"valid: one --launcher or launcher= option")
    return picks[-1] if picks else "local"


def require_extra(name: str) -> None:
    """Fail early, before anything is written, when the launcher's extra is not installed."""
    module = EXTRAS.get(name)
    if module is None:
        return
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(
            f"launcher={name} needs the optional package {module!r}; install it with: pip install 'repro[{name}]'"
        ) from None


def check_settings(s) -> None:
    """The composed launcher node, checked before anything is written."""
    if s.name == "local":
        jobs = s.get("jobs")
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"launcher.jobs={jobs!r} is invalid: runs at once; valid: a positive integer (--jobs N)")
    require_extra(s.name)


def launch(experiment: str, tasks: list[tuple[Path, int | None]], s, log_dir: Path, force: bool = False
           ) -> dict[Path, str | None]:
    """Run every (run directory, attempt seen) task with the launcher node `s`; per-run outcomes land
    in each run.json, and the returned dict holds what execute returned for each directory."""
    if not tasks:
        return {}
    args = [(experiment, str(d), force, False, seen) for d, seen in tasks]
    if s.name == "local":
        results = _serial(args) if s.jobs <= 1 else _parallel(args, s.jobs)
    elif s.name == "slurm":
        results = _slurm(args, s, log_dir)
    elif s.name == "ray":
        results = _ray(args, s)
    else:
        raise ConfigError(f"launcher={s.name!r} is invalid; valid choices: {', '.join(LAUNCHERS)}")
    return {Path(a[1]): r for a, r in zip(args, results)}


def _serial(args: list[tuple]) -> list:
    out = []
    for i, a in enumerate(args, 1):
        print(f"[{i}/{len(args)}] {a[1]}", file=sys.stderr, flush=True)
        out.append(execute(*a))
    return out


def _init_worker(threads: int) -> None:
    # N processes on C cores: split the cores so workers do not oversubscribe each other.
    import torch

    torch.set_num_threads(threads)


def _parallel(args: list[tuple], jobs: int) -> list:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = get_context("spawn")  # fork after torch/OpenMP initialisation can deadlock
    results: dict[int, str] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(execute, *a): i for i, a in enumerate(args)}
        for n, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()  # execute records failures itself; raises only on worker crashes
            print(f"[{n}/{len(args)}] finished {args[futures[fut]][1]}", file=sys.stderr, flush=True)
    return [results[i] for i in range(len(args))]


def _slurm(args: list[tuple], s, log_dir: Path) -> list:
    import submitit

    executor = submitit.AutoExecutor(folder=str(log_dir / "submitit" / "%j"), cluster=s.get("cluster"))
    params = {"timeout_min": s.timeout_min, "cpus_per_task": s.cpus_per_task, "mem_gb": s.mem_gb,
              "gpus_per_node": s.gpus_per_task, "slurm_array_parallelism": s.array_parallelism}
    if s.get("partition"):
        params["slurm_partition"] = s.partition
    if s.get("additional_parameters"):
        params["slurm_additional_parameters"] = dict(s.additional_parameters)
    executor.update_parameters(**params)
    jobs = executor.map_array(execute, *map(list, zip(*args)))
    print(f"submitted {len(jobs)} task(s) with submitit ({executor.cluster}); logs in {log_dir / 'submitit'}",
          file=sys.stderr, flush=True)
    if not s.get("wait", True):
        return [None] * len(jobs)
    out = []
    for job in jobs:
        try:
            out.append(job.result())
        except Exception as e:  # the task died outside execute (timeout, node failure)
            print(f"task {job.job_id} ended abnormally: {str(e).splitlines()[0] if str(e) else e!r}", file=sys.stderr)
            out.append(None)
    return out


def _ray(args: list[tuple], s) -> list:
    import ray

    if not ray.is_initialized():
        ray.init(address=s.get("address"), include_dashboard=False, log_to_driver=True)
    remote = ray.remote(num_cpus=s.num_cpus_per_run, num_gpus=s.num_gpus_per_run)(execute)
    refs = [remote.remote(*a) for a in args]
    out = []
    for a, ref in zip(args, refs):
        try:
            out.append(ray.get(ref))
        except Exception as e:  # the worker died outside execute (killed, out of memory)
            print(f"ray task for {a[1]} ended abnormally: {str(e).splitlines()[0] if str(e) else e!r}", file=sys.stderr)
            out.append(None)
    return out
