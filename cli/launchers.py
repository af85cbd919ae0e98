"""Launchers: each runs a list of prepared run directories through the same `execute`.

local  serial in this process, or N worker processes (--jobs N);
slurm  submitit job array (cluster=local runs submitit's local executor, used by the tests);
ray    tasks on a local Ray or a running cluster.
submitit and ray are optional extras, imported only when asked for.
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


def launch(name: str, experiment: str, run_dirs: list[Path], settings, jobs: int, log_dir: Path) -> None:
    """Run every directory; per-run outcomes land in each run.json."""
    if not run_dirs:
        return
    if name == "local":
        _serial(experiment, run_dirs) if jobs <= 1 else _parallel(experiment, run_dirs, jobs)
    elif name == "slurm":
        _slurm(experiment, run_dirs, settings, log_dir)
    elif name == "ray":
        _ray(experiment, run_dirs, settings)
    else:
        raise ConfigError(f"launcher={name!r} is invalid; valid choices: {', '.join(LAUNCHERS)}")


def require_extra(name: str) -> None:
    """Fail early, before anything is written, when the launcher's extra is not installed."""
    module, extra = {"slurm": ("submitit", "slurm"), "ray": ("ray", "ray")}.get(name, (None, None))
    if module is None:
        return
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(
            f"--launcher {name} needs the optional package {module!r}; install it with: pip install 'repro[{extra}]'"
        ) from None


def _serial(experiment: str, run_dirs: list[Path]) -> None:
    for i, run_dir in enumerate(run_dirs, 1):
        print(f"[{i}/{len(run_dirs)}] {run_dir}", file=sys.stderr, flush=True)
        execute(experiment, run_dir)


def _init_worker(threads: int) -> None:
    # N processes on C cores: split the cores so workers do not oversubscribe each other.
    import torch

    torch.set_num_threads(threads)


def _parallel(experiment: str, run_dirs: list[Path], jobs: int) -> None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = get_context("spawn")  # fork after torch/OpenMP initialisation can deadlock
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(execute, experiment, d): d for d in run_dirs}
        for i, fut in enumerate(as_completed(futures), 1):
            fut.result()  # execute records failures itself; this raises only on worker crashes
            print(f"[{i}/{len(run_dirs)}] finished {futures[fut]}", file=sys.stderr, flush=True)


def _slurm(experiment: str, run_dirs: list[Path], s, log_dir: Path) -> None:
    import submitit

    executor = submitit.AutoExecutor(folder=str(log_dir / "submitit" / "%j"), cluster=s.get("cluster"))
    params = {"timeout_min": s.timeout_min, "cpus_per_task": s.cpus_per_task, "mem_gb": s.mem_gb,
              "gpus_per_node": s.gpus_per_task, "slurm_array_parallelism": s.array_parallelism}
    if s.get("partition"):
        params["slurm_partition"] = s.partition
    if s.get("additional_parameters"):
        params["slurm_additional_parameters"] = dict(s.additional_parameters)
    executor.update_parameters(**params)
    jobs = executor.map_array(execute, [experiment] * len(run_dirs), [str(d) for d in run_dirs])
    print(f"submitted {len(jobs)} task(s) with submitit ({executor.cluster}); logs in {log_dir / 'submitit'}",
          file=sys.stderr, flush=True)
    if not s.get("wait", True):
        return
    for job in jobs:
        try:
            job.result()
        except Exception as e:  # the task died outside execute (timeout, node failure)
            print(f"task {job.job_id} ended abnormally: {str(e).splitlines()[0] if str(e) else e!r}", file=sys.stderr)


def _ray(experiment: str, run_dirs: list[Path], s) -> None:
    import ray

    ray.init(address=s.get("address"), ignore_reinit_error=True)
    remote = ray.remote(num_cpus=s.num_cpus_per_run, num_gpus=s.num_gpus_per_run)(execute)
    ray.get([remote.remote(experiment, str(d)) for d in run_dirs])
