"""One cached-array helper for every on-disk cache (token ids, co-occurrences, eigenpairs, kernels).

An entry is `<key>.npz` plus `<key>.json`, the key a hash of everything the value depends on. The
arrays are written to a temp file and renamed; the JSON (written atomically after it) records the
file's size and CRC-32, so a reader trusts an entry only when both agree. A truncated or garbled
entry (a full disk, a killed node) is reported in one line on stderr, deleted and recomputed: a
damaged cache never breaks a corpus or a kernel for good.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_write_json
from .datadir import cache_dir, cache_key

CHUNK = 1 << 24


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            crc = zlib.crc32(block, crc)
    return crc


def entry_paths(kind: str, parts: dict) -> tuple[Path, Path]:
    key = cache_key(**parts)
    folder = cache_dir(kind)
    return folder / f"{key}.npz", folder / f"{key}.json"


def log(msg: str) -> None:
    print(f"[cache] {msg}", file=sys.stderr, flush=True)


def load(kind: str, parts: dict) -> dict[str, np.ndarray] | None:
    """The entry's arrays if it exists and checks out; None if absent; a damaged one is deleted."""
    data, meta = entry_paths(kind, parts)
    if not data.exists() and not meta.exists():
        return None
    why = None
    try:
        info = json.loads(meta.read_text())
        if data.stat().st_size != info["bytes"]:
            why = f"size {data.stat().st_size} != recorded {info['bytes']}"
        elif _crc32(data) != info["crc32"]:
            why = "checksum mismatch"
        else:
            with np.load(data, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except FileNotFoundError as e:
        why = f"{Path(e.filename).name} missing"
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError, zlib.error) as e:
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    log(f"damaged {kind} cache entry {data} ({why}); deleting it and recomputing")
    data.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)
    return None


def store(kind: str, parts: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write an entry atomically: arrays first (temp + rename), then the JSON that vouches for them."""
    data, meta = entry_paths(kind, parts)
    fd, tmp = tempfile.mkstemp(dir=data.parent, prefix=f".{data.stem}.", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
            f.flush()
            os.fsync(f.fileno())
        info = {"bytes": os.path.getsize(tmp), "crc32": _crc32(Path(tmp)), "parts": parts,
                "arrays": {k: [list(np.shape(v)), str(np.asarray(v).dtype)] for k, v in arrays.items()}}
        os.replace(tmp, data)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    atomic_write_json(meta, info)


def cached(kind: str, parts: dict, compute: Callable[[], dict[str, np.ndarray]], enabled: bool = True
           ) -> dict[str, np.ndarray]:
    """compute() once per key: the checked cached entry when there is one, else compute and store.

    parts: everything the value depends on (JSON-serialisable), including a `version` bumped when
    the computation changes. enabled=False computes without reading or writing the cache.
    """
    if enabled:
        hit = load(kind, parts)
        if hit is not None:
            return hit
    arrays = compute()
    if enabled:
        store(kind, parts, arrays)
    return arrays
