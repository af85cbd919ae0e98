"""Peak memory of one richness run, from its sizes (the CLI refuses a run that cannot fit).

The largest tensors are the hidden width x width weight matrices with their gradients and momentum
buffers (three copies) in the run's dtype, at the widest width the run trains. A top-level `width`
knob replaces the experiment block's width, as in settings.resolve. A lower bound of the true peak
(activations and the NTK probe are smaller), so a run that fits is never refused.
"""
from __future__ import annotations

from .settings import canonical


def peak_bytes(cfg) -> tuple[int, str]:
    block = cfg.get(canonical(cfg.experiment)) or {}
    widths = [cfg.width] if cfg.get("width") is not None else list(block.get("widths") or [block.get("width") or 0])
    width = max(int(w) for w in widths)
    depth = int(cfg.get("depth") or block.get("depth") or 3)
    item = 8 if cfg.dtype == "float64" else 4
    hidden = max(1, depth - 2)  # width x width layers between read-in and read-out
    return 3 * item * hidden * width**2, f"width={width}"
