"""Top-4096 eigenpairs of the 10,000 x 10,000 M* (the emergence experiment's d grid goes to 2^12).

    python benchmarks/word2vec_emergence_eigs.py [DATA_DIR] [--corpus enwiki] [--d 4096] [--threads 2] [--skip NAME ...]

Builds M* = 2(P - PP)/(P + PP) from a real corpus (V = 10,000, window 16; token ids and counts come
from the repro cache), then times, in this one process and on the same matrix:
  - ours: eigen.top_eigenpairs with the method emergence.resolve_eigen_method picks for (V, d) on
    this device (what `repro word2vec --experiment emergence` runs);
  - peer scipy.linalg.eigh(subset_by_index=[V-d, V-1], driver="evr") (LAPACK MRRR, only d vectors);
  - peer torch.linalg.eigh (LAPACK divide and conquer, every eigenpair, then sliced);
prints each time, the ratios, the agreement of eigenvalues and subspaces, and the floor: the
Householder tridiagonal reduction, (4/3) V^3 flops, done at the GEMM rate measured here (half its
flops are matrix-vector products, so the true floor is slower still; the printed one is a bound).
Block Lanczos is not a candidate at d = 4096: its block of d + d/4 columns leaves no room for a
Krylov basis inside R^V (it falls back to the dense MRRR solver).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg as sla
import torch

from _word2vec_stats import corpus_mstar
from repro.experiments.word2vec import eigen
from repro.experiments.word2vec.emergence_eigs import resolve_eigen_method


def gemm_rate(n: int = 2000, reps: int = 3) -> float:
    """float64 GEMM flop rate of torch here (flop/s), the best of a few n x n products."""
    a = torch.randn(n, n, dtype=torch.float64)
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.environ.get("REPRO_DATA_DIR"))
    ap.add_argument("--corpus", default="enwiki", choices=["wikitext2", "enwiki"])
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--d", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", nargs="*", default=[], choices=["scipy", "torch"])
    args = ap.parse_args()
    if not args.data_dir:
        raise SystemExit("give DATA_DIR (the shared data folder) or set REPRO_DATA_DIR")
    torch.set_num_threads(args.threads)
    M = corpus_mstar(args.data_dir, args.corpus, args.vocab)
    V, d = M.shape[0], min(args.d, M.shape[0])
    method = resolve_eigen_method("auto", V, d, torch.device("cpu"))
    print(f"M*: {V} x {V} from {args.corpus}; top {d} eigenpairs; {args.threads} threads; ours = {method}", flush=True)
    rate = gemm_rate()
    floor = (4.0 / 3.0) * V**3 / rate
    print(f"float64 GEMM here: {rate / 1e9:.1f} Gflop/s -> floor (tridiagonal reduction at GEMM rate) {floor:.1f} s", flush=True)

    times, cpu, peers = {}, {}, {}

    def timed(name, fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
        print(f"{name}: {times[name]:.1f} s wall, {cpu[name]:.1f} s CPU (all threads)", flush=True)
        return out

    ours = f"ours ({method})"
    w, v = timed(ours, lambda: eigen.top_eigenpairs(M, d, method))
    if "scipy" not in args.skip:
        wp, vp = timed("scipy.linalg.eigh(subset_by_index, evr)",
                       lambda: sla.eigh(M, subset_by_index=[V - d, V - 1], driver="evr"))
        peers["scipy"] = (wp[::-1], vp[:, ::-1])
    if "torch" not in args.skip and method == "torch":
        print("torch.linalg.eigh: the same call as ours (method torch); not run twice")
    elif "torch" not in args.skip:
        wt, vt = timed("torch.linalg.eigh", lambda: torch.linalg.eigh(torch.as_tensor(M)))
        peers["torch"] = (wt[-d:].flip(0).numpy(), vt[:, -d:].flip(1).numpy())
    for name, sec in times.items():
        print(f"  {name:<42} {sec:7.1f} s wall ({cpu[name]:7.1f} s CPU)   peer/ours wall {sec / times[ours]:5.2f}x, "
              f"CPU {cpu[name] / cpu[ours]:5.2f}x   / floor {sec / floor:5.1f}x")
    for name, (wp, vp) in peers.items():
        rel = np.max(np.abs(w - wp) / np.abs(wp))
        cos2 = np.sum(v * vp, axis=0) ** 2       # per-vector squared cosines (eigenvalues are simple here)
        print(f"  agreement with {name}: max relative eigenvalue error {rel:.1e}, min per-vector cos^2 {cos2.min():.8f}, "
              f"subspace overlap {eigen.subspace_overlap(v, vp):.8f}")
    print(f"lambda_1 = {w[0]:.2f}, lambda_{d} = {w[-1]:.4f}, positive among the top {d}: {int((w > 0).sum())}")


if __name__ == "__main__":
    main()
