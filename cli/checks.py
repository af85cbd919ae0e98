"""Checks every experiment shares, run before anything is written: the output root, the device,
the seed, the data folder and the memory a run will need on its device.

Memory: an experiment may ship `repro/experiments/<pkg>/memory.py` with `peak_bytes(cfg)`, an
estimate of its largest tensors from the config's sizes: bytes, or (bytes, "the keys=values it
used") so the refusal names them. A run whose estimate exceeds the free
memory of its device (MemAvailable on the CPU, cudaMemGetInfo on CUDA) is refused with both numbers.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from repro.experiments.common.errors import ConfigError, require

SEED_MAX = 2**32 - 1  # numpy's legacy seeding takes seeds below 2**32


def output_root(out: Path | None) -> Path:
    """The output root (--out, else $REPRO_OUTPUT_DIR, else ./outputs), checked to be a writable
    directory or creatable inside one; nothing is left behind by the check."""
    source = "--out" if out else ("REPRO_OUTPUT_DIR" if os.environ.get("REPRO_OUTPUT_DIR") else "the default output root")
    root = Path(out or os.environ.get("REPRO_OUTPUT_DIR") or "outputs").expanduser()
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{source}={str(root)!r} is invalid: {str(existing)!r} is a file, not a folder; "
                          f"valid: a writable directory")
    try:  # os.access says yes to root everywhere; creating a probe folder tells the truth
        shutil.rmtree(tempfile.mkdtemp(prefix=".repro-probe-", dir=existing))
    except OSError as e:
        raise ConfigError(f"{source}={str(root)!r} is invalid: cannot write in {str(existing)!r} ({e.strerror}); "
                          f"valid: a writable directory") from None
    return root


def device_name(value, key: str = "device") -> None:
    """auto | cpu | cuda | cuda:N, and CUDA only where CUDA is available."""
    import torch

    text = str(value)
    kind, _, index = text.partition(":")
    require(text == "auto" or (kind in ("cpu", "cuda") and (not index or (kind == "cuda" and index.isdigit()))),
            f"{key}={text!r} is invalid; valid choices: auto, cpu, cuda, cuda:N")
    if kind == "cuda":
        require(torch.cuda.is_available(),
                f"{key}={text!r} is invalid: CUDA is not available on this machine; valid: auto or cpu")
        require(not index or int(index) < torch.cuda.device_count(),
                f"{key}={text!r} is invalid: no such GPU; valid: cuda:0 .. cuda:{torch.cuda.device_count() - 1}")


def run_config(cfg) -> None:
    """The keys every experiment's top level has: seed, device, data_dir."""
    if "seed" in cfg:
        seed = cfg.seed
        require(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= SEED_MAX,
                f"seed={seed!r} is invalid: the random seed; valid: an integer in 0 .. {SEED_MAX}")
    if "device" in cfg:
        device_name(cfg.device)
    value = cfg.get("data_dir")
    if value is not None:
        require(isinstance(value, str) and Path(value).expanduser().is_dir(),
                f"data_dir={value!r} is invalid: not an existing directory; valid: a data folder, or null")


def _gib(n: float) -> str:
    if n >= 2**27:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def memory(package: str, cfg, free=None) -> None:
    """Refuse a run whose estimated peak (the experiment's memory.peak_bytes) exceeds free memory."""
    name = f"repro.experiments.{package}.memory"
    if importlib.util.find_spec(name) is None:
        return
    from repro.experiments.common.device import free_memory_bytes, resolve_device

    need = importlib.import_module(name).peak_bytes(cfg)
    need, sizes = need if isinstance(need, tuple) else (need, "its sizes")
    device = resolve_device(cfg.get("device", "auto"))
    limit = free if free is not None else free_memory_bytes(device)
    require(limit is None or need <= limit,
            f"{sizes} is invalid: the run needs about {_gib(need)} on {device.type} (its largest tensors) but only "
            f"{_gib(limit or 0)} is free; valid: smaller sizes, or a device with more memory")
