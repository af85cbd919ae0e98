"""Common parts: metrics writer, atomic writes, data-dir precedence, progress, seeding, sweep expansion."""
import io
import json
import os

import numpy as np
import pytest
import torch

from repro.cli.sweep import check_name, expand, single_run_name, sweep_name
from repro.experiments.common.atomic import atomic_write_json, read_json
from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.metrics import MetricsWriter, read_metrics
from repro.experiments.common.progress import Progress
from repro.experiments.common.seeding import seed_everything


def test_metrics_lines_are_flushed_as_written(tmp_path):
    w = MetricsWriter(tmp_path)
    w.log(step=1, loss=np.float32(0.5), vec=np.arange(2))
    assert json.loads((tmp_path / "metrics.jsonl").read_text()) == {"step": 1, "loss": 0.5, "vec": [0, 1]}
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 2, "lo')  # a torn line from a crash
    assert read_metrics(tmp_path) == [{"step": 1, "loss": 0.5, "vec": [0, 1]}]


def test_atomic_json_leaves_no_partial_file(tmp_path, monkeypatch):
    atomic_write_json(tmp_path / "s.json", {"a": 1, "nan": float("nan")})
    assert read_json(tmp_path / "s.json") == {"a": 1, "nan": None}

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(tmp_path / "s.json", {"a": 2})
    assert read_json(tmp_path / "s.json") == {"a": 1, "nan": None}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_data_dir_precedence(tmp_path, monkeypatch):
    a, b, c = (tmp_path / x for x in "abc")
    for p in (a, b, c):
        p.mkdir()
    monkeypatch.setenv("REPRO_DATA_DIR", str(c))
    assert resolve_data_dir(str(a), str(b)) == a
    assert resolve_data_dir(None, str(b)) == b
    assert resolve_data_dir(None, None) == c
    monkeypatch.delenv("REPRO_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir(None, None) == tmp_path / "xdg" / "repro" / "data"
    with pytest.raises(ConfigError, match="missing"):
        resolve_data_dir(None, str(tmp_path / "missing"))


def test_progress_prints_rate_and_eta_in_logs():
    stream = io.StringIO()
    with Progress(10, "train", unit="steps", every=0.0, stream=stream) as p:
        for _ in range(10):
            p.update(1, loss=0.25)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and "10/10 steps" in lines[-1] and "steps/s" in lines[-1] and "eta" in lines[-1]
    assert "loss=0.25" in lines[-1]
    stream = io.StringIO()
    with Progress(4, "train", unit="steps", every=0.0, stream=stream) as p:   # a run that grows (GD halving its lr)
        p.update(3)
        p.set_total(8)
        p.update(1)
    assert "4/8 steps" in stream.getvalue().splitlines()[-1]


def test_seeding_is_reproducible():
    seed_everything(5)
    a = (np.random.rand(), torch.rand(1).item())
    seed_everything(5)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_sweep_expansion_is_a_cartesian_grid():
    grid = expand("rf_sweep", ["trials=1,2,3", "dataset.noise=range(0,2)", "seed=4"])
    runs = list(grid.runs())
    assert len(runs) == 6 == grid.size and grid.fixed == ["seed=4"]
    assert runs[0] == ("trials=1_dataset.noise=0", ["seed=4", "trials=1", "dataset.noise=0"])
    assert len({name for name, _ in runs}) == 6
    assert single_run_name([], "0123456789abcdef") == "default-01234567"
    assert sweep_name(["a=1,2", "launcher=slurm"]) == sweep_name(["a=1,2"])  # the launcher is not identity
    assert sweep_name(["+tag='a b','a-b'"]) != sweep_name(["+tag='a-b','a b'"])
    assert len(single_run_name([f"key{i}=value{i}" for i in range(40)], "f" * 16)) < 100
    with pytest.raises(ConfigError, match="launcher"):
        expand("rf_sweep", ["launcher=local,slurm"])


def test_a_huge_sweep_is_counted_not_listed():
    with pytest.raises(ConfigError, match=r"has 1000000000 runs .* cap of 10000.*--max-runs 1000000000"):
        expand("rf_sweep", ["seed=range(1000000000)"])  # instantly: nothing is listed
    with pytest.raises(ConfigError, match="2000000 runs"):
        expand("rf_sweep", ["seed=range(1000)", "trials=range(1,2001)"], max_runs=1_999_999)
    assert expand("rf_sweep", ["dataset.noise=range(0,1,0.25)"]).size == 4


@pytest.mark.parametrize("name", ["..", ".", "../../x", "/abs", "a/b", "a b", "-x", ".hidden", "x" * 101, "é", ""])
def test_name_must_be_one_safe_path_component(name):
    with pytest.raises(ConfigError, match="--name"):
        check_name(name)


@pytest.mark.parametrize("package,key", [("rf_sweep", "grid.n="), ("richness", "width="), ("word2vec", "vocab_size=")])
def test_a_run_that_cannot_fit_is_refused_with_the_estimate_and_the_limit(compose, package, key):
    from repro.cli.checks import memory

    cfg = compose(package, "preset=quick", "device=cpu")
    memory(package, cfg)  # the quick preset fits this machine
    with pytest.raises(ConfigError, match=rf"{key}.* needs about .* but only 1 KiB is free"):
        memory(package, cfg, free=2**10)
