"""experiment=exponents and spectra end to end on a tiny generated MNIST, kernel=file, and bad input
(one line, exit 2, nothing written)."""
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from repro.cli.app import app
from repro.experiments.rf_sweep.exponents_run import predictions
from repro.experiments.rf_sweep.kernel_source import load_pool_images
from repro.experiments.rf_sweep.kernels import kernel_matrix

SMALL = ["preset=quick", "--dataset", "mnist", "exponents.n=[10,200,10]", "exponents.n_test=60", "exponents.fit=[30,200]",
         "exponents.bootstrap=50", "exponents.direct_windows=[[2,20],[20,200]]", "spectra.n=[50,260]", "kernel.tile=130"]


def mnist_folder(root, n_train=300, n_test=20, seed=0):
    """Digits-like images with class structure (a class template plus noise), so the task is learnable."""
    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 256, (10, 28, 28))
    d = root / "mnist"
    d.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(0, 10, n)
        x = np.clip(templates[y] * 0.6 + rng.integers(0, 256, (n, 28, 28)) * 0.4, 0, 255).astype(np.uint8)
        arrays |= {f"x_{split}": x, f"y_{split}": y}
    np.savez(d / "mnist.npz", **arrays)
    return root


def invoke(*args):
    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.output, r.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return mnist_folder(tmp_path_factory.mktemp("data"))


def test_exponents_run_writes_fits_intervals_predictions_and_figure(data, tmp_path):
    code, out, stdout = invoke("rf-sweep", "--experiment", "exponents", *SMALL, "--data-dir", data, "--out", tmp_path)
    assert code == 0, out
    d = Path(stdout.strip().splitlines()[-1])
    s = json.loads((d / "summary.json").read_text())
    for key in ("alpha", "beta"):
        lo, hi = s[f"{key}_ci95"]
        assert np.isfinite(s[key]) and lo <= s[key] <= hi
    assert s["fit_window"] == [30.0, 200.0] and len(s["direct_spectrum_fits"]) == 2
    assert s["prediction"]["sign_beta_minus_alpha"] == int(np.sign(s["beta"] - s["alpha"]))
    assert s["resolved"]["pool"]["images"] == 260 and s["resolved"]["pool"]["tiles"] == 3
    assert (d / "figures" / "exponents.png").stat().st_size > 0
    z = np.load(d / "exponents.npz")
    assert z["inv_trace"].shape == (3, len(z["n"])) and np.all(np.diff(z["inv_trace"].mean(0)) < 0)  # κ falls with n

    # the same pool kernel from a file gives the same numbers
    x, _ = load_pool_images("mnist", str(data), 260)
    K = kernel_matrix("fc_ntk", x, depth=3)
    np.savez(tmp_path / "k.npz", kernel=(K + K.T) / 2, indices=np.arange(260))
    code, out, stdout = invoke("rf-sweep", "--experiment", "exponents", *SMALL, "kernel=file", f"kernel.path={tmp_path / 'k.npz'}",
                               "--data-dir", data, "--out", tmp_path / "file")
    assert code == 0, out
    f = json.loads((Path(stdout.strip().splitlines()[-1]) / "summary.json").read_text())
    assert abs(f["alpha"] - s["alpha"]) < 1e-6 and abs(f["beta"] - s["beta"]) < 1e-6


@pytest.mark.slow  # two eigendecompositions plus the proxy fit
def test_spectra_run_draws_every_n_with_proxy_guides(data, tmp_path):
    code, out, stdout = invoke("rf-sweep", "--experiment", "spectra", *SMALL, "--data-dir", data, "--out", tmp_path)
    assert code == 0, out
    d = Path(stdout.strip().splitlines()[-1])
    z = np.load(d / "spectra.npz")
    assert [int(n) for n in z["n"]] == [50, 260] and len(z["eigvals_260"]) > len(z["eigvals_50"])
    assert (d / "figures" / "spectra.png").exists()


def test_predictions_follow_section_7_3():
    p = predictions(1.12, 1.36)  # the spec's MNIST values: β > α, zero ridge optimal below the threshold
    assert p["zero_ridge_optimal_noiseless"] and abs(p["noise_threshold"] - 0.24 / (1.12 * 0.12)) < 1e-12
    q = predictions(1.17, 1.14)  # CIFAR-10: β < α, a small non-zero R* even without noise
    assert not q["zero_ridge_optimal_noiseless"] and q["noise_threshold"] < 0
    assert q["optimal_fitting_ratio_noiseless"] == pytest.approx(((1.17 - 1.14) / (1.14 * 0.17)) ** 2, rel=1e-9)


def _refused(tmp_path, data, *args, match):
    code, out, _ = invoke("rf-sweep", "--experiment", "exponents", *SMALL, "--data-dir", data, *args, "--out", tmp_path / "o")
    assert code == 2, out
    assert match in out and len([line for line in out.strip().splitlines() if line.strip()]) == 1, out
    assert not (tmp_path / "o").exists()


def test_bad_kernel_input_is_one_line_exit_2_nothing_written(data, tmp_path):
    _refused(tmp_path, data, "kernel=nope", match="kernel")
    bad = tmp_path / "bad.npz"
    np.savez(bad, kernel=np.eye(5), indices=np.arange(4))
    _refused(tmp_path, data, "kernel=file", f"kernel.path={bad}", match="has shape (5, 5) but its index set holds 4")
    nan = np.eye(300)
    nan[3, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    _refused(tmp_path, data, "kernel=file", f"kernel.path={tmp_path / 'nan.npy'}", match="NaN or inf")
    np.save(tmp_path / "big.npy", np.eye(400))
    _refused(tmp_path, data, "kernel=file", f"kernel.path={tmp_path / 'big.npy'}", match="above the 300 training images")
    _refused(tmp_path, data, "kernel.images=301", match="above the 300 training images")
    _refused(tmp_path, data, "exponents.n=[10,280,10]", match="kernel.images=340 is invalid: the pool is above the 300")
    _refused(tmp_path, data, "kernel.images=250", match="needs 260 pool images")
    _refused(tmp_path, data, "exponents.fit=[500,900]", match="exponents.fit=[500.0, 900.0] is invalid: it holds 0 of the n values")
    _refused(tmp_path, data, "dataset=gaussian", match="dataset=gaussian is invalid with a kernel experiment")
