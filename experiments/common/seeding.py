"""Seed python, numpy and torch together, so the same config gives the same numbers."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed every global RNG and return a numpy Generator for code that prefers explicit state."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
