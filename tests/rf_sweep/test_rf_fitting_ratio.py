"""experiment=fitting_ratio pieces: KRR at every ridge from one eigendecomposition, the noisy labels."""
import numpy as np
import pytest
import torch

from repro.experiments.rf_sweep.kernel_ridge import KernelRidge, noisy_labels, ridge_grid


def rbf(x1, x2):
    return np.exp(-((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1) / 2)


@pytest.mark.parametrize("ridge", [0.0, 1e-6, 1e-2, 1.0, 30.0])
def test_every_ridge_matches_a_direct_solve(ridge):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 3))
    K = rbf(x, x)
    y = rng.normal(size=(70, 4))
    tr, te = np.arange(50), np.arange(50, 70)
    krr = KernelRidge(torch.as_tensor(K[np.ix_(tr, tr)]), torch.as_tensor(K[np.ix_(te, tr)]))
    train, test = krr.errors(torch.as_tensor(y[tr]), torch.as_tensor(y[te]), torch.tensor([ridge], dtype=torch.float64))
    A = K[np.ix_(tr, tr)] + ridge * np.eye(50)
    coef = np.linalg.lstsq(A, y[tr], rcond=None)[0] if ridge == 0 else np.linalg.solve(A, y[tr])
    direct_tr = ((K[np.ix_(tr, tr)] @ coef - y[tr]) ** 2).sum(1).mean()
    direct_te = ((K[np.ix_(te, tr)] @ coef - y[te]) ** 2).sum(1).mean()
    if ridge == 0:  # the RBF Gram is near-singular: compare the interpolant's fit (train ~ 0) and its scale
        assert train[0] < 1e-6 * (y[tr] ** 2).sum(1).mean()
        assert test[0] > 0 and np.isfinite(test[0])
    else:
        assert train[0] == pytest.approx(direct_tr, rel=1e-6, abs=1e-12)
        assert test[0] == pytest.approx(direct_te, rel=1e-6)


def test_ridgeless_on_a_well_conditioned_kernel_interpolates_and_matches_the_inverse():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 40))
    K = x @ x.T / 40 + 0.1 * np.eye(60)
    y = rng.normal(size=(60, 2))
    tr, te = np.arange(40), np.arange(40, 60)
    krr = KernelRidge(torch.as_tensor(K[np.ix_(tr, tr)]), torch.as_tensor(K[np.ix_(te, tr)]))
    train, test = krr.errors(torch.as_tensor(y[tr]), torch.as_tensor(y[te]), torch.zeros(1, dtype=torch.float64))
    coef = np.linalg.solve(K[np.ix_(tr, tr)], y[tr])
    assert train[0] < 1e-20
    assert test[0] == pytest.approx(((K[np.ix_(te, tr)] @ coef - y[te]) ** 2).sum(1).mean(), rel=1e-9)


def test_train_error_rises_and_fitting_ratio_goes_from_0_to_1_with_the_ridge():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 5))
    K = rbf(x, x)
    y = np.eye(10)[rng.integers(0, 10, 300)]
    krr = KernelRidge(torch.as_tensor(K[:200, :200]), torch.as_tensor(K[200:, :200]))
    ridges = torch.as_tensor(ridge_grid(krr.top_eigenvalue, 200, 50, True))
    train, test = krr.errors(torch.as_tensor(y[:200]), torch.as_tensor(y[200:]), ridges)
    R = train / test
    assert np.all(np.diff(train) >= -1e-12) and R[0] < 1e-8 and R[-1] > 0.9


def test_ridge_grid_follows_the_authors_rule():
    grid = ridge_grid(200.0, 1000, 50, True)  # λ_max/N^1.5 = 0.0063 -> 10^-2 -> from 10^-3; 10^(2 + 2) at the top
    assert grid[0] == 0 and len(grid) == 51
    assert grid[1] == pytest.approx(1e-3) and grid[-1] == pytest.approx(1e4)


def test_noisy_labels_have_the_per_output_variance_and_unit_norm_rows():
    """Before renormalisation the noise has the asked per-output variance (checked on the raw draw with
    the same generator state); after it every row has norm 1, and zero variance keeps the one-hot rows."""
    onehot = torch.as_tensor(np.eye(10)[np.random.default_rng(3).integers(0, 10, 20000)])
    var = 0.3
    y = noisy_labels(onehot, var, torch.Generator().manual_seed(5))
    assert torch.allclose(torch.linalg.vector_norm(y, dim=1), torch.ones(len(y), dtype=torch.float64), atol=1e-12)
    raw = torch.randn(onehot.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * var**0.5
    noise = (onehot + raw)
    assert torch.allclose(y, noise / torch.linalg.vector_norm(noise, dim=1, keepdim=True))
    per_output = raw.var(dim=0)
    assert torch.all((per_output - var).abs() < 5 * var * (2 / len(y)) ** 0.5)  # 5 SE of a variance estimate
    assert torch.equal(noisy_labels(onehot, 0.0, torch.Generator().manual_seed(5)), onehot)
    # the summed noise over the 10 outputs is what σ²_rel · base_mse asks for: variance / output × 10
    assert float(raw.pow(2).sum(1).mean()) == pytest.approx(10 * var, rel=0.02)


def tiny_mnist(folder, n_train=260):
    """A generated MNIST-shaped copy: two blobs of 28×28 images per class, so KRR learns something."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n_train)
    protos = rng.integers(0, 255, (10, 28, 28))
    x = np.clip(protos[y] + rng.normal(0, 60, (n_train, 28, 28)), 0, 255).astype(np.uint8)
    (folder / "mnist").mkdir(parents=True)
    np.savez(folder / "mnist" / "mnist.npz", x_train=x, y_train=y, x_test=x[:20], y_test=y[:20])
    return folder


def test_fitting_ratio_end_to_end_on_the_quick_preset(compose, run_dir, tmp_path):
    import json

    from omegaconf import OmegaConf

    from repro.experiments.common.rundir import execute
    from repro.experiments.rf_sweep.plots import plot_sweep

    data = tiny_mnist(tmp_path / "data")
    cfg = compose("rf_sweep", "experiment=fitting_ratio", "preset=quick", "dataset=mnist", f"data_dir={data}",
                  "fitting_ratio.n=160", "fitting_ratio.n_test=80", "fitting_ratio.trials=2",
                  "fitting_ratio.n_sweep=[40,80]", "fitting_ratio.ridges=12", "kernel.tile=120")
    OmegaConf.save(cfg, run_dir / "config.yaml")
    assert execute("rf_sweep", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["exponents"] == {"alpha": 1.12, "beta": 1.36, "source": "fitting_ratio.table.mnist (spec §9: depth-10 Myrtle CNTK)"}
    assert s["noise_threshold"] == pytest.approx(0.24 / (1.12 * 0.12)) and s["sign_beta_minus_alpha"] == 1
    assert [v["noise_rel"] for v in s["noise_levels"]] == [0, 1, 5, 50]
    assert [v["predicted_zero_ridge_optimal"] for v in s["noise_levels"]] == [True, True, False, False]
    for v in s["noise_levels"]:
        assert 0 <= v["measured_R_star"] < 1 and v["measured_min_test_mse"] > 0
    assert [c["n"] for c in s["optimal_test_mse_vs_n"]][0] == [40, 80, 160]
    assert isinstance(s["optimal_test_mse_nonincreasing_in_n"], bool)
    assert s["resolved"]["pool"]["images"] == 240 and len(s["resolved"]["ridges"]) == 13
    t = __import__("pandas").read_csv(run_dir / "results.csv")
    assert len(t) == 4 * 3 * 13 and (t.fitting_ratio[t.ridge == 0] < 1e-8).all()
    # noise raises the noisy-label test MSE at the optimum, and a huge ridge gives R near 1
    best = t[t.n == 160].groupby("noise_rel").test_mse.min()
    assert best.is_monotonic_increasing
    figures = {p.name for p in (run_dir / "figures").iterdir()}
    assert {"fig2_test_mse_vs_fitting_ratio.png", "fitting_ratio_train_vs_test.png", "fitting_ratio_mse_vs_ridge.png"} <= figures
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    assert {p.name for p in plot_sweep(sweep, [run_dir])} == {"fig2_test_mse_vs_fitting_ratio.png",
                                                               "fitting_ratio_train_vs_test.png", "fitting_ratio_mse_vs_ridge.png"}


@pytest.mark.parametrize("override,message", [
    ("fitting_ratio.n_sweep=[500]", "fitting_ratio.n_sweep[0]=500 is invalid"),
    ("fitting_ratio.alpha=1.5", "give both or neither"),
    ("fitting_ratio.n=5000", "training images"),
])
def test_fitting_ratio_bad_input_is_one_line(compose, tmp_path, override, message):
    from repro.experiments.common.errors import ConfigError
    from repro.experiments.rf_sweep.run import validate

    data = tiny_mnist(tmp_path / "data")
    cfg = compose("rf_sweep", "experiment=fitting_ratio", "preset=quick", "dataset=mnist", f"data_dir={data}",
                  "fitting_ratio.n=160", "fitting_ratio.n_test=80", "fitting_ratio.n_sweep=[40]", override)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(cfg)
