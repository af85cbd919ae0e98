"""Compose one run's config with Hydra's compose API and check it: keys, types, group options.

Hydra's own errors are multi-line; each is turned into one ConfigError line naming the bad value
and the valid choices, so the CLI can print it and exit 2 before anything is written.
"""
from __future__ import annotations

import re

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from repro.experiments.common.errors import ConfigError

from .registry import config_dir, group_options, is_group


def compose_config(package: str, overrides: list[str]) -> DictConfig:
    """The resolved config for one combination of overrides (no sweeps)."""
    cfg = _compose(package, overrides)
    _resolve(cfg, overrides)
    base = _compose(package, [o for o in overrides if is_group(package, _key(o))])
    check_types(cfg, base, [o for o in overrides if not is_group(package, _key(o))])
    OmegaConf.set_struct(cfg, False)
    return cfg


def _resolve(cfg: DictConfig, overrides: list[str]) -> None:
    """Resolve every interpolation in place; a failure is one line naming the override behind it."""
    try:
        OmegaConf.resolve(cfg)
        return
    except OmegaConfBaseException as e:
        why = " ".join(_first_line(e).split())
    for o in reversed(overrides):  # the last override of a key is the one in effect
        if o.startswith("~") or "=" not in o:
            continue
        try:
            OmegaConf.select(cfg, _key(o), throw_on_missing=False)
        except OmegaConfBaseException:
            raise ConfigError(f"{o} is invalid: its interpolation cannot be resolved ({why}); valid: a plain "
                              f"value or ${{key}} of an existing key") from None
    raise ConfigError(f"cannot resolve the config: {why}; restore the key it refers to or override it") from None


def _compose(package: str, overrides: list[str]) -> DictConfig:
    try:
        with initialize_config_dir(config_dir=str(config_dir(package)), version_base="1.3"):
            return compose("config", overrides=overrides)
    except MissingConfigException as e:
        raise ConfigError(_missing_group_message(package, str(e))) from None
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(_override_message(str(e))) from None


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0].split("@", 1)[0]


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _missing_group_message(package: str, text: str) -> str:
    m = re.search(r"Could not find '([^/']+)/([^']+)'", text)
    if m:
        group, option = m.groups()
        valid = ", ".join(group_options(package, group)) or "none"
        return f"{group}={option!r} is invalid: no such {group}; valid choices: {valid}"
    return _first_line(Exception(text))


def _override_message(text: str) -> str:
    m = re.search(r"Could not override '([^']+)'", text) or re.search(r"Key '([^']+)' is not in struct", text)
    if m:
        return f"unknown config key {m.group(1)!r}; see `repro show-config EXPERIMENT` for the valid keys (use +{m.group(1)}=... to add one)"
    m = re.search(r"Could not delete from config. '([^']+)'", text)
    if m:
        return f"cannot delete {m.group(1)!r}: no such key"
    return " ".join(text.split())[:300]


def check_types(cfg: DictConfig, base: DictConfig, value_overrides: list[str]) -> None:
    """Every overridden key keeps the type of its default (ints may stand for floats)."""
    for o in value_overrides:
        if o.startswith(("~", "+")):
            continue
        key = _key(o)
        default = OmegaConf.select(base, key, default=None)
        value = OmegaConf.select(cfg, key, default=None)
        if default is None or value is None or _compatible(default, value):
            continue
        raise ConfigError(
            f"{key}={value!r} has the wrong type: expected {_type_name(default)} like the default {default!r}"
        )


def _compatible(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, ListConfig)):
        return isinstance(value, (list, ListConfig))
    if isinstance(default, (dict, DictConfig)):
        return isinstance(value, (dict, DictConfig))
    return True


def _type_name(v) -> str:
    if isinstance(v, bool):
        return "a boolean (true/false)"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, ListConfig)):
        return "a list"
    return "a mapping"
