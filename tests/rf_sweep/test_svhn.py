"""SVHN from the official cropped-digit .mat files: shape (32, 32, 3, N) -> (N, 32, 32, 3), label 10 -> 0."""
import numpy as np
import pytest
import scipy.io

from repro.experiments.common.errors import ConfigError
from repro.experiments.common.images import load_images, require_available
from repro.experiments.rf_sweep.kernel_source import load_pool_images, split_sizes


def svhn_folder(root, n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    d = root / "svhn"
    d.mkdir(parents=True)
    for split, n in (("train", n_train), ("test", n_test)):
        X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).astype(np.float64)[:, None]   # 1..10, 10 = digit 0, as MATLAB doubles
        scipy.io.savemat(d / f"{split}_32x32.mat", {"X": X, "y": y})
    return root


def test_svhn_mat_loads_as_images_with_digit_labels(tmp_path):
    root = svhn_folder(tmp_path)
    X = scipy.io.loadmat(root / "svhn" / "train_32x32.mat")["X"]
    x, y = load_images("svhn", root, "train")
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(x[4], X[:, :, :, 4])                     # image 4 is X[..., 4]
    assert y.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]         # label 10 is the digit 0
    xt, yt = load_images("svhn", root, "test")
    assert xt.shape == (5, 32, 32, 3) and yt.tolist() == [1, 2, 3, 4, 5]
    assert split_sizes("svhn", root) == (12, 5)                      # from the .mat headers, no pixels read
    pool, labels = load_pool_images("svhn", str(root), 7)
    assert pool.shape == (7, 32, 32, 3) and abs(float(pool.mean())) < 0.5


def test_missing_svhn_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr("repro.experiments.common.images.hub_reachable", lambda: False)
    with pytest.raises(ConfigError, match="svhn/train_32x32.mat and svhn/test_32x32.mat"):
        require_available("svhn", tmp_path)
