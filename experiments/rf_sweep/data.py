"""Tasks for rf-sweep: the Gaussian power-law task (spec §8.2) and real image pools.

gaussian  z ~ N(0, I_M), λ_i = i^-α, v_i = i^-β/2, y = Σ v_i z_i + ε with Var ε = σ². The model
          input is x = √M Λ^½ z, so Gaussian features with weight_var = 1 give ψ_j = g_jᵀ Λ^½ z,
          g_j ~ N(0, I_M), and the kernel xᵀx'/M = zᵀΛz' has exactly the modes (λ_i, v_i²).
cifar10   flattened, globally standardised images; target +1 for airplane, automobile, horse,
          ship, truck and −1 otherwise (the paper's binarised CIFAR-10).
mnist, fashion_mnist   flattened, globally standardised images; one-hot 10-class targets
          (errors summed over outputs).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.experiments.common.images import load_images

CIFAR_POSITIVE = (0, 1, 7, 8, 9)


def powerlaw_modes(modes: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """λ_i = i^-α and v_i² = i^-β for i = 1..M."""
    i = np.arange(1, modes + 1, dtype=np.float64)
    return i**-alpha, i**-beta


def sample_gaussian(modes: int, alpha: float, beta: float, noise: float, count: int, generator: torch.Generator,
                    device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` points of the Gaussian task: x (count, M) and y (count, 1)."""
    lam, v2 = powerlaw_modes(modes, alpha, beta)
    z = torch.randn(count, modes, generator=generator, dtype=dtype).to(device)
    scale = torch.as_tensor(np.sqrt(modes * lam), dtype=dtype, device=device)
    v = torch.as_tensor(np.sqrt(v2), dtype=dtype, device=device)
    eps = torch.randn(count, generator=generator, dtype=dtype).to(device) * noise**0.5
    return z * scale, (z @ v + eps)[:, None]


def sample_gaussian_features(modes: int, alpha: float, beta: float, noise: float, count: int, weights: torch.Tensor,
                             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian features ψ = x W of `count` fresh Gaussian-task points, and their labels, without
    drawing the M-dimensional inputs when that is cheaper.

    [ψ, y − ε] = z B with B = [√M Λ^½ W, v] is Gaussian with covariance BᵀB, so rows can be drawn
    as ξ Lᵀ (L the Cholesky factor of BᵀB, ξ standard normal): O(M k² + count k²) instead of
    O(count M k). Exactly the same distribution; used when k + 1 is well below M.
    """
    lam, v2 = powerlaw_modes(modes, alpha, beta)
    dtype, device = weights.dtype, weights.device
    k = weights.shape[1]
    scale = torch.as_tensor(np.sqrt(modes * lam), dtype=dtype, device=device)
    b = torch.cat([scale[:, None] * weights, torch.as_tensor(np.sqrt(v2), dtype=dtype, device=device)[:, None]], dim=1)
    direct_cost, cov_cost = count * modes * (k + 1), modes * (k + 1) ** 2 + count * (k + 1) ** 2
    if cov_cost < direct_cost and k + 1 < modes:
        chol = torch.linalg.cholesky(b.T @ b)
        xi = torch.randn(count, k + 1, generator=generator, dtype=dtype).to(device)
        joint = xi @ chol.T
    else:
        z = torch.randn(count, modes, generator=generator, dtype=dtype).to(device)
        joint = z @ b
    eps = torch.randn(count, generator=generator, dtype=dtype).to(device) * noise**0.5
    return joint[:, :k], (joint[:, k] + eps)[:, None]


@dataclass
class ImagePool:
    """Train pool (for training points and the kernel spectrum) and held-out test points."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def targets(name: str, labels: np.ndarray) -> np.ndarray:
    if name == "cifar10":
        return np.where(np.isin(labels, CIFAR_POSITIVE), 1.0, -1.0)[:, None]
    return np.eye(10)[labels]


def load_pool(name: str, data_dir: Path | None, dtype=torch.float64) -> ImagePool:
    """Images flattened and standardised with one scalar mean/std of the training pixels."""
    xtr, ytr = load_images(name, data_dir, "train")
    xte, yte = load_images(name, data_dir, "test")
    xtr = xtr.reshape(len(xtr), -1).astype(np.float64)
    xte = xte.reshape(len(xte), -1).astype(np.float64)
    mean, std = xtr.mean(), xtr.std()
    t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
    return ImagePool(t((xtr - mean) / std), t(targets(name, ytr)), t((xte - mean) / std), t(targets(name, yte)))


def restrict_to_pool(pool: ImagePool, size: int, generator: torch.Generator) -> ImagePool:
    """A random `size`-image subset of the training split as the whole population (spec §2.3/§8.1):
    the kernel spectrum is computed on it and train/test points are drawn from it."""
    idx = torch.randperm(len(pool.x_train), generator=generator)[:size]
    return ImagePool(pool.x_train[idx], pool.y_train[idx], pool.x_test[:0], pool.y_test[:0])
