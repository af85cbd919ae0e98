"""torch.compile with a fallback: the compiled function when the toolchain works, else the eager one."""
from __future__ import annotations

from typing import Callable

_COMPILED: dict[Callable, Callable] = {}


def compiled_or_eager(fn: Callable, enabled: bool) -> Callable:
    """fn compiled once per process (dynamic=False: the hot steps keep one shape), or fn itself.

    Eager is always correct, only slower; a machine without a compiler toolchain gets it silently.
    """
    if not enabled:
        return fn
    if fn not in _COMPILED:
        import torch

        try:
            _COMPILED[fn] = torch.compile(fn, dynamic=False)
        except Exception:  # noqa: BLE001 — no toolchain: eager is correct, only slower
            _COMPILED[fn] = fn
    return _COMPILED[fn]


def use_compile(setting: bool | str, work: float, threshold: float = 3e7) -> bool:
    """compile=true/false, or auto: only when a run does enough work (pairs, steps x batch) to repay
    the one-off compile (10–60 s on a small CPU) with its ~3x faster fused step."""
    if setting == "auto":
        return work > threshold
    return bool(setting)
