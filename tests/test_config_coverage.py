"""Every experiment's YAML and its settings dataclasses agree, in both directions, for every preset
and every option of every config group: each YAML key is consumed by a field (the strict builder
raises otherwise) and each field has a YAML key (the sets of keys are equal).

Every preset is composed with each option of each config group (dataset/, features/, corpus/, ...)
and each value of the `experiment` selector. An experiment is checked once its `repro.experiments.<pkg>.settings` module exists; until then its
cases are skipped (not failed), so the test starts checking it the day the module lands.
"""
from __future__ import annotations

import importlib
import importlib.util
import typing

import pytest

from repro.cli.registry import config_dir, group_options
from repro.experiments.common.settings import CLI_KEYS, fields_of

PACKAGES = ("word2vec", "richness", "rf_sweep")
# A top-level Literal field of this name selects what a run does (richness, and any experiment that
# grows one): each of its values is composed like a group option.
SELECTOR = "experiment"


def settings_module(package: str):
    name = f"repro.experiments.{package}.settings"
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} does not exist yet")
    return importlib.import_module(name)  # an existing module that fails to import is a failure


def groups(package: str) -> list[str]:
    """The experiment's own config groups (configs/<package>/<group>/), presets aside."""
    return sorted(p.name for p in config_dir(package).iterdir()
                  if p.is_dir() and p.name not in ("preset", "__pycache__") and not p.name.startswith("_"))


def selector_values(module) -> tuple:
    """Every value of the selector field: the choices of its Literal (aliases included); () if none."""
    tp = typing.get_type_hints(module.Settings).get(SELECTOR)
    if tp is None:
        return ()
    choices = typing.get_args(tp)
    assert typing.get_origin(tp) is typing.Literal and choices, f"{SELECTOR} is not a Literal field"
    return choices


def combinations(package: str, module) -> list[list[str]]:
    """One override set per option of every group and per selector value (the rest at their
    defaults). Groups are disjoint config nodes, so each option's keys show up on their own; the
    full Cartesian product would only repeat them (hundreds of compositions)."""
    cases = [[f"{g}={o}"] for g in groups(package) for o in group_options(package, g)]
    cases += [[f"{SELECTOR}={v}"] for v in selector_values(module)]
    return cases or [[]]


def presets() -> list:
    return [(package, preset) for package in PACKAGES for preset in group_options(package, "preset")]


def cases() -> list:
    """(package, preset, overrides) for every case; one skipped entry per experiment whose settings
    module does not exist yet."""
    out = []
    for package in PACKAGES:
        if importlib.util.find_spec(f"repro.experiments.{package}.settings") is None:
            out.append(pytest.param(package, None, [], id=package, marks=pytest.mark.skip(
                reason=f"repro.experiments.{package}.settings does not exist yet")))
            continue
        module = importlib.import_module(f"repro.experiments.{package}.settings")
        out += [pytest.param(package, preset, c, id="-".join([package, preset, *c]))
                for preset in group_options(package, "preset") for c in combinations(package, module)]
    return out


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


@pytest.mark.parametrize("package,preset,overrides", cases())
def test_every_yaml_key_is_a_field_and_every_field_a_yaml_key(compose, package, preset, overrides):
    from omegaconf import OmegaConf

    module = settings_module(package)
    fields = set(fields_of(module.Settings))
    cfg = compose(package, f"preset={preset}", *overrides)
    module.settings(cfg)  # every YAML key consumed, every field set, types right
    plain = OmegaConf.to_container(cfg, resolve=True)
    keys = leaf_keys({k: v for k, v in plain.items() if k not in CLI_KEYS}, fields)
    assert keys == fields, (f"YAML keys without a field: {sorted(keys - fields)}; "
                            f"fields without a YAML key: {sorted(fields - keys)}")


def test_the_cases_cover_every_group_option_and_preset():
    """Guards the enumeration itself, on rf-sweep's groups and richness's selector."""
    cases = {o for c in combinations("rf_sweep", settings_module("rf_sweep")) for o in c}
    for group in ("dataset", "features"):
        assert {f"{group}={o}" for o in group_options("rf_sweep", group)} <= cases
    assert {"dataset=cifar10", "dataset=gaussian", "features=relu"} <= cases
    assert {("rf_sweep", p) for p in ("quick", "default", "paper")} <= set(presets())
    richness = {o for c in combinations("richness", settings_module("richness")) for o in c}
    assert {"experiment=train", "experiment=e1"} <= richness


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
