"""Atomic file writes: write a temp file in the same folder, then rename over the target.

A reader never sees a half-written file, and a crash mid-write leaves the old file intact.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_jsonable(obj: Any) -> Any:
    """Numpy / torch scalars and arrays to plain Python, so json.dumps never chokes on them."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and obj != obj:
        return None  # NaN is not JSON
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return None
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


_REPORTED: set[str] = set()


def read_json(path: str | os.PathLike, default: Any = None, expect: type | None = None) -> Any:
    """The parsed file, or `default` when it is missing. A file that exists but cannot be read (binary
    garbage, a torn write, the wrong kind of value when `expect` is given) is named in one stderr line
    (once per command) and treated as missing, so no command crashes on a damaged file."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        _report(path, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return default
    if expect is not None and not isinstance(value, expect):
        _report(path, f"expected a JSON {expect.__name__}, found {type(value).__name__}")
        return default
    return value


def _report(path: Path, why: str) -> None:
    report_once(str(path), f"warning: {path} is unreadable ({why[:120]}); treating it as missing")


def report_once(key: str, message: str) -> None:
    """Print message on stderr unless it was printed for key since the last forget_reports()."""
    if key not in _REPORTED:
        _REPORTED.add(key)
        print(message, file=sys.stderr, flush=True)


def forget_reports() -> None:
    """Start a new command: damaged files are named again (the CLI calls this once per command)."""
    _REPORTED.clear()
