"""The run directory contract: config.yaml, run.json, metrics.jsonl, summary.json, figures/.

`execute(experiment, run_dir)` is the one entry every launcher calls: it reads config.yaml, marks the
run running, seeds, calls the experiment's `run(cfg, run_dir)`, writes summary.json atomically and
marks the run done, failed (with traceback) or interrupted (Ctrl-C). Everything logged so far stays.
"""
from __future__ import annotations

import importlib
import os
import platform
import socket
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .atomic import atomic_write_json, read_json

CONFIG_FILE, RUN_FILE, SUMMARY_FILE, FIGURES_DIR = "config.yaml", "run.json", "summary.json", "figures"
DONE, RUNNING, FAILED, INTERRUPTED, PENDING = "done", "running", "failed", "interrupted", "pending"


def experiment_module(experiment: str, part: str = "run"):
    """repro.experiments.<experiment>.<part>, e.g. the run or plots module."""
    return importlib.import_module(f"repro.experiments.{experiment}.{part}")


def status(run_dir: str | os.PathLike) -> str:
    return (read_json(Path(run_dir) / RUN_FILE) or {}).get("status", PENDING)


def load_config(run_dir: str | os.PathLike):
    from omegaconf import OmegaConf

    return OmegaConf.load(Path(run_dir) / CONFIG_FILE)


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


def _write_run(run_dir: Path, info: dict) -> None:
    atomic_write_json(run_dir / RUN_FILE, info)


def execute(experiment: str, run_dir: str | os.PathLike) -> str:
    """Run one configured run directory to completion; return its final status."""
    from .device import describe_device, resolve_device
    from .seeding import seed_everything

    run_dir = Path(run_dir)
    cfg = load_config(run_dir)
    (run_dir / FIGURES_DIR).mkdir(exist_ok=True)
    info = {
        "experiment": experiment, "status": RUNNING, "start": _now(), "end": None, "wall_seconds": None,
        "host": socket.gethostname(), "pid": os.getpid(), "argv": sys.argv, "versions": _versions(),
        "git_revision": _git_revision(), "attempts": (read_json(run_dir / RUN_FILE) or {}).get("attempts", 0) + 1,
    }
    t0 = time.monotonic()
    try:
        info["device"] = describe_device(resolve_device(cfg.get("device", "auto")))
        _write_run(run_dir, info)
        seed_everything(int(cfg.get("seed", 0)))
        summary = experiment_module(experiment).run(cfg, run_dir)
        atomic_write_json(run_dir / SUMMARY_FILE, summary or {})
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
        _write_run(run_dir, info)
    return info["status"]
