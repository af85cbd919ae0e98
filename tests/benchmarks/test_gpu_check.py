"""The GPU check is rehearsed on the CPU: its argument parsing, its step table and its first step
(`DEVICE=cpu benchmarks/gpu_check.sh --first 1`), so the script is known to work before a GPU is lent."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_check  # noqa: E402


def test_steps_cover_every_experiment_and_kernel():
    names = [s.name for s in gpu_check.ALL]
    assert len(names) == len(set(names))
    assert any(n.startswith("rf-sweep") for n in names) and any(n.startswith("word2vec") for n in names)
    richness = {s.args[2] for s in gpu_check.RUNS if s.args[0] == "richness"}
    from repro.experiments.richness.settings import EXPERIMENTS
    core = {"train", "named_points_mlp", "width_exponents", "lr_transfer", "named_points_cnn", "gamma_sweep",
            "coord_check", "lazy_limit", "gauges"}
    assert core <= richness <= set(EXPERIMENTS)
    import gpu_kernels
    assert {s.args[0] for s in gpu_check.KERNELS} == set(gpu_kernels.KERNELS)


@pytest.mark.parametrize("argv,fragment", [(["--device", "tpu"], "--device 'tpu' is invalid"),
                                           (["--budget", "0"], "--budget 0.0 is invalid"),
                                           (["--limit-scale", "-1"], "--limit-scale -1.0 is invalid")])
def test_bad_arguments_exit_2_with_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        gpu_check.main(argv + ["--list"])
    assert e.value.code == 2 and fragment in capsys.readouterr().err


def test_checks_and_numbers_skip_config_echoes():
    summary = {"resolved": {"bias": True, "lr": 0.1}, "mup_below_ntp": {"pass": False}, "slope": -0.5,
               "wall_seconds": 3.0, "exponent_checks": [{"pass": True, "measured": 0.25}]}
    assert gpu_check.boolean_checks(summary) == {"mup_below_ntp.pass": False, "exponent_checks[0].pass": True}
    assert gpu_check.numbers(summary) == {"slope": -0.5, "exponent_checks[0].measured": 0.25}


@pytest.mark.slow
def test_cpu_rehearsal_of_the_first_step(tmp_path):
    env = dict(os.environ, DEVICE="cpu", OUT=str(tmp_path / "out"), BUDGET="300", LIMIT_SCALE="6",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", REPRO_OUTPUT_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--first", "1"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "out" / "gpu_check.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["pass"] and rows[0]["step"] == gpu_check.ALL[0].name
    table = (tmp_path / "out" / "gpu_check.md").read_text()
    assert "| rf-sweep quick | pass |" in table
