"""Image classification data (MNIST, Fashion-MNIST, CIFAR-10, SVHN) from a data folder or the hub.

Either source gives the same arrays: x uint8 (N, H, W) or (N, H, W, C), y int64 (N,).
Local layout follows the shared data folder: `mnist/mnist.npz`, `cifar10/*.npz` (keys x_train,
y_train, x_test, y_test) and Fashion-MNIST in IDX files under `fashion-mnist/` or the Debian
package's `/usr/share/datasets/fashion-mnist/`; SVHN as the official cropped-digit files
`svhn/train_32x32.mat` and `svhn/test_32x32.mat` (X of shape (32, 32, 3, N), labels 1..10 with 10
meaning the digit 0; read as labels 0..9) or the hub's `ufldl-stanford/svhn` (cropped_digits).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .hub import hub_reachable

DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn")
HUB_NAMES = {"mnist": "ylecun/mnist", "fashion_mnist": "zalando-datasets/fashion_mnist", "cifar10": "uoft-cs/cifar10",
             "svhn": "ufldl-stanford/svhn"}
HUB_CONFIGS = {"svhn": "cropped_digits"}  # the hub dataset's configuration, where it has several
SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def load_images(name: str, data_dir: Path | None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) for split 'train' or 'test'; local folder first, then the hub."""
    if name not in DATASETS:
        raise ConfigError(f"dataset={name!r} is invalid; valid choices: {', '.join(DATASETS)}")
    if split not in ("train", "test"):
        raise ConfigError(f"split={split!r} is invalid; valid choices: train, test")
    local = find_local(name, data_dir)
    if local is not None:
        return _load_local(name, local, split)
    return _load_hub(name, split, data_dir)


def require_available(name: str, data_dir: Path | None) -> Path | None:
    """The local copy of `name`, or None if the hub will serve it; ConfigError if neither can."""
    if name not in DATASETS:
        raise ConfigError(f"dataset={name!r} is invalid; valid choices: {', '.join(DATASETS)}")
    local = find_local(name, data_dir)
    if local is None and not hub_reachable():
        folder = {"fashion_mnist": "fashion-mnist/ (IDX files)",
                  "svhn": "svhn/train_32x32.mat and svhn/test_32x32.mat"}.get(name, f"{name}/*.npz")
        raise ConfigError(f"dataset {name!r} is not in data_dir={str(data_dir)!r} and the Hugging Face hub is unreachable; "
                          f"pass data_dir=DIR (or set REPRO_DATA_DIR) to a folder holding {folder}")
    return local


def find_local(name: str, data_dir: Path | None) -> Path | None:
    """The local file or folder holding `name`, or None."""
    candidates: list[Path] = []
    if data_dir is not None:
        d = Path(data_dir)
        if name == "fashion_mnist":
            candidates += [d / "fashion-mnist", d / "fashion_mnist"]
        elif name == "svhn":
            candidates += [d / "svhn" / SVHN_FILES["train"]] if (d / "svhn" / SVHN_FILES["train"]).is_file() else []
        else:
            folder = d / name
            if folder.is_dir():
                candidates += sorted(folder.glob("*.npz"))
    if name == "fashion_mnist":
        candidates.append(FASHION_SYSTEM_DIR)
    for c in candidates:
        if c.is_file() or (c.is_dir() and any(c.glob("*-idx*"))):
            return c
    return None


def _load_local(name: str, path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix == ".mat":
        return _load_svhn_mat(path.parent / SVHN_FILES[split])
    if path.suffix == ".npz":
        with np.load(path) as z:
            x, y = np.asarray(z[f"x_{split}"]), np.asarray(z[f"y_{split}"]).astype(np.int64)
        return _unsorted(x, y, seed=0 if split == "train" else 1)
    prefix = "train" if split == "train" else "t10k"
    return _read_idx(_one(path, f"{prefix}-images-idx3")), _read_idx(_one(path, f"{prefix}-labels-idx1")).astype(np.int64)


def _unsorted(x: np.ndarray, y: np.ndarray, seed: int):
    """A copy stored sorted by class (the shared CIFAR-10 subset is, in both splits, and its
    train_index counts within a class-sorted array) would make "the first N images" one class. Such a
    split gets one fixed permutation (seed 0 for train, 1 for test), so its first N images are a uniform sample, the way
    the first N of the original, unsorted CIFAR-10 are; the original order itself cannot be recovered."""
    if len(y) > 1 and np.all(np.diff(y) >= 0) and y[0] != y[-1]:
        order = np.random.default_rng(seed).permutation(len(y))
        return x[order], y[order]
    return x, y


def _load_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An official SVHN cropped-digit .mat: X (32, 32, 3, N) -> (N, 32, 32, 3); label 10 -> digit 0."""
    import scipy.io

    if not path.is_file():
        raise ConfigError(f"no file {path.name} in {path.parent}; expected the official SVHN {', '.join(SVHN_FILES.values())}")
    m = scipy.io.loadmat(path)
    x = np.ascontiguousarray(np.transpose(m["X"], (3, 0, 1, 2))).astype(np.uint8)
    y = np.asarray(m["y"]).reshape(-1).astype(np.int64)
    return x, np.where(y == 10, 0, y)


def _one(folder: Path, stem: str) -> Path:
    found = sorted(folder.glob(stem + "*"))
    if not found:
        raise ConfigError(f"no file {stem}* in {folder}; expected the original IDX files")
    return found[0]


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _load_hub(name: str, split: str, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a core dependency
        raise ConfigError(f"dataset {name!r} not found locally and `datasets` is not installed") from None
    try:
        ds = datasets.load_dataset(HUB_NAMES[name], HUB_CONFIGS.get(name), split=split)
    except Exception as e:  # offline, no cache
        where = f" in {data_dir}" if data_dir else ""
        raise ConfigError(
            f"dataset {name!r} not found{where} and the hub ({HUB_NAMES[name]}) is unreachable: {type(e).__name__}; "
            f"pass data_dir=DIR (or set REPRO_DATA_DIR) pointing at a folder with {name}/"
        ) from None
    image_key = "img" if "img" in ds.column_names else "image"
    x = np.stack([np.asarray(im) for im in ds[image_key]]).astype(np.uint8)
    return x, np.asarray(ds["label"], dtype=np.int64)
