"""Data: a synthetic teacher task (default, no download) and MNIST / CIFAR-10 subsets.

Images follow the author's protocol: the first N examples, pixels / 255, no normalisation, one-hot
targets for an MSE loss. The teacher task: x ~ N(0, I_d), y = a fixed random sqrt2-ReLU network
(width `width`, NTK scaling) standardised to unit variance per output.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.images import find_local, load_images

# Examples in each split of the full datasets (the hub's copies); a local copy may hold fewer (split_sizes).
SPLIT_SIZES = {"mnist": {"train": 60000, "test": 10000}, "cifar10": {"train": 50000, "test": 10000}}
IMAGE_SHAPES = {"mnist": (28, 28), "cifar10": (32, 32, 3)}  # one image, as the hub's copies store it


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
        assert len(x) >= n, f"{name} {split} has {len(x)} examples < {n}: validate checks n_train/n_test"
        xt = torch.as_tensor(x[:n], dtype=torch.float64) / 255.0
        if xt.ndim == 4:
            xt = xt.permute(0, 3, 1, 2)  # NHWC -> NCHW
        elif not flatten:
            xt = xt.unsqueeze(1)
        parts += [xt.flatten(1) if flatten else xt, one_hot(y[:n])]
    return Data(*parts, name)


def load_data(name: str, n_train: int, n_test: int, data_dir, flatten: bool, teacher) -> Data:
    """The task `name`: the teacher task (settings.Teacher: d, k, width, seed) or the first images of a split."""
    if name == "teacher":
        return teacher_task(n_train, n_test, teacher.d, teacher.k, teacher.width, teacher.seed)
    return image_task(name, n_train, n_test, data_dir, flatten)


def load_for(rs, flatten: bool) -> Data:
    """The data of a resolved run (settings.Resolved): its block's dataset, n_train and n_test, the common
    data_dir and teacher; images flat for MLPs, channels first for convs."""
    b, c = rs.block, rs.common
    return load_data(b.dataset, b.n_train, b.n_test, c.data_dir, flatten, c.teacher)


def split_sizes(name: str, data_dir: Path | None) -> tuple[dict[str, int], str]:
    """Examples per split of image dataset `name` and where they come from: the local .npz copy if there is
    one (read from the array headers, nothing loaded), else the full dataset the hub serves."""
    shapes, where = split_shapes(name, data_dir)
    return {split: shape[0] for split, shape in shapes.items()}, where


def split_shapes(name: str, data_dir: Path | None) -> tuple[dict[str, tuple[int, ...]], str]:
    """Array shapes (examples, H, W[, C]) of the x_train / x_test of image dataset `name`: from the local .npz
    copy's headers (nothing loaded), else those of the full dataset the hub serves."""
    local = find_local(name, data_dir)
    if local is None or local.suffix != ".npz":
        return {split: (n, *IMAGE_SHAPES[name]) for split, n in SPLIT_SIZES[name].items()}, "the full dataset"
    shapes = {}
    with zipfile.ZipFile(local) as z:
        for split in ("train", "test"):
            with z.open(f"x_{split}.npy") as f:
                version = np.lib.format.read_magic(f)
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shapes[split] = tuple(int(v) for v in header(f)[0])
    return shapes, str(local)
