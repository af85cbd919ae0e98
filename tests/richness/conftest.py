"""Fixtures of the richness tests: a header-only image folder (validate reads shapes and lengths only)."""
import io
import zipfile

import numpy as np
import pytest


def make_image_folder(root, train_sizes=None, image_shapes=None):
    """mnist/ and cifar10/ copies whose arrays have the full split lengths and image shapes, or those given. Only
    the .npy headers are written (validate reads nothing else), so the copies are tiny."""
    sizes = {"mnist": (60000, 10000), "cifar10": (10000, 10000), **(train_sizes or {})}
    shapes = {"mnist": (28, 28), "cifar10": (32, 32, 3), **(image_shapes or {})}
    for name, (n_train, n_test) in sizes.items():
        (root / name).mkdir()
        with zipfile.ZipFile(root / name / f"{name}.npz", "w") as z:
            for key, shape in (("x_train", (n_train, *shapes[name])), ("y_train", (n_train,)),
                               ("x_test", (n_test, *shapes[name])), ("y_test", (n_test,))):
                buf = io.BytesIO()
                np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
                z.writestr(f"{key}.npy", buf.getvalue())
    return root



@pytest.fixture
def image_folder():
    """image_folder(root, train_sizes=None, image_shapes=None) -> root, holding mnist/ and cifar10/ copies."""
    return make_image_folder
