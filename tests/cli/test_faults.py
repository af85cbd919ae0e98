"""Injected faults: name collisions, a reused --name, a truncated summary, garbage JSON, two
processes on one sweep, a killed attempt. Each test shows that nothing is lost (finished results
stay, byte for byte) and nothing is run twice (attempt counts, start times)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from repro.experiments.common.rundir import RunLock, _attempt
from tests_cli_data import TINY_RF

runner = CliRunner()
REPRO = [sys.executable, "-m", "repro.cli.app"]
GARBAGE = b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage \x00"


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output, Path(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


def runs_of(sweep: Path) -> list[Path]:
    return sorted(p.parent for p in sweep.glob("*/config.yaml"))


def info(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def no_traceback(output: str) -> None:
    assert "Traceback" not in output, output


def test_values_a_slug_cannot_tell_apart_get_their_own_runs(tmp_path):
    code, out, sweep = invoke("rf-sweep", *TINY_RF, "tag='a b','a-b'", "--out", tmp_path)
    assert code == 0, out
    runs = runs_of(sweep)
    assert len(runs) == 2 and "2/2 run(s) done" in out
    tags = sorted(json.loads((r / "summary.json").read_text())["config_hash"] for r in runs)
    assert tags[0] != tags[1]
    from omegaconf import OmegaConf

    assert sorted(OmegaConf.load(r / "config.yaml").tag for r in runs) == ["a b", "a-b"]


def test_a_reused_name_with_another_config_stops_and_force_keeps_the_old_attempt(tmp_path):
    code, out, d = invoke("rf-sweep", *TINY_RF, "--name", "exp", "--out", tmp_path)
    assert code == 0 and d == tmp_path / "rf_sweep" / "exp"
    first = (d / "summary.json").read_bytes()
    code, out, _ = invoke("rf-sweep", *TINY_RF, "--seed", 1, "--name", "exp", "--out", tmp_path)
    assert code == 2 and "--name exp already holds a run of a different config" in out and "--force" in out
    assert len(out.strip().splitlines()) == 1 and (d / "summary.json").read_bytes() == first  # nothing touched
    code, out, _ = invoke("rf-sweep", *TINY_RF, "--name", "exp", "--out", tmp_path)  # the same config: resumes
    assert code == 0 and "already done" in out and info(d)["attempts"] == 1
    code, out, _ = invoke("rf-sweep", *TINY_RF, "--seed", 1, "--name", "exp", "--force", "--out", tmp_path)
    assert code == 0, out
    assert (d / "summary.attempt-1.json").read_bytes() == first  # the old result is kept aside
    assert info(d)["attempts"] == 2 and "seed: 1" in (d / "config.yaml").read_text()


def test_a_name_that_holds_a_sweep_is_not_taken_for_a_run(tmp_path):
    code, out, _ = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--name", "both", "--out", tmp_path)
    assert code == 0, out
    code, out, _ = invoke("rf-sweep", *TINY_RF, "--name", "both", "--out", tmp_path)
    assert code == 2 and "already holds a sweep" in out
    code, out, _ = invoke("rf-sweep", *TINY_RF, "seed=0,2", "--name", "both", "--out", tmp_path)
    assert code == 2 and "different grid" in out


def test_a_truncated_summary_is_redone_and_never_aggregated(tmp_path):
    code, out, sweep = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--out", tmp_path)
    assert code == 0, out
    good, broken = runs_of(sweep)
    kept = (good / "summary.json").read_bytes()
    text = (broken / "summary.json").read_text()
    (broken / "summary.json").write_text(text[: len(text) // 2])
    code, out, _ = invoke("aggregate", sweep)
    assert code == 0 and f"skipping 1 run(s) not verified done: {broken.name}" in out
    table = pd.read_csv(sweep / "aggregate.csv")
    assert list(table["run"]) == [good.name] and table["summary.points"].notna().all()  # no empty row
    code, out, _ = invoke("runs", sweep)
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("done", "pending"))]
    assert code == 0 and sorted(rows) == ["done", "pending"]
    code, out, _ = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--out", tmp_path)
    assert code == 0 and "resuming: 1 of 2 run(s) already done, 1 to run" in out
    assert info(broken)["attempts"] == 2 and json.loads((broken / "summary.json").read_text())["points"] > 0
    assert (broken / "summary.attempt-1.json").read_text() == text[: len(text) // 2]  # kept, not trusted
    assert info(good)["attempts"] == 1 and (good / "summary.json").read_bytes() == kept


def test_a_summary_of_another_config_is_not_believed(tmp_path):
    code, out, d = invoke("rf-sweep", *TINY_RF, "--out", tmp_path)
    s = json.loads((d / "summary.json").read_text())
    s["config_hash"] = "0" * 16
    (d / "summary.json").write_text(json.dumps(s))
    code, out, _ = invoke("rf-sweep", *TINY_RF, "--out", tmp_path)
    assert code == 0 and "carries another config's hash" in out and info(d)["attempts"] == 2


@pytest.mark.parametrize("victim", ["run.json", "sweep.json", "summary.json", "config.yaml"])
def test_garbage_json_never_crashes_runs_aggregate_or_a_rerun(tmp_path, victim):
    code, out, sweep = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--out", tmp_path)
    assert code == 0, out
    first, second = runs_of(sweep)
    starts = {r.name: info(r)["start"] for r in (first, second)}
    target = sweep / victim if victim == "sweep.json" else second / victim
    target.write_bytes(GARBAGE)
    named = 0
    for args in (["runs", sweep], ["runs", tmp_path], ["aggregate", sweep], ["plot", first]):
        code, out, _ = invoke(*args)
        assert code == 0, (args, out)
        no_traceback(out)
        assert out.count(f"{target} is unreadable") <= 1  # in one line, once per command
        named += f"{target} is unreadable" in out
    assert named >= 1
    code, out, _ = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--out", tmp_path)
    assert code == 0, out
    no_traceback(out)
    assert info(first)["start"] == starts[first.name] and info(first)["attempts"] == 1  # not run twice
    redone = victim in ("run.json", "summary.json")  # a done run's damaged config.yaml is rewritten, not rerun
    assert info(second)["attempts"] == (2 if redone else 1)
    if redone:  # the damaged attempt's own rows are kept apart, the new attempt's file starts afresh
        assert (second / "metrics.attempt-1.jsonl").exists() and (second / "metrics.jsonl").exists()
    assert json.loads((sweep / "sweep.json").read_text())["runs"] == {first.name: "done", second.name: "done"}
    assert (second / "config.yaml").read_text().startswith("seed: 0") or "seed:" in (second / "config.yaml").read_text()


def test_a_run_another_process_holds_is_waited_for_not_run_twice(tmp_path, compose):
    """The test holds one run's lock (as a second command would) and finishes that run itself
    while the sweep waits; the sweep runs the other and adopts the held one's result."""
    code, out, sweep = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--dry-run", "--out", tmp_path)
    held_dir = Path(out.split()[out.split().index("pending") + 1])
    lock = RunLock(held_dir)
    assert lock.acquire()
    args = REPRO + ["rf-sweep", *TINY_RF, "seed=0,1", "--out", str(tmp_path)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(sweep.glob("*/summary.json")):
        time.sleep(0.1)
    code, listing, _ = invoke("runs", sweep)
    assert "held" in listing
    from omegaconf import OmegaConf

    OmegaConf.save(compose("rf_sweep", *TINY_RF, "seed=0" if "seed=0" in held_dir.name else "seed=1"),
                   held_dir / "config.yaml")
    assert _attempt("rf_sweep", held_dir, 0) == "done"  # the holder finishes its run, then lets go
    lock.release()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "waiting for 1 run(s) another process holds" in stderr and "2/2 run(s) done" in stderr
    assert info(held_dir)["pid"] == os.getpid() and info(held_dir)["attempts"] == 1


@pytest.mark.slow
def test_two_identical_sweeps_at_once_run_every_run_exactly_once(tmp_path):
    args = REPRO + ["rf-sweep", *TINY_RF, "trials=4", "seed=0,1,2,3", "--out", str(tmp_path)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    sweep = Path(outs[0][0].strip().splitlines()[-1])
    runs = runs_of(sweep)
    assert len(runs) == 4
    for r in runs:
        assert info(r)["attempts"] == 1 and not list(r.glob("*.attempt-*"))  # one attempt, one writer
        steps = [json.loads(line)["step"] for line in (r / "metrics.jsonl").read_text().splitlines()]
        assert steps == sorted(set(steps))  # no second writer's rows interleaved
    assert {info(r)["pid"] for r in runs} <= {p.pid for p in procs}
    assert all("4/4 run(s) done" in o[1] for o in outs)


@pytest.mark.slow
def test_a_killed_attempt_keeps_its_metrics_apart_and_sweep_json_current(tmp_path):
    args = REPRO + ["rf-sweep", *TINY_RF, "trials=400", "seed=0,1", "--out", str(tmp_path)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 240

    def second_run_logging():
        done = list(tmp_path.rglob("summary.json"))
        logs = [p for p in tmp_path.rglob("metrics.jsonl") if not (p.parent / "summary.json").exists()]
        return done and logs and logs[0].read_text().count("\n") >= 2

    while time.time() < deadline and not second_run_logging():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sweep = next(tmp_path.rglob("sweep.json")).parent
    finished = next(p.parent for p in sweep.rglob("summary.json"))
    killed = next(r for r in runs_of(sweep) if r != finished)
    statuses = json.loads((sweep / "sweep.json").read_text())["runs"]
    assert statuses == {finished.name: "done", killed.name: "running"}  # updated as each run finished
    code, listing, _ = invoke("runs", sweep)
    assert "stale" in listing  # run.json says running, but no process holds it
    old_rows = (killed / "metrics.jsonl").read_text()
    kept = (finished / "summary.json").read_bytes()
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (killed / "metrics.attempt-1.jsonl").read_text().startswith(old_rows)  # the killed attempt's rows
    new = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert new[0]["step"] == 1 and [r["step"] for r in new] == sorted({r["step"] for r in new})
    assert info(killed)["attempts"] == 2 and info(finished)["attempts"] == 1
    assert (finished / "summary.json").read_bytes() == kept
    assert json.loads((sweep / "sweep.json").read_text())["runs"] == {finished.name: "done", killed.name: "done"}


def test_sweep_json_is_updated_as_each_run_finishes(tmp_path, monkeypatch):
    """Watch sweep.json from inside the second run: the first already reads done there."""
    import repro.experiments.rf_sweep.run as rf

    seen = []
    real = rf.run

    def watching(cfg, run_dir):
        seen.append(json.loads((Path(run_dir).parent / "sweep.json").read_text())["runs"])
        return real(cfg, run_dir)

    monkeypatch.setattr(rf, "run", watching)
    code, out, sweep = invoke("rf-sweep", *TINY_RF, "seed=0,1", "--out", tmp_path)
    assert code == 0, out
    first, second = (r.name for r in runs_of(sweep))
    assert sorted(seen[1].values()) == ["done", "running"]
    assert seen[0] == {first: "running", second: "pending"} or seen[0] == {first: "pending", second: "running"}
