"""The eigenpairs the emergence experiment needs: the top n of M* (n up to 4096 of V = 10,000), and
the d grid they allow (spec §8: d = 2^2, 2^2.5, ..., 2^12).

Solver. The top 200 of the 10k M* is a Krylov job (eigen.py: block Lanczos, 25 s); the top 4096 is
not: a block of d + d/4 columns leaves no room for a Krylov basis inside R^V, and most of the
spectrum is wanted anyway. So `auto` picks a dense solver for n > V/8 on the CPU, the one measured
faster by benchmarks/word2vec_emergence_eigs.py (see DENSE_CPU), and torch on CUDA, as eigen.py does.
The pairs go through eigen.cached_top_eigenpairs (the checked cache every word2vec run uses).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import eigen

# benchmarks/word2vec_emergence_eigs.py, top 4096 of the 10k M* on 2 cores (load 8-16): torch.linalg.eigh
# (full divide and conquer) 901 s wall / 323 s CPU vs scipy's subset MRRR 1642 s / 347 s; same pairs to 4e-14.
DENSE_CPU = "torch"


def resolve_eigen_method(method: str, V: int, n: int, device) -> str:
    """What `auto` means for the top n of a V x V matrix: eigen.resolve_method's rule, except that a
    dense solve on the CPU is DENSE_CPU (measured) rather than always LAPACK's subset MRRR."""
    chosen = eigen.resolve_method(method, V, n, device)
    return DENSE_CPU if method == "auto" and chosen == "exact" else chosen


def d_grid(lo_log2: float, hi_log2: float, step_log2: float) -> list[int]:
    """d = round(2^e) for e = lo, lo + step, ..., hi (distinct, ascending)."""
    exps = np.arange(lo_log2, hi_log2 + 1e-9, step_log2)
    return sorted({int(round(2.0**e)) for e in exps})


def cut_grid(grid: list[int], V: int, n_positive: int, n_computed: int) -> tuple[list[int], dict]:
    """The grid cut at V, at the number of positive eigenvalues (past it W_d gains only zero
    columns) and at the eigenpairs computed; the dict says which bound cut it and where."""
    bounds = {"vocab_size": V, "positive_eigenvalues": n_positive, "eigenpairs": n_computed}
    top = min(bounds.values())
    kept = [d for d in grid if d <= top]
    return kept, {"requested": grid, "kept": kept, "dropped": [d for d in grid if d > top], "bounds": bounds,
                  "cut_by": [k for k, v in bounds.items() if v == top and any(d > top for d in grid)]}


def top_pairs(matrix_fn, n: int, s, stats_key: dict, device) -> tuple[np.ndarray, np.ndarray, float, str]:
    """(eigenvalues (n,), eigenvectors (V, n), seconds (0 on a cache hit), method) of M*."""
    V = int(stats_key["V"])
    method = resolve_eigen_method(s.eigen.method, V, n, device)
    ev = dataclasses.replace(s.eigen, method=method)
    w, v, sec = eigen.cached_top_eigenpairs("mstar", matrix_fn, n, ev, s.seed, dict(stats_key, k_neg=s.k_neg),
                                            device, s.cache)
    return w, v, sec, method
