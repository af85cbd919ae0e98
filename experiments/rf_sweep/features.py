"""Random feature maps and their infinite-feature kernels (spec §1.2, §8.1, §8.2).

Weights are W ~ N(0, weight_var / d). Features:
  relu      ψ_j(x) = max(0, w_j·x)   kernel: weight_var ‖x‖‖x'‖/(2π d) (sin θ + (π − θ) cos θ)
  gaussian  ψ_j(x) = w_j·x           kernel: weight_var x·x'/d
With weight_var = 2 the ReLU kernel is the order-1 arc-cosine (one-hidden-layer NNGP) kernel of the
spec, K(x, x) = ‖x‖²/d. The RF kernel is K̂ = (1/k) Σ_j ψ_j ψ_j, so F = Ψ/√k is the feature matrix.
"""
from __future__ import annotations

import math

import torch

FEATURES = ("relu", "gaussian")


def draw_weights(d: int, k: int, weight_var: float, generator: torch.Generator, device, dtype) -> torch.Tensor:
    """(d, k) weight matrix with i.i.d. N(0, weight_var/d) entries."""
    w = torch.randn(d, k, generator=generator, dtype=dtype, device="cpu").to(device)
    return w * math.sqrt(weight_var / d)


def features(x: torch.Tensor, w: torch.Tensor, kind: str) -> torch.Tensor:
    """Ψ = g(x W): (N, k) raw features (not yet divided by √k)."""
    pre = x @ w
    if kind == "relu":
        return pre.clamp_min_(0.0)
    if kind == "gaussian":
        return pre
    raise AssertionError(f"unknown feature map {kind!r}: validate admits only {', '.join(FEATURES)}")


def kernel(x1: torch.Tensor, x2: torch.Tensor, kind: str, weight_var: float) -> torch.Tensor:
    """Infinite-feature kernel K(x1, x2) = E_w[ψ(x1) ψ(x2)] in closed form."""
    d = x1.shape[1]
    dot = x1 @ x2.T
    if kind == "gaussian":
        return weight_var * dot / d
    if kind != "relu":
        raise AssertionError(f"unknown feature map {kind!r}: validate admits only {', '.join(FEATURES)}")
    n1 = x1.norm(dim=1)[:, None]
    n2 = x2.norm(dim=1)[None, :]
    norms = n1 * n2
    cos = (dot / norms.clamp_min(torch.finfo(dot.dtype).tiny)).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    return weight_var * norms / (2 * math.pi * d) * (torch.sin(theta) + (math.pi - theta) * cos)
