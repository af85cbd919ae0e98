"""Where the kernel experiments' matrix comes from: the images of a data set and a kernel over them.

The pool is the first `kernel.images` images of the training split (common.images gives a class-
sorted local copy one fixed permutation, so the first N are a uniform sample), globally standardised
(one scalar mean and std over every training pixel, spec §8.3) and kept as (N, H, W, C); labels are
one-hot over the 10 classes (spec §8.3; CIFAR-10 is not binarised here, unlike Fig. 1).

A computed kernel (relu_nngp, fc_ntk, myrtle5/7/10) is assembled from cached tiles (tiles.py).
`kernel=file` reads a precomputed matrix instead (the paper-size CNTK is GPU-hours):
  - `.npz` with `kernel` (N, N) and `indices` (N,): the training-split indices of its rows/columns;
  - `.npy` holding an (N, N) matrix over the training-split indices 0..N-1.
`kernel.images` = null takes all N; an integer takes the first that many of the stated indices.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.experiments.common.datadir import resolve_data_dir
from repro.experiments.common.errors import ConfigError, require
from repro.experiments.common.images import find_local, load_images, require_available

# Training/test split sizes of the full data sets (the hub's copies), for validation without loading images.
HUB_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000), "cifar10": (50000, 10000), "svhn": (73257, 26032)}
CLASSES = 10


def split_sizes(name: str, data_dir) -> tuple[int, int]:
    """(training, test) images of `name` from its local copy's headers, else the hub's sizes; no images are read."""
    local = require_available(name, resolve_data_dir(None, data_dir))
    if local is None:
        return HUB_SIZES[name]
    if local.suffix == ".npz":
        with np.load(local) as z:  # labels only: cheap
            return len(z["y_train"]), len(z["y_test"])
    if local.suffix == ".mat":
        import scipy.io

        count = lambda p: next(shape[-1] for key, shape, _ in scipy.io.whosmat(p) if key == "X")  # noqa: E731
        test = local.parent / "test_32x32.mat"
        return count(local), count(test) if test.is_file() else 0
    return HUB_SIZES[name]  # IDX folders: the full data set


def data_identity(name: str, data_dir) -> dict:
    """What the pool's pixels depend on, for cache keys: the local file (name, size) or the hub copy."""
    local = find_local(name, resolve_data_dir(None, data_dir))
    if local is None:
        return {"dataset": name, "source": "hub"}
    return {"dataset": name, "source": local.name, "bytes": local.stat().st_size if local.is_file() else None}


def load_pool_images(name: str, data_dir, images: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `images` training images, standardised, (N, H, W, C) float64, and their labels (N,)."""
    x, y = load_images(name, resolve_data_dir(None, data_dir), "train")
    mean, std = float(x.mean(dtype=np.float64)), float(x.std(dtype=np.float64))
    x = x[:images].astype(np.float64)
    x = x[..., None] if x.ndim == 3 else x
    return (x - mean) / std, y[:images]


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(CLASSES)[np.asarray(labels, dtype=np.int64)]


# ---------------------------------------------------------------- kernel=file

def read_kernel_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(K, indices) of a precomputed kernel file; ConfigError when it cannot be read."""
    p = Path(path).expanduser()
    require(p.is_file(), f"kernel.path={path!r} is invalid: no such file; valid: a .npy (N, N) matrix or a .npz "
                         f"with 'kernel' (N, N) and 'indices' (N,)")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                missing = [k for k in ("kernel", "indices") if k not in z.files]
                require(not missing, f"kernel.path={path!r} is invalid: the .npz lacks {', '.join(missing)}; "
                                     f"valid: a .npz with 'kernel' (N, N) and 'indices' (N,)")
                K, idx = np.asarray(z["kernel"]), np.asarray(z["indices"])
        else:
            K = np.load(p, allow_pickle=False)
            idx = np.arange(K.shape[0]) if K.ndim >= 1 else np.arange(0)
    except (OSError, ValueError) as e:
        raise ConfigError(f"kernel.path={path!r} is invalid: not a readable .npy/.npz ({type(e).__name__}); "
                          f"valid: a .npy (N, N) matrix or a .npz with 'kernel' and 'indices'") from None
    return K, idx


def check_kernel_file(path: str, images: int | None, n_train: int) -> int:
    """Validate a precomputed kernel against its index set and the data set; return the pool size used."""
    K, idx = read_kernel_file(path)
    require(idx.ndim == 1 and np.issubdtype(idx.dtype, np.integer),
            f"kernel.path={path!r} is invalid: 'indices' has shape {idx.shape} and dtype {idx.dtype}; valid: a 1-D integer array")
    N = len(idx)
    require(K.shape == (N, N), f"kernel.path={path!r} is invalid: the matrix has shape {K.shape} but its index set "
                               f"holds {N} images; valid: shape ({N}, {N})")
    require(np.issubdtype(K.dtype, np.floating), f"kernel.path={path!r} is invalid: dtype {K.dtype}; valid: a float matrix")
    require(bool(np.isfinite(K).all()), f"kernel.path={path!r} is invalid: the matrix holds NaN or inf; valid: finite entries")
    require(N == 0 or (idx.min() >= 0 and idx.max() < n_train),
            f"kernel.path={path!r} is invalid: its indices reach {int(idx.max()) if N else 0}, above the {n_train} training "
            f"images of the data set; valid: indices in [0, {n_train})")
    require(len(np.unique(idx)) == N, f"kernel.path={path!r} is invalid: its indices repeat; valid: distinct indices")
    asym = float(np.abs(K - K.T).max()) if N else 0.0
    require(asym <= 1e-8 * max(float(np.abs(K).max()), 1e-300), f"kernel.path={path!r} is invalid: the matrix is not "
                                                                 f"symmetric (max |K - Kᵀ| = {asym:.3g}); valid: a symmetric kernel")
    used = N if images is None else images
    require(1 <= used <= N, f"kernel.images={images} is invalid: the file holds {N} images; valid: null (all) or 1..{N}")
    return used


def file_kernel(path: str, images: int | None, name: str, data_dir) -> tuple[np.ndarray, np.ndarray]:
    """(K, labels) of the first `images` of a precomputed kernel's index set, in float64."""
    K, idx = read_kernel_file(path)
    used = len(idx) if images is None else images
    _, y = load_images(name, resolve_data_dir(None, data_dir), "train")
    return np.asarray(K[:used, :used], dtype=np.float64), y[idx[:used]]
