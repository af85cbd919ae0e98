"""Log lines go to stderr: stdout carries only the run-directory line the CLI prints."""
from __future__ import annotations

import sys
from typing import Callable


def logger(name: str) -> Callable[[str], None]:
    """log = logger("word2vec"); log("counting co-occurrences") -> '[word2vec] counting ...' on stderr."""
    def log(msg: str) -> None:
        print(f"[{name}] {msg}", file=sys.stderr, flush=True)
    return log
