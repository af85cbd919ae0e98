"""What every experiment driver receives besides its settings: where it writes and what it computes on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from repro.experiments.common.atomic import atomic_write_json
from repro.experiments.common.metrics import MetricsWriter

from .plots import RESULTS_FILE


@dataclass(frozen=True)
class Context:
    run_dir: Path
    device: torch.device
    dtype: torch.dtype  # the training dtype (checks that need float64 use it regardless)
    writer: MetricsWriter  # metrics.jsonl, one row per logged step

    def save_results(self, kind: str, **payload) -> None:
        """results.json: what the figures are drawn from (plots.plot_run dispatches on `kind`)."""
        atomic_write_json(self.run_dir / RESULTS_FILE, {"kind": kind, **payload})
