"""The rf-sweep experiment end to end at the quick size, against its own theory."""
import json

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from repro.cli.registry import config_dir
from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute
from repro.experiments.rf_sweep.run import validate


def compose_rf(overrides):
    with initialize_config_dir(config_dir=str(config_dir("rf_sweep")), version_base="1.3"):
        return compose("config", overrides=overrides)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("rf_quick")
    cfg = compose_rf(["preset=quick"])
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    return run_dir


def test_quick_gaussian_matches_theory(quick_run):
    """Every point with min(n, k) >= 20 within 3 SE (or 3%) of theory, except δ < 0.1 within 20% of n = k."""
    t = pd.read_csv(quick_run / "results.csv")
    tol = np.maximum(3 * t.test_mse_se, 0.03 * t.theory_test_mse)
    near_peak = (t.ridge < 0.1) & (np.abs(t.n / t.k - 1) < 0.2)
    checked = (np.minimum(t.n, t.k) >= 20) & ~near_peak
    assert checked.sum() > 300
    assert np.isfinite(t.theory_test_mse[checked]).all()
    bad = t[checked & (np.abs(t.test_mse - t.theory_test_mse) > tol)]
    assert bad.empty, bad[["n", "k", "ridge", "test_mse", "test_mse_se", "theory_test_mse"]].to_string()


def test_quick_run_writes_the_contracted_outputs(quick_run):
    t = pd.read_csv(quick_run / "results.csv")
    for col in ("n", "k", "ridge", "test_mse", "test_mse_se", "train_mse", "train_mse_se",
                "theory_test_mse", "theory_train_mse", "kappa", "gamma"):
        assert col in t.columns
    assert (t.ridge == 0).any() and len(t.ridge.unique()) == 32
    summary = json.loads((quick_run / "summary.json").read_text())
    assert summary["max_deviation_se"] > 0 and summary["theory_min_over_ridge_monotone"]
    assert len(summary["optimal_ridge_theory_vs_k"]["test_mse"]) == len(summary["optimal_ridge_theory_vs_k"]["k"])
    figures = {p.name for p in (quick_run / "figures").iterdir()}
    assert {"fig1_mse_vs_k_and_n.png", "heatmap_test_mse.png", "mse_vs_ridge.png", "test_mse_vs_fitting_ratio.png"} <= figures
    lines = (quick_run / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["step"] for r in rows] == list(range(1, 20 * 7 + 1))  # one row per (trial, n) draw
    assert all("elapsed" in r for r in rows)


@pytest.mark.parametrize("override,needle", [
    ("dataset.alpha=1.0", "dataset.alpha"),
    ("dataset.beta=4.5", "dataset.beta"),
    ("dataset.beta=1.0", "dataset.beta"),
    ("dataset.modes=100", "dataset.modes"),
    ("ridges.values=[0.1,-1]", "ridges.values"),
    ("trials=0", "trials"),
    ("grid.fixed_n=0", "grid.fixed_n"),
    ("grid.layout=diagonal", "grid.layout"),
])
def test_bad_values_are_named(override, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        validate(compose_rf(["preset=quick", override]))


def test_image_dataset_checks(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez(folder / "tiny.npz", x_train=rng.integers(0, 255, (300, 4, 4, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, 300), x_test=rng.integers(0, 255, (100, 4, 4, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, 100))
    base = ["dataset=cifar10", "features=relu", f"data_dir={tmp_path}", "n_test=50", "dataset.spectrum_points=250",
            "grid.n=[10,100,3]", "grid.k=[10,100,3]", "grid.fixed_n=50", "grid.fixed_k=50"]
    validate(compose_rf(base))
    with pytest.raises(ConfigError, match=r"n=400 is above the 300 training images"):
        validate(compose_rf(base + ["grid.n=[10,400,3]"]))
    with pytest.raises(ConfigError, match=r"n \+ n_test = 300 is above dataset.spectrum_points=250"):
        validate(compose_rf(base + ["n_test=200"]))  # sampling=pool: both come from the N-image pool
    with pytest.raises(ConfigError, match="n_test=200 is above the 100 test images"):
        validate(compose_rf(base + ["n_test=200", "dataset.sampling=split"]))
    with pytest.raises(ConfigError, match="hub is unreachable"):
        validate(compose_rf(["dataset=mnist", f"data_dir={tmp_path}"]))


@pytest.mark.parametrize("sampling", ["pool", "split"])
def test_cifar_run_on_tiny_pool(tmp_path, sampling):
    """The real-data path: binarised targets, ReLU features, spectrum from the kernel, cached."""
    folder = tmp_path / "data" / "cifar10"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(folder / "tiny.npz", x_train=rng.integers(0, 255, (400, 4, 4, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, 400), x_test=rng.integers(0, 255, (100, 4, 4, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, 100))
    cfg = compose_rf(["dataset=cifar10", "features=relu", f"data_dir={tmp_path / 'data'}", "n_test=60", "trials=2",
                      f"dataset.sampling={sampling}",
                      "dataset.spectrum_points=300", "grid.n=[10,80,3]", "grid.k=[10,80,3]", "grid.fixed_n=40",
                      "grid.fixed_k=40", "ridges.num=4", "plot.at_end=false"])
    validate(cfg)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    t = pd.read_csv(run_dir / "results.csv")
    assert np.isfinite(t.test_mse).all() and (t.train_mse[t.ridge == 0][t.n < t.k] < 1e-10).all()
    spectrum = np.load(run_dir / "spectrum.npz")
    assert spectrum["eigvals"][0] > spectrum["eigvals"][-1] > 0
    assert spectrum["coeffs2"].sum() == pytest.approx(1.0, rel=1e-6)  # Σ v² = mean(y²) = 1 for ±1 labels


@pytest.mark.parametrize("preset", ["quick", "default", "paper"])
def test_every_preset_validates_and_its_theory_solves(preset):
    """The theory part of each preset (cheap) runs before any experiment, so a bad grid fails fast."""
    from repro.experiments.rf_sweep import grid
    from repro.experiments.rf_sweep.run import Task, theory_curves

    cfg = compose_rf([f"preset={preset}"])
    validate(cfg)
    task = Task(cfg, "cpu", None)
    spec = task.spectrum()
    curves = theory_curves(cfg, task, spec, grid.ridges(cfg.ridges))
    assert np.isfinite(curves["vs_k_test"][:, 1:]).all() and np.isfinite(curves["krr_vs_n_test"]).all()
