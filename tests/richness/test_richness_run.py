"""Config validation and end-to-end runs through the run-directory contract."""
import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.rundir import execute
from repro.experiments.richness.run import validate
from repro.experiments.richness.train import Diverged, Setting, train
from repro.experiments.richness.data import teacher_task

import repro.configs

CONFIG_DIR = str(__import__("pathlib").Path(repro.configs.__file__).parent / "richness")


def cfg_of(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize("override,key", [("width=-3", "width"), ("r=nan", "r"), ("gauge=foo", "gauge"),
                                          ("gamma0=0", "gamma0"), ("experiment=e9", "experiment"),
                                          ("param=xyz", "param"), ("lr=-1", "lr"), ("depth=1", "depth"),
                                          ("model=myrtle5", "dataset")])
def test_validate_names_the_bad_key(override, key):
    with pytest.raises(ConfigError) as e:
        validate(cfg_of("preset=quick", override))
    msg = str(e.value)
    assert msg.startswith(key + "=") and "\n" not in msg


@pytest.mark.parametrize("experiment", ["train", "e1", "e2", "e3", "e4", "gamma_sweep", "coord", "lazy", "gauges"])
def test_every_experiment_validates_in_every_preset(experiment, tmp_path):
    for name in ("mnist", "cifar10"):          # validate only checks that a local copy exists
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.npz").write_bytes(b"")
    for preset in ("quick", "default", "paper"):
        validate(cfg_of(f"preset={preset}", f"experiment={experiment}", f"data_dir={tmp_path}"))


@pytest.mark.parametrize("experiment", ["e1", "e2", "e4"])
def test_image_experiment_without_data_fails_in_validate(experiment, tmp_path, monkeypatch):
    """Offline and without a local copy: one ConfigError naming data_dir before any run starts."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))     # an empty default data folder
    with pytest.raises(ConfigError, match="hub is unreachable; pass data_dir=DIR"):
        validate(cfg_of("preset=quick", f"experiment={experiment}", "data_dir=null"))


def run_dir_with(tmp_path, *overrides):
    cfg = cfg_of(*overrides)
    d = tmp_path / "run"
    d.mkdir()
    OmegaConf.save(cfg, d / "config.yaml", resolve=True)
    return d


def test_quick_train_run_end_to_end(tmp_path):
    d = run_dir_with(tmp_path, "preset=quick", "train.steps=20", "log_every=10", "ntk_every=10", "train.n_train=128")
    assert execute("richness", d) == "done", json.loads((d / "run.json").read_text()).get("traceback")
    s = json.loads((d / "summary.json").read_text())
    assert s["richness"]["alpha"] == pytest.approx(16.0) and s["richness"]["width"] == 256
    assert s["final"]["test_mse"] < 1.0 and 0 < s["final"]["ntk_change"]
    assert (d / "figures" / "train.png").exists() and (d / "metrics.jsonl").read_text().count("\n") == 3


def test_gauges_experiment_end_to_end(tmp_path):
    d = run_dir_with(tmp_path, "preset=quick", "experiment=gauges", "gauges.steps=10")
    assert execute("richness", d) == "done"
    s = json.loads((d / "summary.json").read_text())
    assert s["pass"] and s["measured_max_rel_diff"] < 1e-10 and all(b["breaks"] for b in s["breakers"].values())


def test_r_outside_scale_runs_with_a_warning(tmp_path):
    d = run_dir_with(tmp_path, "preset=quick", "r=0.7", "train.steps=5", "probe=0", "ntk_probe=0")
    with pytest.warns(RuntimeWarning, match="gradients explode"):
        assert execute("richness", d) == "done"
    assert "gradients explode" in json.loads((d / "summary.json").read_text())["r_warning"]


def test_diverging_run_fails_naming_step_lr_and_richness(tmp_path):
    data = teacher_task(64, 16, 4, 1, 16, 0)
    with pytest.raises(Diverged, match=r"step \d+.*lr=1000000.0.*r=0.5, gamma0=1.0"):
        train(Setting(width=64, lr=1e6, steps=50, probe=0, ntk_probe=0, batch=16), data, "cpu", __import__("torch").float32)
    d = run_dir_with(tmp_path, "preset=quick", "lr=1e6", "train.steps=50", "probe=0", "ntk_probe=0")
    assert execute("richness", d) == "failed"
    err = json.loads((d / "run.json").read_text())["error"]
    assert "diverged at step" in err and "lr=1000000.0" in err and "r=0.5" in err


@pytest.mark.parametrize("override,key", [("e2.ntk_lr_frac=1.5", "e2.ntk_lr_frac"), ("e2.ntk_steps=-1", "e2.ntk_steps"),
                                          ("e2.ntk_steps=2.5", "e2.ntk_steps")])
def test_validate_e2_ntk_training_keys(override, key):
    with pytest.raises(ConfigError) as e:
        validate(cfg_of("preset=quick", "experiment=e2", override))
    assert str(e.value).startswith(key + "=")
