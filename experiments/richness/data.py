"""Data: a synthetic teacher task (default, no download) and MNIST / CIFAR-10 subsets.

Images follow the author's protocol: the first N examples, pixels / 255, no normalisation, one-hot
targets for an MSE loss. The teacher task: x ~ N(0, I_d), y = a fixed random sqrt2-ReLU network
(width `width`, NTK scaling) standardised to unit variance per output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.images import load_images

DATASETS = ("teacher", "mnist", "cifar10")


@dataclass
class Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    name: str

    @property
    def k(self) -> int:
        return self.y_train.shape[1]

    @property
    def d_in(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def to(self, device, dtype) -> "Data":
        return Data(*(t.to(device=device, dtype=dtype) for t in (self.x_train, self.y_train, self.x_test, self.y_test)),
                    self.name)


def teacher_task(n_train: int, n_test: int, d: int, k: int, width: int, seed: int) -> Data:
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randn(n_train + n_test, d, generator=g, dtype=torch.float64)
    w1 = torch.randn(width, d, generator=g, dtype=torch.float64) / d ** 0.5
    w2 = torch.randn(k, width, generator=g, dtype=torch.float64) / width ** 0.5
    y = (2 ** 0.5 * torch.relu(x @ w1.T)) @ w2.T
    y = (y - y.mean(0)) / y.std(0)
    return Data(x[:n_train], y[:n_train], x[n_train:], y[n_train:], "teacher")


def one_hot(labels: np.ndarray, k: int = 10) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long), k).double()


def image_task(name: str, n_train: int, n_test: int, data_dir, flatten: bool) -> Data:
    """First n_train / n_test images, pixels / 255; channels first for convs, flat for MLPs."""
    root = resolve_data_dir(None, data_dir, must_exist=data_dir is not None)
    parts = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = load_images(name, root, split)
        if len(x) < n:
            raise ValueError(f"{name} {split} has {len(x)} examples, fewer than the {n} asked for")
        xt = torch.as_tensor(x[:n], dtype=torch.float64) / 255.0
        if xt.ndim == 4:
            xt = xt.permute(0, 3, 1, 2)  # NHWC -> NCHW
        elif not flatten:
            xt = xt.unsqueeze(1)
        parts += [xt.flatten(1) if flatten else xt, one_hot(y[:n])]
    return Data(*parts, name)


def load_data(name: str, n_train: int, n_test: int, data_dir=None, flatten: bool = True, teacher=None) -> Data:
    if name == "teacher":
        t = teacher or {}
        return teacher_task(n_train, n_test, int(t.get("d", 32)), int(t.get("k", 1)), int(t.get("width", 256)),
                            int(t.get("seed", 1234)))
    return image_task(name, n_train, n_test, data_dir, flatten)
