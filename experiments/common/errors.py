"""The error vocabulary: ConfigError for bad input (one line, exit 2), Diverged for a blown-up run.

Every check a user's config can reach lives in an experiment's `validate`, through the `require*`
helpers below, worded `key=value is invalid: why; valid: ...`. Code below validate asserts only.
"""
from __future__ import annotations

import math


class ConfigError(ValueError):
    """A config value is invalid. The message names the key, the bad value and what would be valid."""


class Diverged(FloatingPointError):
    """Training blew up (non-finite or exploding loss). Every trainer raises this one type, naming the
    step and the knob to turn, so a sweep records it as that run's failure and goes on."""


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless condition holds (keeps validators one line per rule)."""
    if not condition:
        raise ConfigError(message)


def require_positive(value, key: str) -> None:
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0,
            f"{key}={value!r} is invalid: it must be a positive finite number; valid: > 0")


def require_nonnegative(value, key: str) -> None:
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0,
            f"{key}={value!r} is invalid: it must be a non-negative finite number; valid: >= 0")


def require_range(value, key: str, lo=None, hi=None) -> None:
    """lo <= value <= hi (either bound optional), and finite."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
    bounds = f"{lo if lo is not None else '-inf'} <= {key} <= {hi if hi is not None else 'inf'}"
    require(ok, f"{key}={value!r} is invalid: out of range; valid: {bounds}")


def require_choice(value, key: str, choices) -> None:
    require(value in choices, f"{key}={value!r} is invalid; valid choices: {', '.join(map(str, choices))}")
