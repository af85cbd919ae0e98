"""lazy_gd (stacked full-batch GD beside the linearised model), D(n) across widths, the NTK-spectrum prediction of
the lazy network's test MSE, and the lr-law fits."""
import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from repro.experiments.common.rundir import execute
from repro.experiments.richness.data import teacher_task
from repro.experiments.richness.lazy_gd import GD, discrepancies, effective_gd, width_runs
from repro.experiments.richness.lr_laws import side_fits
from repro.experiments.richness.model import MLP, StackedMLP, mse_loss
from repro.experiments.richness.ntk import as_matrix, gram_ntk
from repro.experiments.richness.ntk_prediction import predicted_test_mse


def gd(steps, record=None, kink_free=True) -> GD:
    return GD(depth=3, gauge="mup", bias=True, gain=2 ** 0.5, steps=steps, record=record or (steps,),
              kink_free=kink_free, seed=0)


def test_stacked_effective_gd_equals_a_loop_of_sgd_on_single_mlps():
    """Per-trial lr, centred, L = (1/2P) sum ||f - y||^2: the effective-weight GD equals torch.optim.SGD on raw
    parameters with layer lrs lr * eta_l (the gauge identity V = gW, lam = g^2 eta)."""
    data = teacher_task(24, 8, 5, 2, 32, 0)
    x, y = data.x_train, data.y_train
    net = StackedMLP(5, 40, 3, 2, 2, 0.25, 1.3, "rescale", generator=torch.Generator().manual_seed(1),
                     dtype=torch.float64)
    lr = torch.tensor([0.7, 1.9], dtype=torch.float64)
    layers0 = [(V.detach(), c.detach()) for V, c in net.effective_layers()]
    runs, _ = effective_gd(layers0, [s.lam for s in net.scales], net.gain, x, y, [data.x_test], lr, (0, 3, 7))
    for t in range(2):
        m = MLP(5, 40, 3, 2, 0.25, 1.3, "rescale", dtype=torch.float64)
        with torch.no_grad():
            for i in range(3):
                m.weights[i].copy_(net.W[i][t])
                m.biases[i].copy_(net.b[i][t])
        f0, f0t = m(x).detach(), m(data.x_test).detach()
        opt = torch.optim.SGD(m.param_groups(float(lr[t])))
        for step in range(7):
            opt.zero_grad()
            mse_loss(m(x) - f0, y, "half_sum").backward()
            opt.step()
            if step + 1 == 3:
                assert torch.allclose(runs[3][1][t], m(data.x_test).detach() - f0t, atol=1e-12)
        assert torch.allclose(runs[7][0][t], m(x).detach() - f0, atol=1e-12)
    assert float(runs[0][0].abs().max()) == 0.0


def test_initial_ntk_does_not_depend_on_richness_for_one_draw():
    x = teacher_task(16, 4, 6, 2, 32, 0).x_train
    th = [gram_ntk(n.effective_layers(), [s.lam for s in n.scales], x)
          for n in (StackedMLP(6, 64, 3, 2, 2, r, g0, "mup", generator=torch.Generator().manual_seed(3),
                               dtype=torch.float64) for r, g0 in ((0.0, 1.0), (0.5, 1.0), (0.5, 0.01)))]
    assert all(torch.allclose(t, th[0], rtol=1e-12, atol=0) for t in th[1:])


def test_D_falls_with_width_at_r0_and_stays_above_a_floor_at_r_half():
    """Three widths, fixed seeds (README numbers: r = 0 falls like n^-0.7..-0.9; r = 1/2 stays ~0.2-0.4)."""
    data = teacher_task(48, 48, 8, 1, 64, 1)
    D = {0.0: [], 0.5: []}
    for w in (128, 256, 512):
        res = width_runs(data, w, [(0.0, 1.0), (0.5, 1.0)], gd(100), 2, "cpu", torch.float32)
        for j, r in enumerate(D):
            q = discrepancies(res, j, 100, data.y_train, data.y_test)
            D[r].append(float(q["D_test"].mean()))
    assert D[0.0][0] > D[0.0][1] > D[0.0][2] and D[0.0][2] < 0.6 * D[0.0][0], D
    floor = 0.1  # the rich end does not approach its linearisation: D stays O(1)
    assert min(D[0.5]) > floor and min(D[0.5]) > 3 * D[0.0][2], D


def test_krr_eigenframework_prediction_matches_direct_kernel_regression_within_the_pool_error():
    """Theta_0 of one network on a pool -> eigenframework at n; against ridgeless kernel regression with the same
    Theta_0 on 30 random training sets of n fresh points (test on 500 others). Tolerance: twice the finite-pool
    error (prediction from the pool minus that from its first half: the prediction rises with the pool) plus two
    standard errors of the direct mean."""
    n, N, M = 60, 1500, 1500
    data = teacher_task(N + M, 10, 8, 1, 64, 3)
    net = StackedMLP(8, 256, 3, 1, 1, 0.0, 1.0, "mup", generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lams = [s.lam for s in net.scales]
    with torch.no_grad():
        thp = as_matrix(gram_ntk(net.effective_layers(), lams, data.x_train[:N]))[0]
        thd = as_matrix(gram_ntk(net.effective_layers(), lams, data.x_train[N:]))[0]
    yp, yd = data.y_train[:N], data.y_train[N:, 0]
    pred, half = predicted_test_mse(thp, yp, n), predicted_test_mse(thp[:N // 2, :N // 2], yp[:N // 2], n)
    g, test = torch.Generator().manual_seed(1), torch.arange(1000, M)
    mses = []
    for _ in range(30):
        tr = torch.randperm(1000, generator=g)[:n]
        f = thd[test][:, tr] @ torch.linalg.solve(thd[tr][:, tr], yd[tr])
        mses.append(float(((f - yd[test]) ** 2).mean()))
    direct, se = float(np.mean(mses)), float(np.std(mses) / np.sqrt(len(mses)))
    assert 0 < pred - half < 0.1 * pred  # finite-pool error: small, and of the sign the pool-size scan shows
    assert abs(direct - pred) <= 2 * (pred - half) + 2 * se, (pred, half, direct, se)
    assert abs(direct - predicted_test_mse(thp, yp, n // 2)) > 0.5 * direct  # the check can fail


def test_lr_law_fits_recover_planted_slopes():
    g0s = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    lrs = np.geomspace(1e-6, 10, 43)
    planted = [1.0 if g <= 1 else g ** (-4 / 3) for g in g0s]
    rng = np.random.default_rng(0)
    grid3 = np.stack([np.stack([(np.log(lrs) - np.log(p)) ** 2 + 0.01 * rng.standard_normal(len(lrs))
                                for p in planted]) for _ in range(3)], axis=2)
    fits = side_fits(g0s, lrs, grid3, 0.1, 10.0)
    assert abs(fits["lazy"]["slope"]) < 0.05 and abs(fits["rich"]["slope"] + 4 / 3) < 0.05, fits
    assert fits["rich"]["ci95"][0] <= fits["rich"]["slope"] <= fits["rich"]["ci95"][1]


TINY = {
    "lazy_widths": ["lazy_widths.widths=[64,128]", "steps=20", "n_train=16", "n_test=16", "lazy_widths.trials=2"],
    "loss_curves": ["loss_curves.widths=[64,128]", "steps=20", "n_train=16", "n_test=16", "loss_curves.trials=1"],
    "ntk_prediction": ["ntk_prediction.widths=[64]", "steps=20", "n_train=16", "n_test=16", "ntk_prediction.pool=40",
                       "ntk_prediction.trials=1"],
    "lr_laws": ["width=32", "steps=10", "n_train=320", "n_test=50", "lr_laws.gamma0_values=[0.1,1,10]",
                "lr_laws.n_lrs=4", "lr_laws.trials=1", "lr_laws.fit_lazy_below=1", "lr_laws.fit_rich_above=1"],
    "lr_transfer_widths": ["dataset=teacher", "lr_transfer_widths.widths=[16,32]", "n_train=64", "n_test=32",
                           "lr_transfer_widths.n_lrs=3"],
}


@pytest.mark.parametrize("experiment", sorted(TINY))
def test_new_experiment_end_to_end(compose, run_dir, experiment):
    cfg = compose("richness", "preset=quick", f"experiment={experiment}", *TINY[experiment])
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    assert execute("richness", run_dir) == "done", json.loads((run_dir / "run.json").read_text()).get("traceback")
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["experiment"] == experiment and s["resolved"]["experiment"] == experiment
    assert list((run_dir / "figures").glob("*.png"))
    assert (run_dir / "metrics.jsonl").read_text().strip()
