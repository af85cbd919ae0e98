"""Resolved config -> typed, frozen dataclasses, strictly: every key a field, every field a key.

Defaults live in `configs/` only, so a settings dataclass declares fields and no defaults; `build`
fails with one line when the YAML and the dataclass disagree (a key the code never reads, a field
the YAML never sets) or when a value has the wrong type, is not finite, or is out of its choices.
The config-coverage test composes every experiment with every preset and group option and calls
each experiment's `settings(cfg)`, so a dead key or a code-side default cannot come back.

    @dataclass(frozen=True)
    class Train:
        lr: float | None          # null: resolved from λ₁ (see resolve_lr)
        steps: int
        method: Literal["qwem_sgd", "qwem_gd"]

    train = build(Train, cfg.train, "train")

Supported field types: int, float, str, bool, Literal[...], X | None, tuple[X, ...] (from a YAML
list), dict (kept as a plain dict), nested dataclasses. Floats must be finite unless the field's
metadata says `finite=False` (`field(metadata={"finite": False})`).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union

from .errors import ConfigError

# Keys the CLI owns (which launcher, where it writes): never a setting of an experiment.
CLI_KEYS = ("launcher",)


def to_plain(node) -> Any:
    """A DictConfig/ListConfig resolved to plain Python; interpolation errors become one line."""
    from omegaconf import DictConfig, ListConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(node, (DictConfig, ListConfig)):
        try:
            return OmegaConf.to_container(node, resolve=True)
        except OmegaConfBaseException as e:
            raise ConfigError(f"{str(e).splitlines()[0]}; fix or remove the interpolation") from None
    return node


def build(cls, node, prefix: str = "", ignore: tuple[str, ...] = ()):
    """Instantiate dataclass `cls` from mapping `node` (keys named `prefix.key` in errors)."""
    data = to_plain(node)
    where = prefix or "the config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}={data!r} is invalid: expected a group of keys; valid keys: "
                          f"{', '.join(f.name for f in dataclasses.fields(cls))}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names and k not in ignore]
    if unknown:
        key = _join(prefix, unknown[0])
        raise ConfigError(f"{key}={data[unknown[0]]!r} is invalid: no such setting; valid keys"
                          f"{' under ' + prefix if prefix else ''}: {', '.join(names)}")
    values = {}
    for f in dataclasses.fields(cls):
        key = _join(prefix, f.name)
        if f.name not in data:
            raise ConfigError(f"{key} is missing: it is required (restore it, or set it with {key}=VALUE)")
        values[f.name] = _convert(hints[f.name], data[f.name], key, f.metadata)
    return cls(**values)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _describe(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a group of keys"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _bad(key: str, value, tp, why: str | None = None) -> ConfigError:
    return ConfigError(f"{key}={value!r} is invalid: {why or 'wrong type'}; valid: {_describe(tp)}")


def _convert(tp, value, key: str, meta):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise _bad(key, value, tp, "null is not allowed here")
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, key, meta)
            except ConfigError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        raise _bad(key, value, tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices or isinstance(value, bool) != any(isinstance(c, bool) for c in choices if c == value):
            raise ConfigError(f"{key}={value!r} is invalid; valid choices: {', '.join(map(str, choices))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _bad(key, value, tp)
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{key}[{i}]", meta) for i, v in enumerate(value))
        if len(args) != len(value):
            raise _bad(key, value, tp, f"expected {len(args)} values, got {len(value)}")
        return tuple(_convert(a, v, f"{key}[{i}]", meta) for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise _bad(key, value, tp)
        return value
    if tp is int:
        if isinstance(value, bool):
            raise _bad(key, value, tp)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise _bad(key, value, tp)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(key, value, tp)
        value = float(value)
        if meta.get("finite", True) and not math.isfinite(value):
            raise _bad(key, value, tp, "it must be finite")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _bad(key, value, tp)
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise _bad(key, value, tp)
        return dict(value)
    if tp is Any:
        return value
    raise TypeError(f"settings.build: unsupported field type {tp!r} for {key}")  # a programming error


def fields_of(cls, prefix: str = "") -> list[str]:
    """Every leaf key path a settings dataclass declares (for the coverage test and --help)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = _join(prefix, f.name)
        out += fields_of(tp, key) if dataclasses.is_dataclass(tp) else [key]
    return out
