"""A kernel matrix over N pool images in tiles that survive a kill and spread over a launcher's jobs.

The N images are cut into B = ⌈N / kernel.tile⌉ blocks; the tiles are the B(B+1)/2 block pairs
(a, b) with a <= b (row-major), the lower ones being transposes. Each finished tile is stored
atomically in the cache (common.cache, kind `rf_kernel_tiles`) keyed by the kernel and its
parameters, the data set's identity and the tile's image indices (training-split ranges), so
- a killed computation resumes at the first missing tile (finished ones are read back, checked);
- `experiment=kernel_tiles kernel_tiles.index=I` computes just tile I: the sweep
  `kernel_tiles.index='range(T)' --jobs 4` (or `--launcher slurm` / `ray`) spreads the T tiles over
  processes or a cluster, every job writing into the one shared cache ($REPRO_CACHE_DIR);
- an experiment that needs the matrix (`assemble`) reads every tile and computes any still missing.
A tile's value depends only on its own images, so tiles computed anywhere give the identical matrix,
and a larger pool with the same tile side reuses every tile of a smaller one.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from repro.experiments.common import cache
from repro.experiments.common.errors import require, require_range
from repro.experiments.common.log import logger
from repro.experiments.common.progress import Progress

from .kernel_source import data_identity, load_pool_images
from .kernels import FC_KERNELS, check_images, kernel_matrix

CACHE_KIND = "rf_kernel_tiles"
VERSION = 1          # bump when a kernel's computation changes its numbers
MAX_IMAGES = 200_000  # a pool above this is a typo: its float64 matrix alone is > 300 GiB
log = logger("rf_sweep")


def tile_pairs(images: int, tile: int) -> list[tuple[int, int]]:
    """The tiles (a, b), a <= b, row-major, of an images × images matrix in tile × tile blocks."""
    blocks = math.ceil(images / tile)
    return [(a, b) for a in range(blocks) for b in range(a, blocks)]


def tile_count(images: int, tile: int) -> int:
    blocks = math.ceil(images / tile)
    return blocks * (blocks + 1) // 2


def _range(block: int, tile: int, images: int) -> tuple[int, int]:
    return block * tile, min((block + 1) * tile, images)


def kernel_params(k) -> dict:
    """The parameters a computed kernel's value depends on (depth only for the fully connected ones)."""
    out = {"name": k.name, "kind": k.kind, "w_std": k.w_std, "b_std": k.b_std}
    if k.name in FC_KERNELS:
        out["depth"] = k.depth
    return out


def tile_key(s, rows: tuple[int, int], cols: tuple[int, int]) -> dict:
    return {"version": VERSION, "kernel": kernel_params(s.kernel), "data": data_identity(s.dataset.name, s.data_dir),
            "split": "train", "rows": list(rows), "cols": list(cols)}


def compute_tile(s, x: np.ndarray, rows, cols) -> np.ndarray:
    """K[rows, cols] of the pool images x; a diagonal tile is computed as one matrix, symmetrised."""
    k = s.kernel
    params = dict(depth=k.depth, kind=k.kind, w_std=k.w_std, b_std=k.b_std, compile={"auto": "auto", "always": True, "never": False}[k.compile])
    a = x[rows[0]:rows[1]]
    if rows == cols:
        K = kernel_matrix(k.name, a, **params)
        return (K + K.T) / 2  # exactly symmetric (a matmul's rounding is not), so the assembled matrix is
    return kernel_matrix(k.name, a, x[cols[0]:cols[1]], **params)


def ensure_tiles(s, x: np.ndarray, which: list[int] | None = None, keep: bool = False) -> dict[int, np.ndarray]:
    """Every tile of `which` (all when None) in the cache: read the finished ones, compute and store
    the missing ones (progress: tiles done, rate, ETA). Returns {tile: array} when keep, else {}."""
    images, tile = len(x), s.kernel.tile
    pairs = tile_pairs(images, tile)
    which = list(range(len(pairs))) if which is None else which
    keys = {t: tile_key(s, _range(pairs[t][0], tile, images), _range(pairs[t][1], tile, images)) for t in which}
    have = {t: cache.load(CACHE_KIND, keys[t]) for t in which}
    missing = [t for t in which if have[t] is None]
    log(f"kernel {s.kernel.name} on {images} {s.dataset.name} images: {len(pairs)} tiles of {tile}, "
        f"{len(which) - len(missing)} of {len(which)} requested already cached")
    out = {t: h["tile"] for t, h in have.items() if h is not None} if keep else {}
    with Progress(len(missing), "kernel tiles", unit="tiles") as bar:
        for t in missing:
            key = keys[t]
            value = compute_tile(s, x, tuple(key["rows"]), tuple(key["cols"]))
            cache.store(CACHE_KIND, key, {"tile": value})
            if keep:
                out[t] = value
            bar.update(1, tile=t)
    return out


def assemble(s, x: np.ndarray) -> np.ndarray:
    """The full images × images kernel of the pool x from its tiles (computing any missing one)."""
    images, tile = len(x), s.kernel.tile
    pairs = tile_pairs(images, tile)
    got = ensure_tiles(s, x, keep=True)
    K = np.empty((images, images))
    for t, (a, b) in enumerate(pairs):
        (r0, r1), (c0, c1) = _range(a, tile, images), _range(b, tile, images)
        K[r0:r1, c0:c1] = got[t]
        K[c0:c1, r0:r1] = got[t].T
    return K


# ---------------------------------------------------------------- experiment=kernel_tiles

def validate_kernel(s, images: int) -> None:
    """Checks of a computed kernel over a pool of `images` images."""
    k = s.kernel
    require_range(images, "kernel.images", 1, MAX_IMAGES)
    require_range(k.tile, "kernel.tile", 1, MAX_IMAGES)
    require_range(k.depth, "kernel.depth", 2, 1000)
    require(k.w_std > 0, f"kernel.w_std={k.w_std} is invalid: the weight scale must be positive; valid: > 0")
    require(k.b_std >= 0, f"kernel.b_std={k.b_std} is invalid: a standard deviation; valid: >= 0")
    shape = {"mnist": (1, 28, 28, 1), "fashion_mnist": (1, 28, 28, 1)}.get(s.dataset.name, (1, 32, 32, 3))
    check_images(k.name, np.zeros(shape))  # e.g. a Myrtle kernel on images its pools cannot reduce to 1×1


def validate(s) -> None:
    require(s.kernel.name != "file", "kernel=file is invalid with experiment=kernel_tiles: a precomputed kernel has "
                                     "no tiles to compute; valid: relu_nngp | fc_ntk | myrtle5 | myrtle7 | myrtle10")
    from .kernel_pool import validate_pool

    images = validate_pool(s, 1)
    T = tile_count(images, s.kernel.tile)
    index = s.kernel_tiles.index
    require(index is None or 0 <= index < T,
            f"kernel_tiles.index={index} is invalid: the kernel over {images} images in {s.kernel.tile}-image "
            f"tiles has T={T} tiles; valid: null (all) or 0..{T - 1} (a sweep: kernel_tiles.index='range({T})')")


def run(s, run_dir: Path) -> dict:
    """experiment=kernel_tiles: tile kernel_tiles.index (or all) of the pool kernel into the cache."""
    from .kernel_pool import pool_size

    t0 = time.monotonic()
    x, _ = load_pool_images(s.dataset.name, s.data_dir, pool_size(s))
    T = tile_count(len(x), s.kernel.tile)
    which = None if s.kernel_tiles.index is None else [s.kernel_tiles.index]
    ensure_tiles(s, x, which)
    return {"tiles": T, "index": s.kernel_tiles.index, "images": len(x), "tile": s.kernel.tile,
            "kernel": kernel_params(s.kernel), "seconds": round(time.monotonic() - t0, 3),
            "cache": str(cache.cache_dir(CACHE_KIND))}
