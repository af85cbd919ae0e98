"""Empirical NTK of a width-4096 MLP on a probe batch of 256: per-layer Gram method vs torch.func jacrev/vmap.

    .venv/bin/python benchmarks/richness_ntk.py [--width 4096] [--probe 256] [--outputs 1]

Peer: the PyTorch NTK tutorial's Jacobian contraction (vmap over examples of jacrev, then J J^T), weighted by
each layer's lr factor. A full Jacobian of 256 examples x 20M parameters (20 GB in float32) does not fit in
memory, so the peer takes the Jacobian one parameter block (<= 0.5 GB: rows of a weight, or a bias) at a time
and accumulates Theta += eta J_b J_b^T; every block costs one vmapped backward over the probe batch. Both run in float32 in
this process; the script prints both times, the ratio and the relative difference of the two kernels.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.func import jacrev, vmap

from repro.experiments.richness.model import MLP
from repro.experiments.richness.ntk import model_ntk


def _forward(model, layer: int, lo: int, hi: int, blk, x):
    """The MLP's function of one row block blk = W_layer[lo:hi] (everything else fixed), for one input.

    The block enters as its own matmul, so reverse mode materialises gradients for the block only.
    """
    a = x.unsqueeze(0)
    n = len(model.weights)
    for i, (s, w) in enumerate(zip(model.scales, model.weights)):
        w = w.detach()
        if i == layer:
            pre = torch.cat([a @ w[:lo].T, a @ blk.T, a @ w[hi:].T], dim=-1)
        else:
            pre = a @ w.T
        if model.biases is not None:
            pre = pre + model.biases[i].detach()
        z = s.g * pre
        a = model.gain * torch.relu(z) if i < n - 1 else z
    return a.squeeze(0)


def _bias_forward(model, layer: int, b, x):
    a = x.unsqueeze(0)
    n = len(model.weights)
    for i, (s, w) in enumerate(zip(model.scales, model.weights)):
        z = s.g * (a @ w.detach().T + (b if i == layer else model.biases[i].detach()))
        a = model.gain * torch.relu(z) if i < n - 1 else z
    return a.squeeze(0)


def blocked_jacobian_ntk(model, x, block_bytes: float = 5e8):
    """Theta = sum over parameter blocks of eta * J_b J_b^T, J_b = vmap(jacrev) over the probe batch."""
    P = x.shape[0]
    k = model(x[:1]).shape[-1]
    theta = torch.zeros(P, k, P, k)
    for i, (s, w) in enumerate(zip(model.scales, model.weights)):
        rows = max(1, int(block_bytes // (P * k * w.shape[1] * w.element_size())))
        for lo in range(0, w.shape[0], rows):
            hi = min(lo + rows, w.shape[0])
            f = lambda blk, xi, i=i, lo=lo, hi=hi: _forward(model, i, lo, hi, blk, xi)  # noqa: E731
            j = vmap(jacrev(f), (None, 0))(w.detach()[lo:hi], x).flatten(2)  # (P, k, block params)
            theta += s.eta * torch.einsum("pcm,qdm->pcqd", j, j)
            del j
        if model.biases is not None:
            f = lambda b, xi, i=i: _bias_forward(model, i, b, xi)  # noqa: E731
            j = vmap(jacrev(f), (None, 0))(model.biases[i].detach(), x)
            theta += s.eta * torch.einsum("pcm,qdm->pcqd", j, j)
    return theta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=4096)
    ap.add_argument("--probe", type=int, default=256)
    ap.add_argument("--outputs", type=int, default=1)
    ap.add_argument("--d", type=int, default=784)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = MLP(a.d, a.width, 3, a.outputs, 0.5, 1.0, "mup", generator=torch.Generator().manual_seed(0))
    x = torch.rand(a.probe, a.d)
    print(f"MLP {a.d}-{a.width}-{a.width}-{a.outputs}, probe {a.probe}, float32, threads {torch.get_num_threads()}")
    model_ntk(model, x[:8])  # warm-up
    t = time.perf_counter()
    fast = model_ntk(model, x)
    t_fast = time.perf_counter() - t
    print(f"gram NTK:            {t_fast:8.3f} s")
    t = time.perf_counter()
    ref = blocked_jacobian_ntk(model, x)
    t_ref = time.perf_counter() - t
    print(f"torch.func jacrev:   {t_ref:8.3f} s")
    print(f"relative difference: {float((fast - ref).norm() / ref.norm()):.2e}")
    print(f"speed-up (jacrev / gram): {t_ref / t_fast:.1f}x")


if __name__ == "__main__":
    main()
