"""experiment=spectra: the empirical eigenspectra λ_i and v_i² of the kernel on random n-subsets at
several n (spec §10, "Eigenspectra"), with i^−α and i^−β guides.

For each n of spectra.n: one random n-subset of the pool, K_n = U diag(μ) Uᵀ in float64, λ = μ/n,
v = Uᵀy/√n (one-hot labels, v_i² summed over outputs; common.krr.eigenstructure, spec §2.2). The
guides' exponents are measured on the same pool kernel by the §9 proxies (experiment=exponents'
measurement with the exponents block's settings), so the figure shows how far the finite spectra
are from the power law the proxies report.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from repro.experiments.common.errors import require
from repro.experiments.common.krr import eigenstructure
from repro.experiments.common.progress import Progress

from . import exponents_run
from .kernel_pool import pool_kernel, validate_pool
from .exponents import spectrum_fits

MAX_SPECTRUM = 30000   # CPU LAPACK's eigh overflows its workspace from ~32k (spec §2.2)


def validate(s) -> None:
    sp = s.spectra
    require(len(sp.n) >= 1 and all(1 <= n <= MAX_SPECTRUM for n in sp.n) and list(sp.n) == sorted(set(sp.n)),
            f"spectra.n={list(sp.n)} is invalid: the subset sizes of the spectra; valid: increasing, distinct "
            f"integers in 1..{MAX_SPECTRUM}")
    exponents_run.validate(s)   # the guides come from the exponents block on the same pool
    validate_pool(s, max(max(sp.n), s.exponents.n[1] + s.exponents.n_test))


def run(s, run_dir: Path) -> dict:
    t0 = time.monotonic()
    K, Y, source = pool_kernel(s)
    arrays, fits = {"n": np.array(s.spectra.n)}, {}
    windows = [tuple(w) for w in s.exponents.direct_windows]
    with Progress(len(s.spectra.n), "spectra", unit="subsets") as bar:
        for n in s.spectra.n:
            idx = np.random.default_rng([s.seed, n]).permutation(len(K))[:n]
            lam, v2 = eigenstructure(torch.as_tensor(K[np.ix_(idx, idx)]), torch.as_tensor(Y[idx]))
            arrays[f"eigvals_{n}"], arrays[f"coeffs2_{n}"] = lam, v2
            fits[str(n)] = spectrum_fits(lam, v2, windows)
            bar.update(1, subset=n)
    np.savez(run_dir / "spectra.npz", **arrays)
    ex = exponents_run.fit(s, exponents_run.measure(s, K, Y))
    summary = {"alpha": ex["alpha"], "alpha_ci95": ex["alpha_ci95"], "beta": ex["beta"], "beta_ci95": ex["beta_ci95"],
               "fit_window": ex["window"], "direct_spectrum_fits": fits,
               "prediction": exponents_run.predictions(ex["alpha"], ex["beta"]),
               "resolved": {"pool": source, "n": list(s.spectra.n), "dataset": s.dataset.name},
               "seconds": round(time.monotonic() - t0, 3)}
    if s.plot.at_end:
        from .exponent_plots import plot_spectra

        plot_spectra(run_dir, s, summary)
    return summary
