"""The run directory contract: config.yaml, run.json, metrics.jsonl, summary.json, figures/.

`execute(experiment, run_dir)` is the one entry every launcher calls: it takes the run's lock, reads
config.yaml, marks the run running, seeds, calls the experiment's `run(cfg, run_dir)`, writes
summary.json atomically (with the config's hash) and marks the run done, failed (with traceback) or
interrupted (Ctrl-C). Everything logged so far stays.

Trust rules, in one place:
- identity: `config_hash(cfg)` hashes the canonical resolved config, less the launcher node (where a
  run executes changes no result). Run directories are named by it, summary.json records it.
- done means verified: run.json says done AND summary.json parses AND carries the config's hash.
  Anything less is redone.
- one writer: an exclusive `flock` on `<run>/.lock`, held for the run's whole life and released by
  the kernel if the process dies. A second process skips (or waits for) a held run.
- attempts apart: an attempt starts by renaming the previous attempt's `metrics.jsonl` and
  `summary.json` to `metrics.attempt-N.jsonl` / `summary.attempt-N.json` (N = that attempt), so
  `metrics.jsonl` only ever holds the latest attempt and every reader reads just that file.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .atomic import atomic_write_json, read_json, report_once

CONFIG_FILE, RUN_FILE, SUMMARY_FILE, FIGURES_DIR = "config.yaml", "run.json", "summary.json", "figures"
SWEEP_FILE, LOCK_FILE, SWEEP_LOCK_FILE = "sweep.json", ".lock", ".sweep.lock"
DONE, RUNNING, FAILED, INTERRUPTED, PENDING = "done", "running", "failed", "interrupted", "pending"
HELD = "held"  # another process holds the run's lock (execute returns it; `repro runs` shows it)
IDENTITY_EXCLUDES = ("launcher",)  # config nodes that change where a run executes, not what it computes


def experiment_module(experiment: str, part: str = "run"):
    """repro.experiments.<experiment>.<part>, e.g. the run or plots module."""
    return importlib.import_module(f"repro.experiments.{experiment}.{part}")


# --- identity -----------------------------------------------------------------------------------

def config_hash(cfg) -> str:
    """16 hex digits of sha256 over the canonical resolved config (sorted keys, no launcher node).

    The config goes through its YAML text first, so the hash of a composed config equals the hash of
    the config.yaml saved from it."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(OmegaConf.create(OmegaConf.to_yaml(cfg)), resolve=True)
    plain = {k: v for k, v in plain.items() if k not in IDENTITY_EXCLUDES}
    blob = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_config(run_dir: str | os.PathLike):
    from omegaconf import OmegaConf

    return OmegaConf.load(Path(run_dir) / CONFIG_FILE)


def recorded_hash(run_dir: str | os.PathLike) -> str | None:
    """The hash of the config.yaml a run directory holds (None if it has none or it is unreadable)."""
    try:
        return config_hash(load_config(run_dir))
    except Exception as e:  # noqa: BLE001 - a damaged config.yaml is reported and treated as missing
        if (Path(run_dir) / CONFIG_FILE).exists():
            print(f"warning: {Path(run_dir) / CONFIG_FILE} is unreadable ({type(e).__name__}); treating it as missing",
                  file=sys.stderr)
        return None


# --- status: done means verified ------------------------------------------------------------------

def run_info(run_dir: str | os.PathLike) -> dict:
    return read_json(Path(run_dir) / RUN_FILE, {}, expect=dict)


def verified(run_dir: str | os.PathLike, expected_hash: str | None = None) -> bool:
    """run.json says done, summary.json parses and carries the hash of the run's config."""
    run_dir = Path(run_dir)
    if run_info(run_dir).get("status") != DONE:
        return False
    summary = read_json(run_dir / SUMMARY_FILE, None, expect=dict)
    want = expected_hash or recorded_hash(run_dir)
    if summary is not None and want is not None and summary.get("config_hash") == want:
        return True
    why = "is missing or unreadable" if summary is None else "carries another config's hash"
    report_once(f"verify:{run_dir}", f"note: {run_dir} says done but its {SUMMARY_FILE} {why}; it is not trusted")
    return False


def status(run_dir: str | os.PathLike, expected_hash: str | None = None) -> str:
    """done (verified), failed, interrupted, running or pending; an unverified 'done' is pending."""
    recorded = run_info(run_dir).get("status", PENDING)
    if recorded == DONE:
        return DONE if verified(run_dir, expected_hash) else PENDING
    return recorded if recorded in (RUNNING, FAILED, INTERRUPTED) else PENDING


# --- one writer per run ---------------------------------------------------------------------------

class RunLock:
    """An exclusive flock on <dir>/.lock. The kernel drops it when the holding process dies."""

    def __init__(self, directory: str | os.PathLike, name: str = LOCK_FILE):
        self.path = Path(directory) / name
        self._fd: int | None = None

    def acquire(self, wait: bool = False) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire(wait=True)
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def is_held(run_dir: str | os.PathLike) -> bool:
    """Whether some process holds the run's lock right now (a shared probe, released at once)."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def update_sweep(sweep_dir: str | os.PathLike, change) -> None:
    """Read-modify-write sweep.json under the sweep's own lock: change(info) edits the dict in place.
    A missing or unreadable sweep.json is left to the runner, which rewrites it whole."""
    sweep_dir = Path(sweep_dir)
    with RunLock(sweep_dir, SWEEP_LOCK_FILE):
        info = read_json(sweep_dir / SWEEP_FILE, None, expect=dict)
        if info is None:
            return
        change(info)
        atomic_write_json(sweep_dir / SWEEP_FILE, info)


def _record_in_sweep(run_dir: Path, state: str) -> None:
    if not (run_dir.parent / SWEEP_FILE).exists():
        return

    def change(info):
        runs = info.get("runs")
        if isinstance(runs, dict) and run_dir.name in runs:
            runs[run_dir.name] = state

    update_sweep(run_dir.parent, change)


# --- attempts apart -------------------------------------------------------------------------------

ARCHIVED = re.compile(r"^(?:metrics|summary)\.attempt-(\d+)\.jsonl?$")


def _archive_previous_attempt(run_dir: Path, recorded: int) -> int:
    """Rename the last attempt's metrics.jsonl / summary.json aside; return this attempt's number."""
    from .metrics import METRICS_FILE

    archived = max((int(m.group(1)) for p in run_dir.iterdir() if (m := ARCHIVED.match(p.name))), default=0)
    current = [p for p in (run_dir / METRICS_FILE, run_dir / SUMMARY_FILE) if p.exists()]
    previous = max(recorded, archived + (1 if current else 0))
    for p in current:
        p.rename(run_dir / f"{p.stem}.attempt-{previous}{p.suffix}")
    return previous + 1


# --- execute --------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except Exception:
        return None


def _versions() -> dict:
    import numpy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


def execute(experiment: str, run_dir: str | os.PathLike, force: bool = False, wait: bool = False,
            seen_attempt: int | None = None) -> str:
    """Run one configured run directory to completion; return its final status.

    Returns HELD without touching anything when another process holds the run (unless wait=True,
    which blocks until it is free). A verified done run is not run again unless force=True; with
    force, seen_attempt (the attempt the caller saw) keeps two forced commands from redoing it twice.
    """
    run_dir = Path(run_dir)
    lock = RunLock(run_dir)
    if not lock.acquire(wait=wait):
        return HELD
    try:
        previous = run_info(run_dir)
        attempts = previous.get("attempts", 0) if isinstance(previous.get("attempts"), int) else 0
        if verified(run_dir) and (not force or (seen_attempt is not None and attempts != seen_attempt)):
            return DONE
        return _attempt(experiment, run_dir, attempts)
    finally:
        lock.release()


def _attempt(experiment: str, run_dir: Path, recorded_attempts: int) -> str:
    from .device import describe_device, resolve_device
    from .seeding import seed_everything

    cfg = load_config(run_dir)
    digest = config_hash(cfg)
    (run_dir / FIGURES_DIR).mkdir(exist_ok=True)
    info = {
        "experiment": experiment, "status": RUNNING, "start": _now(), "end": None, "wall_seconds": None,
        "host": socket.gethostname(), "pid": os.getpid(), "argv": sys.argv, "versions": _versions(),
        "git_revision": _git_revision(), "config_hash": digest,
        "attempts": _archive_previous_attempt(run_dir, recorded_attempts),
    }
    t0 = time.monotonic()
    try:
        # every experiment's config has `device` and `seed` (the config-coverage test holds them to it)
        info["device"] = describe_device(resolve_device(cfg.device))
        atomic_write_json(run_dir / RUN_FILE, info)
        _record_in_sweep(run_dir, RUNNING)
        seed_everything(int(cfg.seed))
        summary = dict(experiment_module(experiment).run(cfg, run_dir) or {})
        summary["config_hash"] = digest
        atomic_write_json(run_dir / SUMMARY_FILE, summary)
        info["status"] = DONE
    except KeyboardInterrupt:
        info["status"] = INTERRUPTED
        raise
    except BaseException as e:  # noqa: BLE001 - every failure is recorded, then the sweep goes on
        info["status"] = FAILED
        info["error"] = f"{type(e).__name__}: {e}"
        info["traceback"] = traceback.format_exc()
    finally:
        info["end"], info["wall_seconds"] = _now(), round(time.monotonic() - t0, 3)
        atomic_write_json(run_dir / RUN_FILE, info)
        _record_in_sweep(run_dir, info["status"])
    return info["status"]
