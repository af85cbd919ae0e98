"""The pool kernel every kernel experiment (exponents, spectra, kernel_tiles) works on, and its size.

`pool_size` is the one place the pool's size is derived: `kernel.images` when set, else the largest
pool the configured kernel experiments need: max(exponents: max n + n_test, spectra: max n). So
`experiment=kernel_tiles` with kernel.images=null fills exactly the tiles a later `experiment=exponents`
(or spectra) with the same preset assembles. With kernel=file the pool is the file's index set (or its
first kernel.images entries).
"""
from __future__ import annotations

import numpy as np

from repro.experiments.common.errors import require

from . import tiles
from .kernel_source import check_kernel_file, file_kernel, load_pool_images, one_hot, split_sizes


def needed_images(s) -> int:
    """The largest pool the kernel experiments' blocks ask for (exponents and spectra)."""
    return max(s.exponents.n[1] + s.exponents.n_test, max(s.spectra.n))


def pool_size(s) -> int:
    """Images of the pool kernel: kernel.images, or what the experiments need (see module docstring)."""
    if s.kernel.name == "file":
        return check_kernel_file(s.kernel.path, s.kernel.images, split_sizes(s.dataset.name, s.data_dir)[0])
    return s.kernel.images if s.kernel.images is not None else needed_images(s)


def validate_pool(s, need: int) -> int:
    """Checks of the kernel source (computed or file) for a pool of at least `need` images; its size."""
    require(s.dataset.name != "gaussian", "dataset=gaussian is invalid with a kernel experiment: it needs images; "
                                          "valid: dataset=mnist | fashion_mnist | cifar10 | svhn")
    n_train, _ = split_sizes(s.dataset.name, s.data_dir)
    if s.kernel.name == "file":
        require(s.kernel.path is not None, "kernel.path=null is invalid with kernel=file; valid: a .npy or .npz kernel file")
        size = pool_size(s)
    else:
        size = pool_size(s)
        require(size <= n_train, f"kernel.images={size} is invalid: the pool is above the {n_train} training images "
                                 f"of {s.dataset.name}; valid: a pool of at most {n_train} (lower kernel.images or "
                                 f"the experiment's n / n_test)")
        tiles.validate_kernel(s, size)
    require(need <= size, f"kernel.images={size} is invalid: the experiment needs {need} pool images (largest n + "
                          f"n_test); valid: kernel.images >= {need} (or null: the pool the experiment needs)")
    return size


def pool_kernel(s) -> tuple[np.ndarray, np.ndarray, dict]:
    """(K (P, P) float64, one-hot labels (P, 10), a description) of the pool."""
    if s.kernel.name == "file":
        K, labels = file_kernel(s.kernel.path, s.kernel.images, s.dataset.name, s.data_dir)
        return K, one_hot(labels), {"source": "file", "path": s.kernel.path, "images": len(K)}
    x, labels = load_pool_images(s.dataset.name, s.data_dir, pool_size(s))
    K = tiles.assemble(s, x)
    return K, one_hot(labels), {"source": "tiles", "images": len(K), "tile": s.kernel.tile,
                                "tiles": tiles.tile_count(len(K), s.kernel.tile), "kernel": tiles.kernel_params(s.kernel)}
