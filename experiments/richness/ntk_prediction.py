"""ntk_prediction: the lazy network's test MSE predicted before training, from the eigenstructure of its initial NTK.

In the lazy limit a centred network trained to convergence on MSE is kernel regression with Theta_0 (spec sec. 10).
Per network: Theta_0 on `pool` fresh inputs (the Gram-product NTK) -> eigenstructure (lambda = mu/N, v = U^T y/sqrt N:
common.krr.eigenstructure) -> the ridgeless KRR eigenframework at n = n_train (common.krr.krr_theory, the omniscient
risk rf_sweep uses) -> predicted test MSE (v^2 is summed over outputs: divided by k for the mean over outputs).
Beside it: the same eigenframework from the first half of the pool (its spread is the finite-pool error), a direct
kernel-regression solve with Theta_0 on the actual training set, the linearised model after `steps` GD steps, and
the network itself after the same GD (lazy_gd), at every width and richness point (r, gamma0).

Expected [D]: the prediction holds as richness alpha/sqrt(n) -> 0 (r = 0, wide) and fails at r = 1/2, gamma0 ~ 1,
where the features (and the kernel) move. Theta_0, hence the prediction, is alpha-free: one per (width, trial).
"""
from __future__ import annotations

import numpy as np
import torch

from repro.experiments.common.krr import Spectrum, eigenstructure, krr_theory
from repro.experiments.common.progress import Progress

from .context import Context
from .data import Data, load_data
from .lazy_gd import GD, discrepancies, width_runs
from .settings import Resolved
from .theory import kernel_regression


def output_averaged(theta: torch.Tensor, k: int) -> torch.Tensor:
    """(Nk, Nk) -> (N, N): the mean of the k diagonal output blocks (the scalar kernel of the eigenframework; at
    infinite width Theta = K x I_k, and for k = 1 this is Theta itself)."""
    n = theta.shape[0] // k
    return theta.reshape(n, k, n, k).diagonal(dim1=1, dim2=3).mean(-1)


def predicted_test_mse(theta_pool: torch.Tensor, y_pool: torch.Tensor, n: int) -> float:
    """Ridgeless KRR eigenframework at n samples from the pool's kernel: test MSE, mean over outputs."""
    k = y_pool.shape[1]
    lam, v2 = eigenstructure(output_averaged(theta_pool, k), y_pool)
    return float(krr_theory(Spectrum(lam, v2, 0.0), float(n), 0.0)["test_mse"]) / k


def split_pool(data: Data, n_train: int) -> tuple[Data, torch.Tensor, torch.Tensor]:
    """(the training / test task, pool inputs, pool targets): the pool is the training split after n_train."""
    task = Data(data.x_train[:n_train], data.y_train[:n_train], data.x_test, data.y_test, data.name)
    return task, data.x_train[n_train:], data.y_train[n_train:]


def width_predictions(task: Data, xp, yp, w: int, points, g: GD, trials: int, device, dtype) -> list[dict]:
    """Rows (one per richness point) of trial-mean predictions and measurements at width w."""
    res = width_runs(task, w, points, g, trials, device, dtype, pool=xp)
    P, k, half = len(task.x_train), task.k, len(xp) // 2
    pred = np.array([predicted_test_mse(th, yp, P) for th in res["pool_theta"]])
    pred_half = np.array([predicted_test_mse(th.reshape(len(xp), k, len(xp), k)[:half, :, :half, :].reshape(
        half * k, half * k), yp[:half], P) for th in res["pool_theta"]])
    y_te = task.y_test.double().flatten()
    zeros = torch.zeros_like(y_te)
    krr = np.array([float(((kernel_regression(th, tt, -task.y_train.double().flatten(), zeros) - y_te) ** 2).mean())
                    for th, tt in zip(res["theta"], res["theta_test"])])
    rows = []
    for j, (r, g0) in enumerate(points):
        q = discrepancies(res, j, g.steps, task.y_train, task.y_test)
        net, lin = q["test_mse_net"].numpy(), q["test_mse_linearised"].numpy()
        rows.append({"width": w, "r": r, "gamma0": g0, "alpha": g0 * w ** r, "alpha_over_sqrt_n": g0 * w ** (r - 0.5),
                     "predicted_test_mse": float(pred.mean()), "predicted_half_pool": float(pred_half.mean()),
                     "kernel_regression_test_mse": float(krr.mean()), "linearised_test_mse": float(lin.mean()),
                     "network_test_mse": float(net.mean()), "network_test_mse_std": float(net.std()),
                     "rel_error_network_vs_predicted": float(np.mean(net / pred - 1)),
                     "rel_error_kernel_regression_vs_predicted": float(np.mean(krr / pred - 1)),
                     "D_test": float(q["D_test"].mean())})
    return rows


def run_ntk_prediction(rs: Resolved, ctx: Context) -> dict:
    b, c = rs.block, rs.common
    task, xp, yp = split_pool(load_data(b.dataset, b.n_train + b.pool, b.n_test, c.data_dir, True, c.teacher),
                              b.n_train)
    g = GD(depth=b.depth, gauge=b.gauge, bias=c.bias, gain=c.gain, steps=b.steps, record=(b.steps,), kink_free=False,
           seed=c.seed)
    points = [(r, g0) for r in b.r_values for g0 in b.gamma0_values]
    rows = []
    with Progress(len(b.widths), "richness ntk_prediction", unit="widths") as bar:
        for w in b.widths:
            for row in width_predictions(task, xp, yp, w, points, g, b.trials, ctx.device, ctx.dtype):
                ctx.writer.log(**row)
                rows.append(row)
            bar.update(1, width=w)
    ctx.save_results("ntk_prediction", rows=rows)
    return {"rows": rows, "n_train": b.n_train, "pool": b.pool,
            "prediction": ("ridgeless KRR eigenframework (common.krr) on Theta_0's pool eigenstructure: the lazy "
                           "network's test MSE; holds as richness -> 0 (r = 0, wide), fails at r = 1/2 [D]"),
            "finite_pool_error": "predicted_half_pool (first half of the pool) beside predicted_test_mse",
            "training": f"centred full-batch GD, {b.steps} steps at lr = P/e_max(Theta_0) per trial, {b.trials} trials"}
