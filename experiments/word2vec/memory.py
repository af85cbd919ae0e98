"""Peak memory of one word2vec run, from its sizes (the CLI refuses a run that cannot fit).

The largest tensors are V x V in float64: the co-occurrence counts, the target M* and the
eigensolver's copy of it; the embeddings (d x V) are small beside them. A lower bound of the true
peak, so a run that fits is never refused.
"""
from __future__ import annotations


def peak_bytes(cfg) -> tuple[int, str]:
    vocab = int(cfg.vocab_size)
    return 3 * 8 * vocab**2, f"vocab_size={vocab}"
