"""The rf-sweep experiment end to end at the quick size, against its own theory."""
import json

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute
from repro.experiments.rf_sweep.run import validate


def run_to_done(cfg, run_dir):
    """Save cfg as the runner would and execute it; the run's traceback on failure."""
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    return run_dir


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick preset, run once for the module (the conftest `compose` fixture is per test, so
    this module-scoped one calls the same compose_config it wraps)."""
    from repro.cli.compose import compose_config

    return run_to_done(compose_config("rf_sweep", ["preset=quick"]), tmp_path_factory.mktemp("rf_quick"))


@pytest.mark.slow
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


@pytest.mark.slow
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
    resolved = summary["resolved"]  # what ran, derived from the config (settings.resolve)
    assert resolved["points"] == 13 and resolved["n"] == [20, 34, 58, 100, 171, 292, 500] and resolved["k"] == resolved["n"]
    assert len(resolved["ridges"]) == 32 and resolved["ridges"][0] == 0 and resolved["exact_theory"]
    assert resolved["population"] is None and resolved["spectrum_modes"] == 1000


@pytest.mark.parametrize("override,message", [
    ("dataset.alpha=1.0", "dataset.alpha=1.0 is invalid: power-law tasks need alpha > 1"),
    ("dataset.beta=4.5", "dataset.beta=4.5 is invalid: the power-law target needs 1 < beta < 2*alpha + 1"),
    ("dataset.beta=1.0", "dataset.beta=1.0 is invalid"),
    ("dataset.modes=100", "dataset.modes=100 is invalid: the ridgeless theory needs min(n, k) < M"),
    ("dataset.sampling=pool", "dataset.sampling='pool' is invalid; valid choices: fresh"),
    ("ridges.values=[0.1,-1]", "ridges.values[1]=-1.0 is invalid"),
    ("ridges.values=[]", "ridges.values=[] is invalid"),
    ("trials=0", "trials=0 is invalid: out of range; valid: 1 <= trials"),
    ("grid.fixed_n=0", "grid.fixed_n=0 is invalid"),
    ("grid.layout=diagonal", "grid.layout='diagonal' is invalid; valid choices: cross, product"),
    # infinite values: one line from the strict settings builder
    ("dataset.noise=inf", "dataset.noise=inf is invalid: it must be finite"),
    ("dataset.alpha=inf", "dataset.alpha=inf is invalid: it must be finite"),
    ("ridges.values=[inf]", "ridges.values[0]=inf is invalid: it must be finite"),
    ("ridges.log10_max=400", "ridges.log10_max=400.0 is invalid: out of range"),
    # malformed and unbounded sizes: capped, and the cap is named
    ("grid.n=[10,1e12,5]", "grid.n=[10, 1000000000000, 5] is invalid: it is [min, max, count] of an integer log grid; "
                           "valid: 1 <= min <= max <= 1000000 and 1 <= count <= 1000"),
    ("grid.n=[1,2]", "grid.n=[1, 2] is invalid: it is [min, max, count]"),
    ("grid.n=[a,b,c]", "grid.n[0]='a' is invalid: wrong type; valid: an integer"),
    ("grid.n=[500,20,3]", "grid.n=[500, 20, 3] is invalid"),
    ("grid.k=[10,1000,2000]", "grid.k=[10, 1000, 2000] is invalid"),
    ("n_test=2000000", "n_test=2000000 is invalid: out of range; valid: 1 <= n_test <= 1000000"),
    ("theory.table_step=0", "theory.table_step=0.0 is invalid"),
    ("seed=-1", "seed=-1 is invalid: out of range"),
    ("device=tpu", "device='tpu' is invalid; valid choices: auto, cpu, cuda"),
    ("tag=7", "tag=7 is invalid: wrong type"),
])
def test_bad_values_are_one_line_errors_naming_the_key(compose, override, message):
    with pytest.raises(ConfigError) as err:
        validate(compose("rf_sweep", "preset=quick", override))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_draw_too_large_for_memory_is_refused_naming_the_cap(compose):
    with pytest.raises(ConfigError) as err:
        validate(compose("rf_sweep", "preset=quick", "grid.k=[10,1000000,3]", "n_test=100000"))
    assert ("the draw at n=100, k=1000000 (n_test=100000) holds a 100100 × 1000000 array (746 GiB in float64); "
            "valid: at most 2147483648 entries (16 GiB) per array") in str(err.value)


def test_a_tag_is_accepted_and_kept(compose):
    cfg = compose("rf_sweep", "preset=quick", "tag=baseline")
    validate(cfg)
    from repro.experiments.rf_sweep.settings import settings

    assert settings(cfg).tag == "baseline" and compose("rf_sweep").tag is None


def test_image_datasets_pick_relu_features_unless_told(compose):
    for name in ("cifar10", "mnist", "fashion_mnist"):
        assert compose("rf_sweep", f"dataset={name}").features.name == "relu"
        assert compose("rf_sweep", f"dataset={name}", "features=gaussian").features.name == "gaussian"
    assert compose("rf_sweep").features.name == "gaussian"


def tiny_cifar(folder, n_train, n_test):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(folder / "tiny.npz", x_train=rng.integers(0, 255, (n_train, 4, 4, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train), x_test=rng.integers(0, 255, (n_test, 4, 4, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_test))


def test_image_dataset_checks(compose, tmp_path):
    tiny_cifar(tmp_path / "cifar10", 300, 100)
    base = ["dataset=cifar10", f"data_dir={tmp_path}", "n_test=50", "dataset.modes=250", "dataset.sampling=pool",
            "grid.n=[10,100,3]", "grid.k=[10,100,3]", "grid.fixed_n=50", "grid.fixed_k=50"]
    validate(compose("rf_sweep", *base))
    with pytest.raises(ConfigError, match=r"n=400 is above the 300 training images"):
        validate(compose("rf_sweep", *base, "grid.n=[10,400,3]"))
    with pytest.raises(ConfigError, match=r"n \+ n_test = 300 is above dataset.modes=250"):
        validate(compose("rf_sweep", *base, "n_test=200"))  # sampling=pool: both come from the M-image pool
    with pytest.raises(ConfigError, match="n_test=200 is invalid: it is above the 100 test images"):
        validate(compose("rf_sweep", *base, "n_test=200", "dataset.sampling=split"))
    with pytest.raises(ConfigError, match=r"dataset.modes=400 is invalid: .* <= 300 \(300 training images"):
        validate(compose("rf_sweep", *base, "dataset.modes=400", "dataset.sampling=split"))
    with pytest.raises(ConfigError, match="dataset.alpha=1.5 is invalid: only dataset=gaussian has power-law exponents"):
        validate(compose("rf_sweep", *base, "dataset.alpha=1.5"))
    with pytest.raises(ConfigError, match="dataset.sampling='fresh' is invalid; valid choices: pool, split"):
        validate(compose("rf_sweep", *base, "dataset.sampling=fresh"))
    with pytest.raises(ConfigError, match="hub is unreachable"):
        validate(compose("rf_sweep", "dataset=mnist", f"data_dir={tmp_path}"))


def test_readme_cifar_command_fits_a_10k_image_copy(compose, tmp_path):
    """`repro rf-sweep --dataset cifar10 --data-dir DATA` with the shared folder's 10,000-image subset
    (labels are all validate reads, so fake images of that size stand in for it)."""
    tiny_cifar(tmp_path / "cifar10", 10000, 10000)
    cfg = compose("rf_sweep", "dataset=cifar10", "features=relu", f"data_dir={tmp_path}")
    validate(cfg)
    assert cfg.grid.n[1] == 10000 and cfg.dataset.sampling == "split" and cfg.dataset.modes == 10000


@pytest.mark.parametrize("sampling", ["pool", "split"])
def test_cifar_run_on_tiny_pool(compose, run_dir, tmp_path, sampling):
    """The real-data path: binarised targets, ReLU features, spectrum from the kernel, cached."""
    tiny_cifar(tmp_path / "data" / "cifar10", 400, 100)
    cfg = compose("rf_sweep", "dataset=cifar10", f"data_dir={tmp_path / 'data'}", "n_test=60", "trials=2",
                  f"dataset.sampling={sampling}", "dataset.modes=300", "grid.n=[10,80,3]", "grid.k=[10,80,3]",
                  "grid.fixed_n=40", "grid.fixed_k=40", "ridges.num=4", "plot.at_end=false")
    validate(cfg)
    run_to_done(cfg, run_dir)
    t = pd.read_csv(run_dir / "results.csv")
    assert np.isfinite(t.test_mse).all() and (t.train_mse[t.ridge == 0][t.n < t.k] < 1e-10).all()
    spectrum = np.load(run_dir / "spectrum.npz")
    assert spectrum["eigvals"][0] > spectrum["eigvals"][-1] > 0
    assert spectrum["coeffs2"].sum() == pytest.approx(1.0, rel=1e-6)  # Σ v² = mean(y²) = 1 for ±1 labels
    resolved = json.loads((run_dir / "summary.json").read_text())["resolved"]
    assert resolved["population"] == (300 if sampling == "pool" else None) and not resolved["exact_theory"]


@pytest.mark.parametrize("preset", ["quick", "default", "paper"])
def test_every_preset_validates_and_its_theory_solves(compose, preset):
    """The theory part of each preset (cheap) runs before any experiment, so a bad grid fails fast."""
    from repro.experiments.rf_sweep.run import theory_curves
    from repro.experiments.rf_sweep.settings import resolve, settings
    from repro.experiments.rf_sweep.task import Task

    cfg = compose("rf_sweep", f"preset={preset}")
    validate(cfg)
    s = settings(cfg)
    r = resolve(s)
    task = Task(s, r, "cpu", None)
    spec = task.spectrum()
    curves = theory_curves(s, task, spec, np.array(r.ridges))
    assert np.isfinite(curves["vs_k_test"][:, 1:]).all() and np.isfinite(curves["krr_vs_n_test"]).all()
