"""Kernel tiles: a killed computation resumes at the first missing tile and gives the identical
matrix; tiles run as separate jobs (local processes, submitit's local executor) fill the same cache
and assemble to the identical matrix; bad tile indices are refused naming T."""
from pathlib import Path

import numpy as np
import pytest

from repro.experiments.common.errors import ConfigError
from repro.experiments.rf_sweep import tiles
from repro.experiments.rf_sweep.kernel_source import load_pool_images
from repro.experiments.rf_sweep.kernels import kernel_matrix
from repro.experiments.rf_sweep.run import validate
from repro.experiments.rf_sweep.settings import settings


def mnist_folder(root, n_train=80, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    d = root / "mnist"
    d.mkdir(parents=True)
    np.savez(d / "mnist.npz", x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train), x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_test))
    return root


TILE_ARGS = ["experiment=kernel_tiles", "dataset=mnist", "kernel.images=60", "kernel.tile=25", "plot.at_end=false"]


@pytest.fixture
def data(tmp_path):
    return mnist_folder(tmp_path / "data")


def tile_settings(compose, data, *extra):
    return settings(compose("rf_sweep", "preset=quick", *TILE_ARGS, f"data_dir={data}", *extra))


def test_killed_computation_resumes_at_the_first_missing_tile(compose, data, monkeypatch, tmp_path):
    s = tile_settings(compose, data)
    x, _ = load_pool_images("mnist", str(data), 60)
    assert tiles.tile_count(60, 25) == 6
    real, calls = tiles.compute_tile, []

    def dies_after_two(s_, x_, rows, cols):
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed mid-way
        calls.append((rows, cols))
        return real(s_, x_, rows, cols)

    monkeypatch.setattr(tiles, "compute_tile", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        tiles.assemble(s, x)
    assert calls == [((0, 25), (0, 25)), ((0, 25), (25, 50))]  # row-major, the two finished ones stored
    calls.clear()
    monkeypatch.setattr(tiles, "compute_tile", lambda *a: (calls.append(a[2:]), real(*a))[1])
    resumed = tiles.assemble(s, x)
    assert len(calls) == 4 and ((0, 25), (0, 25)) not in calls  # only the missing four were computed
    # the identical matrix as one uninterrupted computation in a fresh cache
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "fresh-cache"))
    fresh = tiles.assemble(s, x)
    assert np.array_equal(resumed, fresh) and np.array_equal(resumed, resumed.T)
    whole = kernel_matrix("fc_ntk", x, depth=3)
    # against one K(x, x), diagonal included: the kernel snaps cos θ within 1e-15 of 1, so a one-ulp
    # difference between two matmuls' blocking no longer becomes √ε ≈ 1e-8 through arccos
    rel = np.abs(resumed / whole - 1)
    assert rel.max() <= 1e-12, rel.max()


def test_a_tile_index_past_T_is_refused_naming_T(compose, data):
    with pytest.raises(ConfigError, match=r"kernel_tiles.index=6 is invalid: .* T=6 tiles; valid: null \(all\) or 0..5"):
        validate(compose("rf_sweep", "preset=quick", *TILE_ARGS, f"data_dir={data}", "kernel_tiles.index=6"))
    with pytest.raises(ConfigError, match="kernel=file is invalid with experiment=kernel_tiles"):
        validate(compose("rf_sweep", "preset=quick", *TILE_ARGS, f"data_dir={data}", "kernel=file"))
    with pytest.raises(ConfigError, match="above the 80 training images"):
        validate(compose("rf_sweep", "preset=quick", *TILE_ARGS, f"data_dir={data}", "kernel.images=81"))


def test_myrtle_tiles_assemble_to_the_whole_matrix(compose, tmp_path):
    """Off-diagonal tiles of a conv kernel use kernel_matrix(x_a, x_b): the same numbers as one K(x, x)."""
    rng = np.random.default_rng(1)
    d = tmp_path / "data" / "cifar10"
    d.mkdir(parents=True)
    np.savez(d / "c.npz", x_train=rng.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8), y_train=np.arange(7) % 10,
             x_test=rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), y_test=np.arange(2))
    s = settings(compose("rf_sweep", "preset=quick", "experiment=kernel_tiles", "dataset=cifar10", "kernel=myrtle5",
                         "kernel.images=7", "kernel.tile=3", "kernel.compile=never", f"data_dir={tmp_path / 'data'}"))
    x, _ = load_pool_images("cifar10", str(tmp_path / "data"), 7)
    rel = np.abs(tiles.assemble(s, x) / kernel_matrix("myrtle5", x, compile="never") - 1)
    assert rel.max() <= 1e-12, rel.max()


def _sweep_then_assemble(compose, data, tmp_path, monkeypatch, launcher_args):
    from typer.testing import CliRunner

    from repro.cli.app import app

    result = CliRunner().invoke(app, [str(a) for a in ("rf-sweep", "preset=quick", *TILE_ARGS, f"data_dir={data}", "kernel_tiles.index=range(6)",
                       *launcher_args, "--out", tmp_path / "out")])
    assert result.exit_code == 0, result.output
    sweep = Path(result.stdout.strip().splitlines()[-1])
    assert len(list(sweep.rglob("summary.json"))) == 6
    s = tile_settings(compose, data)
    x, _ = load_pool_images("mnist", str(data), 60)

    def never(*a):
        raise AssertionError("every tile should be in the cache already")

    monkeypatch.setattr(tiles, "compute_tile", never)
    spread = tiles.assemble(s, x)
    monkeypatch.undo()
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert np.array_equal(spread, tiles.assemble(s, x))


@pytest.mark.slow  # two worker processes, each importing torch
def test_tiles_through_local_processes_give_the_identical_matrix(compose, data, tmp_path, monkeypatch):
    _sweep_then_assemble(compose, data, tmp_path, monkeypatch, ["--jobs", "2"])


@pytest.mark.slow  # submitit's local executor: one process per tile
def test_tiles_through_submitit_local_give_the_identical_matrix(compose, data, tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    _sweep_then_assemble(compose, data, tmp_path, monkeypatch,
                         ["--launcher", "slurm", "launcher.cluster=local", "launcher.timeout_min=5"])
