"""Myrtle-10 CNTK on CIFAR-10 images: ours (rf_sweep.kernels) against neural-tangents' stax, same CPU.

    python benchmarks/rf_myrtle_vs_neural_tangents.py /path/to/data --n 64 --peer-n 8 \
        --nt-python /path/to/nt-venv/bin/python

The peer lives in its own venv (jax[cpu]==0.4.23 jaxlib==0.4.23 neural-tangents==0.6.5 "numpy<2"
"scipy<1.13") and is called as a subprocess on the first --peer-n images (it needs ~0.5 s per image
pair at depth 10 in float64, so 64 images take it over half an hour). Its cost is linear in the
N² pairs it computes (kernel_fn(x, None) evaluates every (i, j)), so its time for --n images is
extrapolated from its per-pair time, and said so. Agreement is checked on the shared block.

Floor per image pair (printed): the first block (3 [conv, ReLU] layers at 32×32, (HW)² = 2²⁰
pixel pairs) dominates: per entry and layer, Σ and Θ each take 6 shifted adds and a scale for the
conv, the ReLU maps ~20 flops plus one arccos and two square roots. Later blocks are 16× and 256×
smaller. Memory-wise each layer streams Σ and Θ (8 MB each) a few times.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEER = r'''
import sys, time, numpy as np, jax
jax.config.update("jax_enable_x64", True)
from neural_tangents import stax
blocks = {5: (2, 1, 1), 7: (2, 2, 2), 10: (3, 3, 3)}[int(sys.argv[3])]
layers = []
for i, n in enumerate(blocks):
    layers += [stax.Conv(1, (3, 3), padding="SAME"), stax.Relu()] * n
    layers += [stax.AvgPool((2, 2), strides=(2, 2))] * (3 if i == 2 else 1)
_, _, kernel_fn = stax.serial(*layers, stax.Flatten(), stax.Dense(10))
x = np.load(sys.argv[1])["x"]
t = time.perf_counter()
k = np.asarray(kernel_fn(x, None, "ntk"))
np.savez(sys.argv[2], k=k, seconds=time.perf_counter() - t)
'''


def flops_per_pair(H: int = 32, blocks=(3, 3, 3)) -> float:
    """Arithmetic of one image pair's recursion (NTK): ~ (conv 2×7 + ReLU ~25) flops per entry and layer."""
    total, side = 0.0, H
    for n in blocks:
        total += n * (side * side) ** 2 * (2 * 7 + 25)
        side //= 2
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", default=os.environ.get("REPRO_DATA_DIR"))
    ap.add_argument("--n", type=int, default=64, help="images for our kernel")
    ap.add_argument("--peer-n", type=int, default=8, help="images for the peer (its time is extrapolated)")
    ap.add_argument("--depth", type=int, default=10, choices=(5, 7, 10))
    ap.add_argument("--nt-python", default=os.environ.get("NT_PYTHON"), help="python of the neural-tangents venv")
    args = ap.parse_args()
    from repro.experiments.common.images import load_images
    from repro.experiments.rf_sweep.kernels import kernel_matrix

    x = load_images("cifar10", Path(args.data_dir), "train")[0][: args.n].astype(np.float64)
    x = (x - x.mean()) / x.std()                     # global standardisation (spec §8.3)
    t = time.perf_counter()
    ours = kernel_matrix(f"myrtle{args.depth}", x, kind="ntk", compile=True)
    ours_s = time.perf_counter() - t
    pairs = args.n * (args.n + 1) / 2
    fl = flops_per_pair(blocks={5: (2, 1, 1), 7: (2, 2, 2), 10: (3, 3, 3)}[args.depth])
    print(f"ours: myrtle{args.depth} NTK on {args.n} images: {ours_s:.1f} s ({pairs:.0f} distinct pairs, "
          f"{ours_s / pairs * 1e3:.1f} ms/pair incl. one-off compile); floor ~{fl / 1e6:.0f} MFLOP/pair")
    if not args.nt_python:
        print("peer skipped: pass --nt-python (the neural-tangents venv's python)")
        return 0
    m = min(args.peer_n, args.n)
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(f"{tmp}/x.npz", x=x[:m])
        script = Path(tmp) / "peer.py"
        script.write_text(PEER)
        subprocess.run([args.nt_python, str(script), f"{tmp}/x.npz", f"{tmp}/k.npz", str(args.depth)], check=True,
                       capture_output=True)
        z = np.load(f"{tmp}/k.npz")
        peer, peer_s = z["k"], float(z["seconds"])
    per_pair = peer_s / (m * m)
    est = per_pair * args.n * args.n
    rel = np.abs(ours[:m, :m] - peer).max() / np.abs(peer).max()
    print(f"peer: neural-tangents stax on {m} images: {peer_s:.1f} s ({per_pair:.3f} s per (i, j) entry); "
          f"extrapolated to {args.n} images: {est:.0f} s")
    print(f"ratio (peer extrapolated / ours): {est / ours_s:.1f}x; max relative difference on the shared "
          f"{m}x{m} block: {rel:.2e}")
    return 0 if rel < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
