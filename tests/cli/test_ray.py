"""--launcher ray end to end on a local Ray (2 CPUs): a 2 x 2 sweep with one failing run isolated,
then the same command resumes, running only the failed run.

The failure is injected in the Ray workers only: a sitecustomize.py on their PYTHONPATH wraps
rf_sweep's run so that the run with tag=fail and seed=1 raises while a flag file exists."""
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from tests_cli_data import TINY_RF

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

HOOK = '''
import importlib.abc, importlib.util, os, sys

TARGET = "repro.experiments.rf_sweep.run"


def wrap(module):
    real = module.run

    def run(cfg, run_dir):
        if os.path.exists({flag!r}) and cfg.tag == "fail" and cfg.seed == 1:
            raise RuntimeError("injected failure in one Ray task")
        return real(cfg, run_dir)

    module.run = run


class Hook(importlib.abc.MetaPathFinder):  # patches the module when (and only if) a worker imports it
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module
        spec.loader.exec_module = lambda m: (execute(m), wrap(m))
        return spec


sys.meta_path.insert(0, Hook())
'''


@pytest.fixture
def local_ray(tmp_path, monkeypatch):
    hook = tmp_path / "hook"
    hook.mkdir()
    flag = tmp_path / "fail.flag"
    (hook / "sitecustomize.py").write_text(textwrap.dedent(HOOK.format(flag=str(flag))))
    monkeypatch.setenv("PYTHONPATH", f"{hook}:{Path(__file__).resolve().parents[1]}")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")  # CI is offline: no usage report
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield flag
    ray.shutdown()


def test_ray_sweep_isolates_a_failure_and_resumes(tmp_path, local_ray):
    flag = local_ray
    flag.write_text("fail")
    args = ["rf-sweep", *TINY_RF, "seed=0,1", "tag=ok,fail", "--launcher", "ray", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    sweep = Path(result.stdout.strip().splitlines()[-1])
    runs = json.loads((sweep / "sweep.json").read_text())["runs"]
    failed = [n for n, s in runs.items() if s == "failed"]
    assert len(runs) == 4 and len(failed) == 1 and failed[0].startswith("seed=1_tag=fail-")
    assert "injected failure" in json.loads((sweep / failed[0] / "run.json").read_text())["error"]
    assert "3/4 run(s) done" in result.output and f"failed: {sweep / failed[0]}" in result.output
    starts = {n: json.loads((sweep / n / "run.json").read_text())["start"] for n in runs}

    flag.unlink()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "resuming: 3 of 4 run(s) already done, 1 to run" in result.output
    infos = {n: json.loads((sweep / n / "run.json").read_text()) for n in runs}
    assert all(i["status"] == "done" for i in infos.values())
    assert {n: i["attempts"] for n, i in infos.items()} == {n: 2 if n in failed else 1 for n in runs}
    assert all(infos[n]["start"] == starts[n] for n in runs if n not in failed)  # finished runs not redone
    assert all(json.loads((sweep / n / "summary.json").read_text())["points"] > 0 for n in runs)
