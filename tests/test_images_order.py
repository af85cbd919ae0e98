"""A local image copy stored sorted by class still gives a uniform "first N" (richness takes the first
N images, the author's protocol); an unsorted copy comes back as stored."""
from __future__ import annotations

import numpy as np

from repro.experiments.common.images import load_images


def _write(folder, y_train, y_test):
    (folder / "cifar10").mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(folder / "cifar10" / "c.npz", x_train=rng.integers(0, 255, (len(y_train), 32, 32, 3), dtype=np.uint8),
             y_train=y_train, x_test=rng.integers(0, 255, (len(y_test), 32, 32, 3), dtype=np.uint8), y_test=y_test)


def test_class_sorted_copy_is_permuted_once_with_images_and_labels_together(tmp_path):
    y = np.repeat(np.arange(10), 50)
    _write(tmp_path, y, y[:200])
    x, got = load_images("cifar10", tmp_path, "train")
    raw = np.load(tmp_path / "cifar10" / "c.npz")
    assert len(np.unique(got[:50])) >= 8                      # the first 50 span the classes
    order = [int(np.flatnonzero((raw["x_train"] == xi).all(axis=(1, 2, 3)))[0]) for xi in x[:5]]
    assert list(got[:5]) == list(raw["y_train"][order])        # each image keeps its label
    np.testing.assert_array_equal(load_images("cifar10", tmp_path, "train")[1], got)   # deterministic


def test_unsorted_copy_is_returned_as_stored(tmp_path):
    y = np.random.default_rng(3).integers(0, 10, 300)
    _write(tmp_path, y, y[:100])
    np.testing.assert_array_equal(load_images("cifar10", tmp_path, "train")[1], y)
