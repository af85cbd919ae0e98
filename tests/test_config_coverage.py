"""Every experiment's YAML and its settings dataclasses agree, in both directions, for every preset
and every option of every config group: each YAML key is consumed by a field (the strict builder
raises otherwise) and each field has a YAML key (the sets of keys are equal).

An experiment is checked once its `repro.experiments.<pkg>.settings` module exists; until then its
cases are skipped (not failed), so the test starts checking it the day the module lands.
"""
from __future__ import annotations

import importlib
import importlib.util
import itertools
import typing

import pytest

from repro.cli.registry import config_dir, group_options
from repro.experiments.common.settings import CLI_KEYS, fields_of

PACKAGES = ("word2vec", "richness", "rf_sweep")
# Top-level keys whose every value selects different settings, composed like a group option.
SELECTORS = {"richness": ("experiment",)}


def settings_module(package: str):
    name = f"repro.experiments.{package}.settings"
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} does not exist yet")
    return importlib.import_module(name)  # an existing module that fails to import is a failure


def groups(package: str) -> list[str]:
    """The experiment's own config groups (configs/<package>/<group>/), presets aside."""
    return sorted(p.name for p in config_dir(package).iterdir()
                  if p.is_dir() and p.name not in ("preset", "__pycache__") and not p.name.startswith("_"))


def selector_values(module, key: str) -> tuple:
    """Every value a selector key takes: the choices of its Literal field (aliases included)."""
    tp = typing.get_type_hints(module.Settings)[key]
    choices = typing.get_args(tp)
    assert typing.get_origin(tp) is typing.Literal and choices, f"{key} is not a Literal field"
    return choices


def combinations(package: str, module) -> list[list[str]]:
    """Overrides for the Cartesian product of every group's options and every selector's values."""
    axes = [[f"{g}={o}" for o in group_options(package, g)] for g in groups(package)]
    axes += [[f"{key}={v}" for v in selector_values(module, key)] for key in SELECTORS.get(package, ())]
    return [list(c) for c in itertools.product(*axes)]


def leaf_keys(node, fields: set[str], prefix: str = "") -> set[str]:
    """Dotted paths of the composed config's leaves; a key that is itself a field (a dict-typed
    one) counts as one key."""
    out = set()
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and path not in fields:
            out |= leaf_keys(value, fields, path)
        else:
            out.add(path)
    return out


@pytest.mark.parametrize("preset", ["quick", "default", "paper"])
@pytest.mark.parametrize("package", PACKAGES)
def test_every_yaml_key_is_a_field_and_every_field_a_yaml_key(compose, package, preset):
    from omegaconf import OmegaConf

    module = settings_module(package)
    assert preset in group_options(package, "preset")
    fields = set(fields_of(module.Settings))
    cases = combinations(package, module)
    for overrides in cases:
        cfg = compose(package, f"preset={preset}", *overrides)
        module.settings(cfg)  # every YAML key consumed, every field set, types right
        plain = OmegaConf.to_container(cfg, resolve=True)
        keys = leaf_keys({k: v for k, v in plain.items() if k not in CLI_KEYS}, fields)
        assert keys == fields, (f"{package} preset={preset} {' '.join(overrides)}: YAML keys without a field: "
                                f"{sorted(keys - fields)}; fields without a YAML key: {sorted(fields - keys)}")
    assert cases, "nothing composed"


def test_the_rf_sweep_cases_cover_every_group_option():
    """Guards the enumeration itself: rf-sweep has 4 datasets × 2 feature maps."""
    module = settings_module("rf_sweep")
    cases = combinations("rf_sweep", module)
    assert len(cases) == 8 and ["dataset=cifar10", "features=gaussian"] in cases


def test_a_stray_key_fails_both_checks(compose):
    """The two directions can fail: a key no field consumes is refused by the builder and shows up
    in the key difference."""
    from omegaconf import OmegaConf

    from repro.experiments.common.errors import ConfigError

    module = settings_module("rf_sweep")
    cfg = compose("rf_sweep", "preset=quick", "+dataset.extra=1")
    with pytest.raises(ConfigError, match=r"dataset\.extra=1 is invalid: no such setting"):
        module.settings(cfg)
    fields = set(fields_of(module.Settings))
    plain = {k: v for k, v in OmegaConf.to_container(cfg).items() if k not in CLI_KEYS}
    assert leaf_keys(plain, fields) - fields == {"dataset.extra"}
