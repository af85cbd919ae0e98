"""Settings, validation and end-to-end runs through the run-directory contract."""
import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from repro.experiments.common.errors import ConfigError, Diverged
from repro.experiments.common.rundir import execute
from repro.experiments.common.settings import fields_of
from repro.experiments.richness.data import load_data
from repro.experiments.richness.run import validate
from repro.experiments.richness.settings import ALIASES, EXPERIMENTS, Settings, resolve, settings
from repro.experiments.richness.train import net_from, setting_from, train

NAMES = EXPERIMENTS + tuple(ALIASES)


def execute_with(run_dir, cfg) -> dict:
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    status = execute("richness", run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    assert status == "done", info.get("traceback")
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.parametrize("override,key", [("width=-3", "width="), ("r=nan", "r="), ("gauge=foo", "gauge="),
                                          ("gamma0=0", "gamma0="), ("experiment=e9", "experiment="),
                                          ("param=xyz", "param="), ("lr=-1", "lr="), ("depth=1", "depth="),
                                          ("model=myrtle5", "train.dataset="), ("momentum=1.0", "momentum="),
                                          ("train.probe=4096", "train.probe="), ("tag=7", "tag=")])
def test_validate_names_the_bad_key(compose, override, key):
    with pytest.raises(ConfigError) as e:
        validate(compose("richness", "preset=quick", override))
    msg = str(e.value)
    assert msg.startswith(key) and "\n" not in msg, msg


@pytest.mark.parametrize("overrides,message", [
    (("experiment=e2", "width=64"), "width=64 is invalid for experiment=width_exponents: it reads no width"),
    (("experiment=gauges", "gauge=mup"), "gauge='mup' is invalid for experiment=gauges"),
    (("experiment=e1", "param=mup"), "param=mup is invalid for experiment=named_points_mlp"),
    (("param=mup", "r=0.25"), "r=0.25 is invalid with param=mup")])
def test_a_knob_the_experiment_does_not_read_is_an_error(compose, overrides, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose("richness", "preset=quick", *overrides))


@pytest.mark.parametrize("experiment", NAMES)
def test_every_experiment_validates_and_resolves_in_every_preset(compose, experiment, tmp_path, image_folder):
    image_folder(tmp_path)
    for preset in ("quick", "default", "paper"):
        cfg = compose("richness", f"preset={preset}", f"experiment={experiment}", f"data_dir={tmp_path}")
        validate(cfg)
        rs = resolve(settings(cfg))
        assert rs.experiment == ALIASES.get(experiment, experiment)
        assert rs.block == getattr(settings(cfg), rs.experiment)  # nothing set at the top: the block as written


def test_settings_mirror_the_yaml_in_both_directions(compose):
    cfg = OmegaConf.to_container(compose("richness"), resolve=True)
    cfg.pop("launcher")

    def leaves(node, prefix=""):
        for k, v in node.items():
            yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) and k != "lr_grid" else [f"{prefix}{k}"]

    assert sorted(leaves(cfg)) == sorted(fields_of(Settings))


def test_top_level_knobs_and_named_points_override_the_block(compose):
    rs = resolve(settings(compose("richness", "preset=quick", "width=64", "param=mup-lr", "center=true")))
    assert (rs.block.width, rs.block.r, rs.block.gauge, rs.block.center) == (64, 0.5, "stp", True)
    base = settings(compose("richness", "preset=quick")).train
    assert rs.block.steps == base.steps and base.width == 256 and (base.r, base.gauge) == (0.5, "mup")
    assert resolve(settings(compose("richness", "param=ntp"))).block.r == 0.0


def test_n_train_and_n_test_are_checked_against_the_split(compose, tmp_path, image_folder):
    image_folder(tmp_path, {"mnist": (800, 300)})
    with pytest.raises(ConfigError, match=r"named_points_mlp.n_train=1000 is invalid: mnist's train split has 800"):
        validate(compose("richness", "preset=quick", "experiment=e1", f"data_dir={tmp_path}"))
    with pytest.raises(ConfigError, match=r"^n_test=500 is invalid: mnist's test split has 300"):
        validate(compose("richness", "preset=quick", "experiment=e1", f"data_dir={tmp_path}", "n_train=800",
                         "n_test=500"))
    validate(compose("richness", "preset=quick", "experiment=e1", f"data_dir={tmp_path}", "n_train=800", "n_test=300"))
    validate(compose("richness", "preset=quick", "n_train=100000", "n_eval=10"))  # the teacher task has no bound


@pytest.mark.parametrize("experiment", ["e1", "e2", "e4"])
def test_image_experiment_without_data_fails_in_validate(compose, experiment, tmp_path, monkeypatch):
    """Offline and without a local copy: one ConfigError naming data_dir before any run starts."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))     # an empty default data folder
    with pytest.raises(ConfigError, match="hub is unreachable; pass data_dir=DIR"):
        validate(compose("richness", "preset=quick", f"experiment={experiment}", "data_dir=null"))


def test_quick_train_run_end_to_end(compose, run_dir):
    s = execute_with(run_dir, compose("richness", "preset=quick", "steps=20", "log_every=10", "ntk_every=10",
                                      "n_train=128"))
    assert s["richness"]["alpha"] == pytest.approx(16.0) and s["richness"]["width"] == 256
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 10, 20]
    assert rows[-1]["train_mse"] < 0.8 * rows[0]["train_mse"] and s["final"] == rows[-1]
    assert rows[-1]["ntk_change"] > 0.1  # muP at alpha/sqrt(n) = 1 is rich: the kernel moves by O(1)
    assert s["resolved"]["train"]["n_train"] == 128 and s["resolved"]["train"]["steps"] == 20
    assert s["resolved"]["seed"] == 0 and s["experiment"] == "train"
    assert (run_dir / "figures" / "train.png").exists()


def test_gauges_experiment_end_to_end_under_its_old_name(compose, run_dir):
    s = execute_with(run_dir, compose("richness", "preset=quick", "experiment=gauges", "steps=10"))
    assert s["pass"] and s["measured_max_rel_diff"] < 1e-10
    assert all(b["breaks"] and b["measured_max_rel_diff"] > 1e-4 for b in s["breakers"].values())
    assert set(s["breakers"]) == {"weight_decay", "adam"} and s["resolved"]["gauges"]["steps"] == 10


def test_r_outside_scale_runs_with_a_warning(compose, run_dir):
    with pytest.warns(RuntimeWarning, match="gradients explode"):
        s = execute_with(run_dir, compose("richness", "preset=quick", "r=0.7", "steps=5", "probe=0", "ntk_probe=0"))
    assert "gradients explode" in s["r_warning"] and s["resolved"]["train"]["r"] == 0.7


def test_diverging_run_fails_naming_step_lr_and_richness(compose, run_dir):
    rs = resolve(settings(compose("richness", "preset=quick", "n_train=64", "n_test=16")))
    c = rs.common
    s = setting_from(c, net_from(c, model="mlp", width=64, depth=3, r=0.5, gamma0=1.0, gauge="mup"), lr=1e6,
                     momentum=0.0, batch=16, steps=50, center=False, probe=0, ntk_probe=0, log_every=25, ntk_every=25)
    with pytest.raises(Diverged, match=r"step \d+.*lr=1000000.0.*r=0.5, gamma0=1.0"):
        train(s, load_data("teacher", 64, 16, None, True, c.teacher), "cpu", __import__("torch").float32)
    OmegaConf.save(compose("richness", "preset=quick", "lr=1e6", "steps=50", "probe=0", "ntk_probe=0"),
                   run_dir / "config.yaml")
    assert execute("richness", run_dir) == "failed"
    err = json.loads((run_dir / "run.json").read_text())["error"]
    assert err.startswith("Diverged: diverged at step") and "lr=1000000.0" in err and "r=0.5" in err


@pytest.mark.parametrize("override,key", [("width_exponents.ntk_lr_frac=1.5", "width_exponents.ntk_lr_frac"),
                                          ("width_exponents.ntk_steps=-1", "width_exponents.ntk_steps"),
                                          ("width_exponents.ntk_steps=2.5", "width_exponents.ntk_steps"),
                                          ("width_exponents.table_batch=2000", "width_exponents.table_batch")])
def test_validate_width_exponents_keys(compose, override, key):
    with pytest.raises(ConfigError) as e:
        validate(compose("richness", "preset=quick", "experiment=e2", override))
    assert str(e.value).startswith(key + "=")
