"""Shared matplotlib setup: headless backend, one style, saving into figures/."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: runs on clusters and CI
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"figure.dpi": 110, "savefig.dpi": 150, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10,
         "axes.spines.top": False, "axes.spines.right": False}


def subplots(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (4.0, 3.2), **kw):
    plt.rcParams.update(STYLE)
    return plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kw)


def save(fig, run_dir: str | os.PathLike, name: str, tight: bool = True) -> Path:
    """Save into <run_dir>/figures/<name>.png and close the figure; returns the path."""
    out = Path(run_dir) / "figures" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def loglog(ax, x: bool = True, y: bool = True) -> None:
    """Log scales with labels on decades only (minor labels clutter short ranges)."""
    from matplotlib.ticker import LogLocator, NullFormatter

    for on, axis, setter in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            setter("log")
            axis.set_major_locator(LogLocator(base=10))
            axis.set_minor_formatter(NullFormatter())
