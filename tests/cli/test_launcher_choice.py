"""The launcher is chosen in one place, the `launcher` config group: `--launcher X` and `launcher=X`
are the same thing, and `--jobs N` is `launcher.jobs=N`, the local launcher's key."""
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from tests_cli_data import TINY_RF

runner = CliRunner()


def test_the_group_override_alone_picks_the_launcher(tmp_path):
    pytest.importorskip("submitit")
    result = runner.invoke(app, ["rf-sweep", *TINY_RF, "launcher=slurm", "launcher.cluster=local",
                                 "launcher.timeout_min=5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    assert "submitted 1 task(s) with submitit (local)" in result.output and any((run / "submitit").rglob("*.out"))


def test_jobs_is_the_local_launchers_key(tmp_path):
    for args in (["--jobs", "2"], ["launcher.jobs=2"]):
        result = runner.invoke(app, ["rf-sweep", *TINY_RF, "seed=0,1", *args, "--dry-run", "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["show-config", "rf-sweep", "launcher.jobs=3"]).output
    assert "launcher:\n  name: local\n  jobs: 3" in shown
    shown = runner.invoke(app, ["show-config", "rf-sweep", "launcher=ray"]).output
    assert "name: ray" in shown and "jobs" not in shown
