"""Where data lives: option > config value > $REPRO_DATA_DIR > a user cache folder.

Nothing is downloaded here; loaders look inside the folder and otherwise go to the Hugging Face hub.
Derived data (token ids, co-occurrence counts, eigendecompositions) is cached under cache_dir().
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import ConfigError

ENV_VAR = "REPRO_DATA_DIR"
CACHE_ENV_VAR = "REPRO_CACHE_DIR"


def default_user_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "repro"


def resolve_data_dir(option: str | None = None, config_value: str | None = None, must_exist: bool = True) -> Path:
    """The data folder by precedence. A folder named explicitly must exist (clear error otherwise)."""
    for source, value in (("--data-dir", option), ("data_dir", config_value), (ENV_VAR, os.environ.get(ENV_VAR))):
        if value:
            path = Path(value).expanduser()
            if must_exist and not path.is_dir():
                raise ConfigError(f"{source}={value!r} is not an existing directory; point it at a data folder")
            return path
    return default_user_dir() / "data"


def cache_dir(kind: str) -> Path:
    """A per-kind cache folder ($REPRO_CACHE_DIR or the user cache), created on demand."""
    root = Path(os.environ.get(CACHE_ENV_VAR) or default_user_dir() / "cache")
    path = root / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(**parts) -> str:
    """A short stable hash of everything a cached result depends on."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
