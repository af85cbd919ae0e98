"""word2vec fixtures: trainer settings from the quick preset, changed per test with dataclasses.replace."""
import dataclasses

import pytest

from repro.experiments.word2vec.settings import resolve, settings


@pytest.fixture(scope="session")
def quick_settings():
    """settings(cfg) of `repro word2vec preset=quick` (composed once: a compose costs ~0.5 s)."""
    from repro.cli.compose import compose_config

    return settings(compose_config("word2vec", ["preset=quick"]))


@pytest.fixture
def trainer(quick_settings):
    """trainer("qwem_gd", train=dict(lr_decay=1.0), d=8, lr=0.1, ...) -> (Train, Resolved): the quick
    preset's train settings with `train` replaced, resolved, then the given Resolved fields replaced."""
    def make(method: str, train: dict | None = None, lam1: float = 1.0, frob_sq: float = 1.0, **resolved):
        t = dataclasses.replace(quick_settings.train, method=method, **(train or {}))
        r = resolve(dataclasses.replace(quick_settings, train=t), lam1, frob_sq, "cpu", 1)
        return t, dataclasses.replace(r, **resolved)
    return make
