"""The `repro` Typer app. Typed options become Hydra overrides; the rest lives in runner/sweep/launchers."""
from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import List, Optional

import typer

from repro.experiments.common.atomic import forget_reports
from repro.experiments.common.errors import ConfigError

from . import inspect_runs
from .registry import EXPERIMENTS, Experiment, lookup
from .runner import CommonOptions, launch_experiment, prepare
from .sweep import MAX_RUNS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reproduce and extend three ML-theory papers.\n\nExample:  repro rf-sweep preset=quick",
    context_settings={"help_option_names": ["-h", "--help"]},
)

OVERRIDES_HELP = "Hydra overrides: key=value, +key=value, ~key, group=option; a=1,2 / range() / choice() / glob() sweep"


@app.callback()
def _start() -> None:
    forget_reports()  # each command names a damaged file once, even when run in one process (tests)


def _fail(message: str, code: int = 2):
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _or_fail(fn, *args):
    """fn(*args), with bad input (ConfigError) turned into the one-line error and exit code 2."""
    try:
        return fn(*args)
    except ConfigError as e:
        _fail(str(e))


def _common_parameters() -> list[inspect.Parameter]:
    P = inspect.Parameter
    def opt(name, default, annotation, help, flag=None):
        flags = [flag or f"--{name.replace('_', '-')}"]
        return P(name, P.KEYWORD_ONLY, default=typer.Option(default, *flags, help=help), annotation=annotation)
    return [
        P("overrides", P.KEYWORD_ONLY, default=typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
          annotation=Optional[List[str]]),
        opt("out", None, Optional[Path], "output root (default $REPRO_OUTPUT_DIR or ./outputs); runs go to OUT/<experiment>/<id>"),
        opt("name", None, Optional[str], "run or sweep folder name, one path component (default: derived from the config, so re-running resumes)"),
        opt("device", None, Optional[str], "auto | cpu | cuda"),
        opt("seed", None, Optional[int], "random seed"),
        opt("data_dir", None, Optional[Path], "data folder (default: config data_dir, then $REPRO_DATA_DIR)"),
        opt("jobs", None, Optional[int], "runs at once with the local launcher (launcher.jobs)"),
        opt("launcher", None, Optional[str], "local | slurm | ray (the launcher config group; default local)"),
        opt("dry_run", False, bool, "print the grid of runs and stop"),
        opt("force", False, bool, "re-run runs that already finished (older attempts are kept as *.attempt-N)"),
        opt("max_runs", MAX_RUNS, int, "refuse a sweep with more runs than this"),
    ]


def _make_command(exp: Experiment):
    """One Typer command per experiment: its typed options plus the common ones."""
    P = inspect.Parameter
    own = [P(o.name, P.KEYWORD_ONLY, annotation=Optional[o.type],
             default=typer.Option(None, f"--{o.name.replace('_', '-')}", help=o.help)) for o in exp.options]

    def command(**kwargs):
        overrides = []
        for o in exp.options:
            if kwargs.get(o.name) is not None:
                overrides += o.overrides(kwargs[o.name])
        common = CommonOptions(**{k: kwargs[k] for k in CommonOptions.__dataclass_fields__})
        raise typer.Exit(_or_fail(launch_experiment, exp, overrides + list(kwargs["overrides"] or []), common))

    command.__signature__ = inspect.Signature(own + _common_parameters())
    command.__doc__ = f"{exp.summary}\n\nExample:  {exp.example}"
    return command


for _exp in EXPERIMENTS.values():
    app.command(_exp.command, help=f"{_exp.summary}\n\nExample:  {_exp.example}")(_make_command(_exp))


@app.command("show-config")
def show_config(
    experiment: str = typer.Argument(..., help=f"one of: {', '.join(EXPERIMENTS)}"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, show_default=False),
):
    """Print the resolved config of an experiment.\n\nExample:  repro show-config richness width=4096"""
    from omegaconf import OmegaConf

    exp = _or_fail(lookup, experiment)
    grid, runs = _or_fail(prepare, exp, list(overrides or []))
    if grid.is_sweep:
        _fail(f"show-config prints one config, but the overrides sweep {len(runs)} runs; drop the sweep "
              f"(or see them with `repro {exp.command} ... --dry-run`)")
    typer.echo(OmegaConf.to_yaml(runs[0].cfg), nl=False)


@app.command("plot")
def plot(directory: Path = typer.Argument(..., help="a run or sweep directory")):
    """Draw the figures of a run or sweep into its figures/ folder.\n\nExample:  repro plot outputs/rf_sweep/<run>"""
    for p in _or_fail(inspect_runs.plot, directory):
        typer.echo(str(p))
    typer.echo(str(directory))


@app.command("aggregate")
def aggregate(directory: Path = typer.Argument(..., help="a sweep directory (or a folder of runs)")):
    """Write one tidy table per sweep: flattened config + summary columns, CSV and Parquet.\n\nExample:  repro aggregate outputs/rf_sweep/<sweep>"""
    for p in _or_fail(inspect_runs.aggregate, directory):
        typer.echo(str(p))


@app.command("runs")
def runs(directory: Optional[Path] = typer.Argument(None, help="output root or a sweep (default: the output root)")):
    """List runs with status and wall time.\n\nExample:  repro runs outputs/rf_sweep"""
    if directory is None:  # the default root may simply not exist yet
        root = Path(os.environ.get("REPRO_OUTPUT_DIR") or "outputs")
        typer.echo(_or_fail(inspect_runs.listing, root) if root.is_dir() else f"no runs under {root}")
        return
    typer.echo(_or_fail(inspect_runs.listing, directory))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
