"""metrics.jsonl: one JSON object per logged step, appended and flushed as the run goes.

A crash or Ctrl-C loses nothing already logged, because every line is flushed to the OS at once.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from .atomic import to_jsonable

METRICS_FILE = "metrics.jsonl"


class MetricsWriter:
    """Append-only writer: `log(step=10, loss=0.3, ...)` writes one line and flushes it."""

    def __init__(self, run_dir: str | os.PathLike, filename: str = METRICS_FILE):
        self.path = Path(run_dir) / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", buffering=1)  # line-buffered

    def log(self, **values: Any) -> None:
        self._file.write(json.dumps(to_jsonable(values)) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "MetricsWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(run_dir: str | os.PathLike, filename: str = METRICS_FILE) -> list[dict]:
    """All logged rows; a torn last line (crash mid-write) is skipped, not fatal."""
    return list(iter_metrics(run_dir, filename))


def iter_metrics(run_dir: str | os.PathLike, filename: str = METRICS_FILE) -> Iterator[dict]:
    path = Path(run_dir) / filename
    if not path.exists():
        return
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
