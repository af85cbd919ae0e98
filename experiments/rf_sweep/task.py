"""One rf-sweep task: where (train, test) points and their random features come from, and the
eigenstructure its theory uses.

gaussian task   fresh points per draw; Gaussian features are sampled jointly with the labels
                (data.sample_gaussian_features), the theory uses the exact power-law modes.
image datasets  sampling=split: train points from the train split, test points from the test
                split, spectrum from M random training images; sampling=pool: M random training
                images are the whole population (spectrum, train and test points), and the theory
                is corrected for held-out points (theory.held_out).
"""
from __future__ import annotations

import numpy as np
import torch

from repro.experiments.common.datadir import resolve_data_dir

from . import data, eigenstructure
from .features import draw_weights, features
from .settings import Resolved, Settings
from .theory import Spectrum, held_out, rf_theory

# Offset of the spectrum/pool generator from the run's seed, so it never shares a stream with a trial.
POOL_SEED_OFFSET = 7919
# Rows of inputs turned into features at once (bounds the (rows, k) pre-activation temporary).
FEATURE_CHUNK = 2048


class Task:
    """Draws (train, test) features per (trial, n) and supplies the theory's eigenstructure."""

    def __init__(self, s: Settings, r: Resolved, device, dtype):
        self.s, self.device, self.dtype = s, device, dtype
        self.ds, self.feat = s.dataset, s.features
        self.exact, self.population = r.exact, r.population
        self.pool = None
        if self.ds.name != "gaussian":
            self.pool = data.load_pool(self.ds.name, resolve_data_dir(None, s.data_dir), dtype)
            if self.population:  # train and test points both come from the spectrum's M points
                gen = torch.Generator().manual_seed(s.seed + POOL_SEED_OFFSET)
                self.pool = data.restrict_to_pool(self.pool, self.population, gen)

    def theory(self, spec: Spectrum, n, k, ridge) -> dict:
        """The eigenframework's prediction; held-out corrected when sampling from a finite pool."""
        res = rf_theory(spec, n, k, ridge, h=self.s.theory.table_step)
        return held_out(res, np.broadcast_to(n, res["test_mse"].shape), self.population) if self.population else res

    def spectrum(self) -> Spectrum:
        """Exact power-law modes (Gaussian features of the Gaussian task), else the kernel estimate."""
        ds, feat = self.ds, self.feat
        if self.exact:
            lam, v2 = data.powerlaw_modes(ds.modes, ds.alpha, ds.beta)
            return Spectrum(lam * feat.weight_var, v2, ds.noise)
        if self.population:
            x, y = self.pool.x_train, self.pool.y_train
        else:
            gen = torch.Generator().manual_seed(self.s.seed + POOL_SEED_OFFSET)
            x, y = self.sample(ds.modes, 0, gen)
        lam, v2 = eigenstructure.cached_estimate(ds.name, x, y, feat.name, feat.weight_var, self.s.seed, self.device)
        return Spectrum(lam, v2, ds.noise)

    def sample(self, n: int, n_test: int, gen: torch.Generator):
        """n training points (and n_test test points appended) as inputs x and targets y."""
        ds = self.ds
        if self.pool is None:
            return data.sample_gaussian(ds.modes, ds.alpha, ds.beta, ds.noise, n + n_test, gen, self.device, self.dtype)
        if self.population:  # disjoint train and test points from the one pool
            perm = torch.randperm(self.population, generator=gen)[:n + n_test]
            x, y = self.pool.x_train[perm], self.pool.y_train[perm]
        else:
            tr = torch.randperm(len(self.pool.x_train), generator=gen)[:n]
            te = torch.randperm(len(self.pool.x_test), generator=gen)[:n_test]
            x = torch.cat([self.pool.x_train[tr], self.pool.x_test[te]])
            y = torch.cat([self.pool.y_train[tr], self.pool.y_test[te]])
        return x.to(self.device, self.dtype), y.to(self.device, self.dtype)

    def draw(self, n: int, n_test: int, k_max: int, gen: torch.Generator):
        """Raw features Ψ (n + n_test, k_max) of fresh points and one fresh weight draw, with targets."""
        ds = self.ds
        d = ds.modes if self.pool is None else self.pool.x_train.shape[1]
        w = draw_weights(d, k_max, self.feat.weight_var, gen, self.device, self.dtype)
        if self.exact:  # Gaussian features of Gaussian data: sample (ψ, y) jointly
            return data.sample_gaussian_features(ds.modes, ds.alpha, ds.beta, ds.noise, n + n_test, w, gen)
        x, y = self.sample(n, n_test, gen)
        psi = torch.cat([features(x[i:i + FEATURE_CHUNK], w, self.feat.name) for i in range(0, len(x), FEATURE_CHUNK)])
        return psi, y
