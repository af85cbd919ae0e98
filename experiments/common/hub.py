"""Can this machine reach the Hugging Face hub? One probe for every loader, checked in validate."""
from __future__ import annotations

import os
import socket

HOST = "huggingface.co"
TIMEOUT_S = 2.0  # a reachable hub answers a TCP connect in well under a second


def hub_reachable(host: str = HOST, timeout: float = TIMEOUT_S) -> bool:
    """A cheap TCP probe, so an offline machine fails before any work rather than mid-run."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False
