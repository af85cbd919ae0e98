"""Top-200 eigenpairs of a 10,000 x 10,000 M*: our block Lanczos vs LAPACK's subset eigensolver.

    python benchmarks/word2vec_eigs.py [DATA_DIR] [--corpus wikitext2|enwiki] [--d 200] [--tol 1e-6] [--no-peer]

Builds M* = 2(P - PP)/(P + PP) from a real corpus (V = 10,000, window 16; token ids and counts are
cached), then times eigen.top_eigenpairs(method="krylov") and the peer
scipy.linalg.eigh(subset_by_index=..., driver="evr") (MRRR), prints both times, the ratio and how well
they agree (max relative eigenvalue error, subspace overlap). Target: <= 30 s on CPU.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg as sla

from _word2vec_stats import corpus_mstar
from repro.experiments.word2vec import eigen

CORPORA = ("wikitext2", "enwiki")  # configs/word2vec/corpus/ options with a local copy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?", default=os.environ.get("REPRO_DATA_DIR"))
    ap.add_argument("--corpus", default="enwiki", choices=list(CORPORA))
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--no-peer", action="store_true", help="skip the (slow) LAPACK peer")
    args = ap.parse_args()
    if not args.data_dir:
        raise SystemExit("give DATA_DIR (the shared data folder) or set REPRO_DATA_DIR")
    M = corpus_mstar(args.data_dir, args.corpus, args.vocab)
    print(f"M*: {M.shape[0]} x {M.shape[0]} from {args.corpus}")

    t = time.perf_counter()
    w, v = eigen.top_eigenpairs(M, args.d, "krylov", tol=args.tol,
                                log=lambda m: print(f"{time.perf_counter() - t:6.1f} s  {m}", flush=True))
    t_ours = time.perf_counter() - t
    print(f"ours (block Lanczos, tol {args.tol:g}): {t_ours:.1f} s (target <= 30 s); lambda_1 = {w[0]:.2f}, lambda_d = {w[-1]:.3f}")
    if args.no_peer:
        return
    V = M.shape[0]
    t = time.perf_counter()
    wp, vp = sla.eigh(M, subset_by_index=[V - args.d, V - 1], driver="evr")
    t_peer = time.perf_counter() - t
    wp, vp = wp[::-1], vp[:, ::-1]
    print(f"peer scipy.linalg.eigh(subset, evr): {t_peer:.1f} s")
    print(f"agreement: max relative eigenvalue error {np.max(np.abs(w - wp) / np.abs(wp)):.2e}, "
          f"subspace overlap {eigen.subspace_overlap(v, vp):.8f}")
    print(f"speed ratio ours/peer: {t_peer / t_ours:.2f}x")


if __name__ == "__main__":
    main()
