"""Shared fixtures: an isolated cache and output root per test session, tiny rf-sweep overrides."""
from __future__ import annotations

import pytest
import torch

# Small enough that one rf-sweep run takes a second or two; the runner tests use it as real work.
TINY_RF = ["trials=2", "n_test=40", "grid.n=[20,40,2]", "grid.k=[20,40,2]", "grid.fixed_n=20", "grid.fixed_k=20",
           "dataset.modes=200", "ridges.num=3", "theory.curve_points=8", "theory.peak_points=0", "plot.at_end=false"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "repro-cache"
    monkeypatch.setenv("REPRO_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # tests never reach a hub
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)
    monkeypatch.delenv("REPRO_OUTPUT_DIR", raising=False)


@pytest.fixture
def tiny_rf():
    return list(TINY_RF)


# Suites of many small tensor ops: one intra-op thread is faster than two, and immune to a busy
# shared machine (measured ~10x on small matmuls under load). rf-sweep and the CLI keep all threads.
ONE_THREAD_SUITES = ("richness", "word2vec")


@pytest.fixture(autouse=True)
def _one_thread_for_small_tensor_suites(request):
    if request.path.parent.name not in ONE_THREAD_SUITES:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- lightning-hydra-template style: one fixture composes a config, one gives a run directory ---

@pytest.fixture
def compose():
    """compose("word2vec", "preset=quick", "train.d=8") -> the resolved config the CLI would build."""
    from repro.cli.compose import compose_config

    def _compose(experiment: str, *overrides: str):
        return compose_config(experiment, list(overrides))

    return _compose


@pytest.fixture
def run_dir(tmp_path):
    """A fresh run directory laid out as the runner lays it out (figures/ included)."""
    d = tmp_path / "run"
    (d / "figures").mkdir(parents=True)
    return d
