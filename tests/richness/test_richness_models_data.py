"""Myrtle-5 and the data loaders (tiny generated files, no downloads)."""
import numpy as np
import torch

from repro.experiments.richness.data import load_data, split_sizes
from repro.experiments.richness.settings import Teacher
from repro.experiments.richness.model import Myrtle5, draw_normals
from repro.experiments.richness.ntk import jacobian_ntk


def test_myrtle5_shapes_fan_ins_and_gauge_invariant_function():
    outs = []
    shapes = None
    for gauge in ("stp", "mup", "rescale"):
        m = Myrtle5(3, 8, 10, 0.5, 1.0, gauge, dtype=torch.float64)
        shapes = shapes or [tuple(w.shape) for w in m.weights]
        m.set_from_normals(draw_normals(shapes, True, torch.Generator().manual_seed(0), torch.float64))
        assert [s.fan_in for s in m.scales] == [27, 72, 72, 72, 8]
        assert [s.role for s in m.scales] == ["readin", "hidden", "hidden", "hidden", "readout"]
        f, hs = m.forward_all(torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
        assert f.shape == (2, 10) and [h.shape[-1] for h in hs[:4]] == [32, 32, 16, 8]
        outs.append(f)
    assert torch.allclose(outs[0], outs[1], rtol=1e-12) and torch.allclose(outs[0], outs[2], rtol=1e-12)
    theta = jacobian_ntk(m, torch.rand(3, 3, 32, 32, dtype=torch.float64))
    assert theta.shape == (3, 10, 3, 10)


def test_image_loader_reads_a_data_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    np.savez(tmp_path / "mnist" / "mnist.npz", x_train=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 20), x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 10))
    x = np.load(tmp_path / "mnist" / "mnist.npz")
    d = load_data("mnist", 12, 6, str(tmp_path), True, None)
    assert d.x_train.shape == (12, 784) and d.y_train.shape == (12, 10) and d.k == 10
    # the first images of each split, pixels / 255, one-hot labels
    assert torch.equal(d.x_train, torch.as_tensor(x["x_train"][:12].reshape(12, -1), dtype=torch.float64) / 255)
    assert torch.equal(d.x_test, torch.as_tensor(x["x_test"][:6].reshape(6, -1), dtype=torch.float64) / 255)
    assert torch.equal(d.y_train.argmax(1), torch.as_tensor(x["y_train"][:12])) and torch.all(d.y_train.sum(1) == 1)
    assert split_sizes("mnist", tmp_path) == ({"train": 20, "test": 10}, str(tmp_path / "mnist" / "mnist.npz"))
    (tmp_path / "cifar10").mkdir()
    np.savez(tmp_path / "cifar10" / "c.npz", x_train=rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, 8), x_test=rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, 4))
    c = load_data("cifar10", 8, 4, str(tmp_path), False, None)
    assert c.x_train.shape == (8, 3, 32, 32)
    raw = np.load(tmp_path / "cifar10" / "c.npz")["x_train"]
    assert float(c.x_train[5, 2, 7, 3]) == raw[5, 7, 3, 2] / 255  # NHWC -> NCHW


def test_teacher_task_is_fixed_by_its_seed_and_standardised():
    a = load_data("teacher", 500, 100, None, True, Teacher(d=8, k=2, width=32, seed=5))
    b = load_data("teacher", 500, 100, None, True, Teacher(d=8, k=2, width=32, seed=5))
    other = load_data("teacher", 500, 100, None, True, Teacher(d=8, k=2, width=32, seed=6))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert (a.y_train - other.y_train).norm() > 0.1 * a.y_train.norm()  # another seed, another task
    y = torch.cat([a.y_train, a.y_test])
    assert torch.allclose(y.std(0), torch.ones(2, dtype=y.dtype), atol=1e-9)
