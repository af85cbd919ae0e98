"""The GPU check: every experiment's quick preset on one device, and the hot kernels timed on it.

Run through `benchmarks/gpu_check.sh` (which installs the carried wheels first); rehearse on a CPU
with `DEVICE=cpu benchmarks/gpu_check.sh`. Every step runs in its own subprocess under its own time
limit, and the whole check never runs past --budget seconds: a step that no longer fits is skipped
with a line saying so. Results go to --out (the device tool's $OUT):

    gpu_check.md    one table: step, device time, CPU reference time, ratio, the checks it passed
    gpu_check.json  the same rows, machine-readable (the CPU rehearsal's copy is the reference)
    gpu_check.log   every step's stderr/stdout, in order

A run step passes when its run exits 0 and every boolean check in its summary.json (keys with
"pass" in their name, or `ok`) holds — the same tolerances as on the CPU, since it is the same
code and config. A kernel step runs `benchmarks/gpu_kernels.py KERNEL --device D` for the device
and, on a GPU, for the machine's CPU too, and reports their ratio (and the peer's, where it has one).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "gpu_check_cpu.json"  # the CPU rehearsal's rows (time and checks per step)


@dataclass(frozen=True)
class Step:
    name: str
    kind: str                 # "run": a repro command; "kernel": a gpu_kernels.py timing
    args: tuple[str, ...]     # repro arguments, or the kernel's name and options
    limit_s: float            # this step's own wall-clock limit
    needs_data: bool = False
    note: str = ""


# Quick presets of every experiment, then the hot kernels, then the two big runs. Limits are set from
# the CPU rehearsal (2 cores) so the GPU run, which should be faster, fits in one 8-minute command.
RUNS = (
    Step("rf-sweep quick", "run", ("rf-sweep", "preset=quick"), 60),
    Step("rf-sweep mnist quick", "run", ("rf-sweep", "preset=quick", "--dataset", "mnist"), 60, True),
    Step("richness train quick", "run", ("richness", "--experiment", "train", "preset=quick"), 60),
    Step("richness named_points_mlp quick", "run", ("richness", "--experiment", "named_points_mlp", "preset=quick"), 60, True),
    Step("richness width_exponents quick", "run", ("richness", "--experiment", "width_exponents", "preset=quick"), 60, True),
    Step("richness lr_transfer quick", "run", ("richness", "--experiment", "lr_transfer", "preset=quick"), 60, True),
    Step("richness named_points_cnn quick", "run", ("richness", "--experiment", "named_points_cnn", "preset=quick"), 90, True),
    Step("richness gamma_sweep quick", "run", ("richness", "--experiment", "gamma_sweep", "preset=quick"), 60),
    Step("richness coord_check quick", "run", ("richness", "--experiment", "coord_check", "preset=quick"), 60),
    Step("richness lazy_limit quick", "run", ("richness", "--experiment", "lazy_limit", "preset=quick"), 60),
    Step("richness gauges quick", "run", ("richness", "--experiment", "gauges", "preset=quick"), 60),
    Step("word2vec quick", "run", ("word2vec", "preset=quick", "--corpus", "wikitext2"), 90, True),
)
KERNELS = (
    Step("kernel rf ridge grid", "kernel", ("rf_ridge",), 40),
    Step("kernel rf theory grid", "kernel", ("rf_theory",), 30),
    Step("kernel NTK Gram", "kernel", ("ntk_gram",), 40),
    Step("kernel E2 stacked step", "kernel", ("e2_step",), 40),
    Step("kernel QWEM SGD pairs/s", "kernel", ("qwem_sgd",), 40),
    Step("kernel QWEM GD steps/s", "kernel", ("qwem_gd",), 40),
    Step("kernel SGNS words/s", "kernel", ("sgns",), 60),
    Step("kernel M* eigenpairs", "kernel", ("eigs",), 60),
    Step("kernel co-occurrence count", "kernel", ("cooc",), 40),
)
BIG = (
    Step("richness --width 4096", "run", ("richness", "--width", "4096"), 120),
    Step("rf-sweep paper (cut)", "run", ("rf-sweep", "preset=paper", "trials=3", "grid.n=[10,4000,16]",
                                         "grid.k=[10,4000,16]"), 120, note="paper preset, 3 trials, n,k <= 4000"),
)
ALL = RUNS + KERNELS + BIG


@dataclass
class Row:
    step: str
    status: str                       # pass | fail | skipped | timeout
    seconds: float | None = None
    cpu_seconds: float | None = None  # the CPU reference for the same step
    checks: str = ""
    detail: str = ""
    extra: dict = field(default_factory=dict)


SKIP = ("resolved", "config", "setting", "timing", "wall", "seconds", "time_s", "elapsed", "_s", "versions", "device")


def _leaves(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if any(str(k) == w or str(k).endswith(w) for w in SKIP) or str(k) in ("resolved", "config"):
                continue
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:50]):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, obj


def boolean_checks(summary) -> dict[str, bool]:
    """Every boolean a summary reports (its checks: monotone, pass, below, ...), config echoes aside, and
    documented deviations aside: those are measurements beside a spec row known not to hold (E2's NTK
    change), reported, never counted as checks."""
    return {p: v for p, v in _leaves(summary) if isinstance(v, bool) and not p.startswith("documented_deviations")}


def numbers(summary) -> dict[str, float]:
    """Every finite number a summary reports (timings and config echoes aside): compared with the CPU run."""
    return {p: float(v) for p, v in _leaves(summary)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")}


def max_rel_diff(a: dict, b: dict) -> tuple[float, int]:
    common = [k for k in a if k in b]
    if not common:
        return float("nan"), 0
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in common), len(common)


def run_step(step: Step, device: str, out: Path, data_dir: str | None, limit: float, log) -> Row:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if step.kind == "run":
        cmd = ["repro", *step.args, "--device", device, "--out", str(out / "runs")]
        if step.needs_data:
            cmd += ["--data-dir", data_dir]
    else:
        cmd = [sys.executable, str(HERE / "gpu_kernels.py"), *step.args, "--device", device]
        if step.needs_data:
            cmd += ["--data-dir", data_dir]
    log(f"\n===== {step.name}: {shlex.join(cmd)}  (limit {limit:.0f} s)\n")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired as e:
        log((e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or ""))
        return Row(step.name, "timeout", round(time.monotonic() - t0, 1), detail=f"over its {limit:.0f} s limit")
    seconds = round(time.monotonic() - t0, 1)
    log(proc.stderr[-20000:] + proc.stdout[-5000:])
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return Row(step.name, "fail", seconds, detail=f"exit {proc.returncode}: {last[:200]}")
    if step.kind == "kernel":
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        return Row(step.name, "pass", seconds, detail=res.get("what", ""), extra=res)
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    checks = boolean_checks(summary)
    failed = [k for k, v in checks.items() if not v]
    return Row(step.name, "fail" if failed else "pass", seconds,
               checks=f"{len(checks) - len(failed)}/{len(checks)}",
               detail=("failed: " + ", ".join(failed[:5])) if failed else step.note,
               extra={"checks": checks, "numbers": numbers(summary)})


def kernel_cpu_baseline(step: Step, out: Path, data_dir, limit: float, log) -> float | None:
    """On a GPU machine, the same kernel on its own CPU (the issue's 'CUDA vs the machine's CPU')."""
    row = run_step(step, "cpu", out, data_dir, limit, log)
    return row.extra.get("seconds") if row.status == "pass" else None


def markdown(rows: list[Row], device: str, budget: float, wall: float) -> str:
    lines = [f"# GPU check on `{device}`", "",
             f"Wall time {wall:.0f} s of a {budget:.0f} s budget. CPU column: the same step on a CPU "
             "(kernels: this machine's CPU; runs: the committed 2-core rehearsal, benchmarks/gpu_check_cpu.json).", "",
             "| step | status | device s | CPU s | ratio | checks | detail |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        dev = r.extra.get("seconds", r.seconds) if r.extra else r.seconds
        ratio = f"{r.cpu_seconds / dev:.1f}x" if r.cpu_seconds and dev else ""
        if r.extra.get("rate"):
            r.detail = f"{r.detail}; {r.extra['rate']:.3g} {r.extra.get('unit', '')}"
        lines.append(f"| {r.step} | {r.status} | {'' if dev is None else f'{dev:.3g}'} | "
                     f"{'' if r.cpu_seconds is None else f'{r.cpu_seconds:.3g}'} | {ratio} | {r.checks} | {r.detail} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=os.environ.get("DEVICE", "cuda"), help="cuda | cpu (the rehearsal)")
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu_check_out"), help="results folder ($OUT)")
    ap.add_argument("--data-dir", default=os.environ.get("REPRO_DATA_DIR"), help="data folder (.gpu/data when carried)")
    ap.add_argument("--budget", type=float, default=float(os.environ.get("BUDGET", 480)), help="seconds in all")
    ap.add_argument("--only", nargs="*", default=None, help="run only steps whose name contains one of these")
    ap.add_argument("--first", type=int, default=None, help="run only the first N steps (the rehearsal test)")
    ap.add_argument("--list", action="store_true", help="print the steps and exit")
    ap.add_argument("--limit-scale", type=float, default=float(os.environ.get("LIMIT_SCALE", 1)),
                    help="multiply every step's limit (a CPU rehearsal on 2 cores needs ~4)")
    args = ap.parse_args(argv)
    if args.device not in ("cuda", "cpu") and not args.device.startswith("cuda:"):
        ap.error(f"--device {args.device!r} is invalid; valid: cuda, cuda:N, cpu")
    if args.limit_scale <= 0:
        ap.error(f"--limit-scale {args.limit_scale} is invalid; valid: a positive factor")
    if args.budget <= 0:
        ap.error(f"--budget {args.budget} is invalid; valid: a positive number of seconds")
    steps = [s for s in ALL if args.only is None or any(o in s.name for o in args.only)][:args.first]
    if args.list:
        for s in steps:
            print(f"{s.name:<36} {s.kind:<7} limit {s.limit_s:>4.0f} s  {' '.join(s.args)}")
        return 0
    if any(s.needs_data for s in steps) and not (args.data_dir and Path(args.data_dir).is_dir()):
        ap.error(f"--data-dir {args.data_dir!r} is not a folder; steps {[s.name for s in steps if s.needs_data]} need one")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reference = {r["step"]: r for r in json.loads(REFERENCE.read_text())["rows"]} if REFERENCE.exists() else {}
    logf = open(out / "gpu_check.log", "w")

    def log(text: str) -> None:
        logf.write(text)
        logf.flush()

    start, rows = time.monotonic(), []
    for step in steps:
        left = args.budget - (time.monotonic() - start) - 5.0  # 5 s to write the table
        limit = step.limit_s * args.limit_scale
        if left < min(limit, 20.0):
            rows.append(Row(step.name, "skipped", detail=f"only {max(left, 0):.0f} s of the budget left"))
            print(f"skip  {step.name}: only {max(left, 0):.0f} s left", file=sys.stderr)
            continue
        row = run_step(step, args.device, out, args.data_dir, min(limit, left), log)
        if step.kind == "kernel" and row.status == "pass":
            row.cpu_seconds = row.extra["seconds"] if row.extra.get("cpu_only") else None
            left = args.budget - (time.monotonic() - start) - 5.0
            if row.cpu_seconds is None and args.device != "cpu" and left > 20:
                row.cpu_seconds = kernel_cpu_baseline(step, out, args.data_dir, min(limit, left), log)
        elif step.name in reference and reference[step.name].get("seconds"):
            row.cpu_seconds = reference[step.name]["seconds"]
            ref = reference[step.name].get("extra", {})
            if ref.get("checks") and row.extra.get("checks") and set(ref["checks"]) != set(row.extra["checks"]):
                row.detail += " (check names differ from the CPU reference)"
            if ref.get("numbers") and row.extra.get("numbers"):
                diff, n = max_rel_diff(row.extra["numbers"], ref["numbers"])
                row.detail += f" max rel. diff vs CPU {diff:.1e} over {n} numbers"
        rows.append(row)
        print(f"{row.status:<7} {step.name}: {row.seconds} s {row.checks} {row.detail}", file=sys.stderr)
        (out / "gpu_check.json").write_text(json.dumps(
            {"device": args.device, "rows": [r.__dict__ for r in rows]}, indent=1))
    wall = time.monotonic() - start
    (out / "gpu_check.md").write_text(markdown(rows, args.device, args.budget, wall))
    (out / "gpu_check.json").write_text(json.dumps({"device": args.device, "rows": [r.__dict__ for r in rows]}, indent=1))
    logf.close()
    print(out / "gpu_check.md")
    return 1 if any(r.status in ("fail", "timeout") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
