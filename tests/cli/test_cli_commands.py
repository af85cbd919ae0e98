"""The repro CLI end to end: help, show-config, runs, sweeps, resume, failures, bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from typer.testing import CliRunner

from repro.cli.app import app
from repro.cli.registry import EXPERIMENTS, config_dir, group_options
from repro.experiments.common.errors import ConfigError

runner = CliRunner()
REPRO = [sys.executable, "-m", "repro.cli.app"]


class Output(str):
    """Everything printed (stdout and stderr); `.stdout` alone holds the directory line."""

    stdout: str


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    out = Output(result.output)
    out.stdout = result.stdout
    return result.exit_code, out


def last_line(output: Output) -> Path:
    """The command's last stdout line: the run or sweep directory."""
    return Path(output.stdout.strip().splitlines()[-1])


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("config.yaml"))


def test_help_lists_every_experiment_with_an_example():
    code, out = invoke("--help")
    assert code == 0
    for name in ("word2vec", "richness", "rf-sweep", "show-config", "plot", "aggregate", "runs"):
        assert name in out
    for name in EXPERIMENTS:
        code, out = invoke(name, "--help")
        assert code == 0 and "Example:" in out and "--dry-run" in out and "--launcher" in out


def test_console_script_runs_as_a_module():
    out = subprocess.run(REPRO + ["--help"], capture_output=True, text=True, check=True).stdout
    assert "rf-sweep" in out


def test_show_config_prints_the_resolved_config():
    code, out = invoke("show-config", "rf-sweep", "trials=7", "dataset.alpha=2")
    assert code == 0 and "trials: 7" in out and "alpha: 2" in out and "launcher:" in out


@pytest.mark.parametrize("package", sorted({e.package for e in EXPERIMENTS.values()}))
def test_every_config_and_group_option_composes(compose, package):
    groups = [p.name for p in config_dir(package).iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert "preset" in groups
    for group in groups + ["launcher"]:
        composed = {}
        for option in group_options(package, group):
            cfg = compose(package, f"{group}={option}")
            # a group whose options carry a name composes the option asked for
            assert OmegaConf.select(cfg, f"{group}.name", default=option) == option
            composed[option] = OmegaConf.to_yaml(cfg)
        assert len(set(composed.values())) == len(composed), f"two {group} options compose the same config"


def test_single_run_writes_the_run_directory_contract(tmp_path, tiny_rf):
    code, out = invoke("rf-sweep", *tiny_rf, "--out", tmp_path, "--seed", 3)
    assert code == 0, out
    d = last_line(out)
    assert d.parent == tmp_path / "rf_sweep"
    info = json.loads((d / "run.json").read_text())
    assert info["status"] == "done" and info["wall_seconds"] > 0 and info["versions"]["torch"]
    assert info["device"] == "cpu" and "start" in info and "end" in info
    assert (d / "config.yaml").read_text().count("seed: 3") == 1
    assert json.loads((d / "summary.json").read_text())["points"] > 0
    assert (d / "metrics.jsonl").read_text().strip() and (d / "figures").is_dir()
    # the same command again resumes: nothing to do
    code, out = invoke("rf-sweep", *tiny_rf, "--out", tmp_path, "--seed", 3)
    assert code == 0 and "already done" in out and json.loads((d / "run.json").read_text())["attempts"] == 1


@pytest.mark.slow  # > 10 s on a busy 2-core machine
def test_sweep_with_parallel_jobs_and_aggregate(tmp_path, tiny_rf):
    code, out = invoke("rf-sweep", *tiny_rf, "seed=0,1", "dataset.noise=0.1,0.5", "--jobs", 2, "--out", tmp_path)
    assert code == 0, out
    sweep = last_line(out)
    runs = run_dirs(sweep)
    assert len(runs) == 4 and all((r / "summary.json").exists() for r in runs)
    info = json.loads((sweep / "sweep.json").read_text())
    assert set(info["runs"].values()) == {"done"} and info["axes"] == {"seed": ["0", "1"], "dataset.noise": ["0.1", "0.5"]}
    code, out = invoke("aggregate", sweep)
    assert code == 0
    table = pd.read_csv(sweep / "aggregate.csv")
    assert len(table) == 4 and {"config.seed", "config.dataset.noise", "summary.max_deviation_se"} <= set(table.columns)
    assert len(pd.read_parquet(sweep / "aggregate.parquet")) == 4
    code, out = invoke("runs", tmp_path)
    assert code == 0 and out.count("done") == 4
    code, out = invoke("plot", runs[0])
    assert code == 0 and (runs[0] / "figures" / "fig1_mse_vs_k_and_n.png").exists()


def test_sweep_syntax_range_choice_glob_and_dry_run(tmp_path, tiny_rf):
    code, out = invoke("rf-sweep", *tiny_rf, "trials=range(2,4)", "dataset.noise=choice(0.1,0.2)", "features=glob(*)",
                       "--dry-run", "--out", tmp_path)
    assert code == 0, out
    assert out.count("pending") == 2 * 2 * 2 and "trials=3_dataset.noise=0.2_features=relu" in out
    assert not tmp_path.joinpath("rf_sweep").exists()  # a dry run writes nothing


def test_failed_run_is_recorded_and_the_rest_go_on(tmp_path, tiny_rf, monkeypatch):
    import repro.experiments.rf_sweep.run as rf

    real = rf.measure

    def flaky(cfg, *args):
        if float(cfg.dataset.noise) == 0.2:
            raise RuntimeError("simulated failure in one run")
        return real(cfg, *args)

    monkeypatch.setattr(rf, "measure", flaky)
    code, out = invoke("rf-sweep", *tiny_rf, "dataset.noise=0.1,0.2,0.3", "--out", tmp_path)
    assert code == 1
    sweep = last_line(out)
    statuses = {n.rsplit("-", 1)[0]: s for n, s in json.loads((sweep / "sweep.json").read_text())["runs"].items()}
    assert statuses == {"dataset.noise=0.1": "done", "dataset.noise=0.2": "failed", "dataset.noise=0.3": "done"}
    failed = json.loads(next(sweep.glob("dataset.noise=0.2-*/run.json")).read_text())
    assert "simulated failure" in failed["error"] and "Traceback" in failed["traceback"]
    assert "failed" in out and "dataset.noise=0.2" in out


@pytest.mark.parametrize("args,needle", [
    (["trials=abc"], "trials"),
    (["nosuchkey=1"], "nosuchkey"),
    (["dataset=imagenet"], "valid choices: cifar10, fashion_mnist, gaussian, mnist"),
    (["dataset.alpha=0.5"], "dataset.alpha"),
    (["trials=1,0"], "trials"),
    (["--data-dir", "/no/such/folder"], "/no/such/folder"),
    (["data_dir=/no/such/folder"], "data_dir='/no/such/folder'"),
    (["--launcher", "pbs"], "pbs"),
    (["--jobs", "0"], "--jobs"),
    (["--device", "tpu"], "tpu"),
    (["trials=[1,2"], "cannot parse"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, tiny_rf, args, needle):
    code, out = invoke("rf-sweep", *tiny_rf, *args, "--out", tmp_path / "D")
    assert code == 2, out
    lines = [line for line in out.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not (tmp_path / "D").exists()


def test_missing_optional_launcher_names_the_extra(tmp_path, tiny_rf):
    pytest.importorskip("submitit")
    try:
        import ray  # noqa: F401
        pytest.skip("ray is installed here")
    except ImportError:
        pass
    code, out = invoke("rf-sweep", *tiny_rf, "--launcher", "ray", "--out", tmp_path / "D")
    assert code == 2 and "pip install 'repro[ray]'" in out and not (tmp_path / "D").exists()


@pytest.mark.slow  # > 10 s on a busy 2-core machine
def test_submitit_local_launcher_runs_a_sweep(tmp_path, tiny_rf):
    pytest.importorskip("submitit")
    code, out = invoke("rf-sweep", *tiny_rf, "seed=0,1", "--launcher", "slurm", "launcher.cluster=local",
                       "launcher.timeout_min=5", "--out", tmp_path)
    assert code == 0, out
    sweep = last_line(out)
    assert all((r / "summary.json").exists() for r in run_dirs(sweep)) and len(run_dirs(sweep)) == 2
    assert any((sweep / "submitit").rglob("*.out"))  # submitit's own logs


@pytest.mark.slow  # > 10 s on a busy 2-core machine
def test_killed_sweep_resumes_only_the_missing_runs(tmp_path, tiny_rf):
    """Kill a serial sweep after its first run finishes; the same command then runs only the rest."""
    args = REPRO + ["rf-sweep", *tiny_rf, "seed=0,1,2,3", "--out", str(tmp_path)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    deadline = time.time() + 120
    def done_runs():
        return [p for p in tmp_path.rglob("run.json") if '"status": "done"' in p.read_text()]
    while time.time() < deadline and not done_runs():
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # finished = marked done; a kill can land between a run's summary.json and its run.json "done",
    # and such a run is (rightly) redone
    runs = {p.parent.name: json.loads((p.parent / "run.json").read_text()) for p in tmp_path.rglob("summary.json")}
    finished = {name: info["start"] for name, info in runs.items() if info["status"] == "done"}
    assert 1 <= len(finished) < 4
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert f"resuming: {len(finished)} of 4 run(s) already done" in out.stderr
    sweep = Path(out.stdout.strip().splitlines()[-1])
    for name, start in finished.items():  # finished runs were not redone
        assert json.loads((sweep / name / "run.json").read_text())["start"] == start
    assert len(list(sweep.rglob("summary.json"))) == 4


def test_ctrl_c_marks_the_run_interrupted_and_keeps_metrics(tmp_path, tiny_rf, monkeypatch):
    import repro.experiments.rf_sweep.run as rf

    def interrupted(cfg, task, pts, deltas, run_dir):
        from repro.experiments.common.metrics import MetricsWriter

        MetricsWriter(run_dir).log(step=1, note="before Ctrl-C")
        raise KeyboardInterrupt

    monkeypatch.setattr(rf, "measure", interrupted)
    code, out = invoke("rf-sweep", *tiny_rf, "--out", tmp_path)
    assert code == 130
    d = last_line(out)
    assert json.loads((d / "run.json").read_text())["status"] == "interrupted"
    assert "before Ctrl-C" in (d / "metrics.jsonl").read_text()
    assert not (d / "summary.json").exists()


def test_compose_rejects_unknown_keys_and_types(compose):
    with pytest.raises(ConfigError, match="unknown config key 'bogus'"):
        compose("rf_sweep", "bogus=1")
    with pytest.raises(ConfigError, match="wrong type"):
        compose("rf_sweep", "ridges.ridgeless=maybe")
    assert compose("rf_sweep", "+extra=1").extra == 1
    assert "plot" not in compose("rf_sweep", "~plot")
