"""Time one hot kernel of repro on one device; print one JSON line (what, seconds, rate).

    python benchmarks/gpu_kernels.py KERNEL --device cuda|cpu

Called by benchmarks/gpu_check.py for the device and for the same machine's CPU, so each row of
the GPU table is a same-machine ratio. Kernels (sizes chosen so the CPU side takes seconds):

    rf_ridge   Fig. 1's ridge grid: n = 256, 31 k up to 4000, 31 ridges, 1000 test points (ridge.py)
    rf_theory  the theory grid, 110 k × 31 ridges, M = 10⁴ modes (numpy float64 by design: CPU only)
    ntk_gram   empirical NTK of a 784-4096-4096-1 MLP on 256 points (richness ntk.py, float32)
    e2_step    E2's stacked one-step update, width 1024, 32 trials, batch 512 (one_step.sgd_step)
    qwem_sgd   QWEM SGD pairs/s, V = 2000, d = 200, B = 50000 (float64 as the spec; setup included)
    qwem_gd    QWEM full-batch GD steps/s, V = 3000, d = 200 (float64; setup included)
    sgns       the SGNS kernel's words/s on a Zipf stream, V = 10⁴, d = 200 (CPU: native; CUDA: torch)
    eigs       top 200 eigenpairs of a 5000 × 5000 power-law symmetric matrix (eigen.top_eigenpairs)
    cooc       co-occurrence count of a 4M-token Zipf stream, V = 10⁴, L = 16 (numpy: CPU only)

Timings synchronise the device before reading the clock, after one warm-up call.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np
import torch


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, repeat: int = 1, warmup=True):
    if warmup is True:
        fn()  # warm-up (compile, allocator, cuBLAS handles)
    elif warmup:
        warmup()  # a cheaper warm-up of the same code path
    _sync(device)
    t = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    _sync(device)
    return (time.perf_counter() - t) / repeat, out


def zipf_stream(n: int, V: int, seed: int = 0) -> np.ndarray:
    p = 1.0 / np.arange(1, V + 1)
    return np.random.default_rng(seed).choice(V, size=n, p=p / p.sum()).astype(np.int64)


def rf_ridge(device):
    from repro.experiments.rf_sweep.data import sample_gaussian
    from repro.experiments.rf_sweep.features import draw_weights, features
    from repro.experiments.rf_sweep.grid import int_logspace
    from repro.experiments.rf_sweep.ridge import ridge_predictions

    g = torch.Generator(device=device).manual_seed(0)
    x, y = sample_gaussian(4000, 1.5, 1.5, 0.5, 1256, g, device, torch.float64)
    ks = int_logspace(10, 4000, 31)
    psi = features(x, draw_weights(x.shape[1], int(ks.max()), 1.0, g, device, torch.float64), "gaussian")
    ridges = torch.as_tensor(np.logspace(-3, 2, 31), device=device)
    run = lambda: [ridge_predictions(psi[:256, :k] / k**0.5, y[:256], psi[256:, :k] / k**0.5, ridges) for k in ks]  # noqa: E731
    s, _ = timed(run, device)
    return {"what": "31 k x 31 ridges at n=256 (one Gram eigh per k)", "seconds": s}


def rf_theory(device):
    from repro.experiments.common.krr import Spectrum
    from repro.experiments.rf_sweep.grid import theory_axis
    from repro.experiments.rf_sweep.theory import rf_theory as solve

    i = np.arange(1, 10001, dtype=np.float64)
    spec = Spectrum(i**-1.5, i**-1.5, 0.5)
    ks, ridges = theory_axis(10, 1e4 - 1, 60, 50), np.logspace(-3, 2, 31)
    s, _ = timed(lambda: solve(spec, 256.0, ks[:, None], ridges[None, :]), "cpu", 3)
    return {"what": "110 k x 31 ridges, M=1e4 (numpy, CPU by design)", "seconds": s, "cpu_only": True}


def ntk_gram(device):
    from repro.experiments.richness.model import MLP
    from repro.experiments.richness.ntk import model_ntk

    model = MLP(784, 4096, 3, 1, 0.5, 1.0, "mup", generator=torch.Generator().manual_seed(0)).to(device)
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(1)).to(device)
    s, _ = timed(lambda: model_ntk(model, x), device, 3)
    return {"what": "NTK 784-4096-4096-1, 256 points, float32", "seconds": s}


def e2_step(device):
    from repro.experiments.richness.model import StackedMLP
    from repro.experiments.richness.one_step import random_batches, sgd_step

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2048, 784, generator=gen).to(device), torch.randn(2048, 10, generator=gen).to(device)

    def run():
        net = StackedMLP(784, 1024, 3, 10, 32, 0.5, 1.0, "mup", generator=gen, device=device)
        idx = random_batches(len(x), 32, 512, gen).to(device)
        return sgd_step(net, x[idx], y[idx], 1.0, "mean", center=False)
    s, _ = timed(run, device)
    return {"what": "32 stacked trials, width 1024, batch 512 (init + step)", "seconds": s}


def _word2vec_resolved(method: str, **train):
    from repro.cli.compose import compose_config
    from repro.experiments.word2vec.settings import resolve, settings

    s = settings(compose_config("word2vec", [f"train.method={method}"]))
    s = dataclasses.replace(s, d=200, train=dataclasses.replace(s.train, log_every=10**9, **train))
    return s, s.train


def _toy_statistics(V: int, seed: int = 0):
    """A P_ij with word2vec-like structure (Zipf marginals, low-rank log-odds) and its marginal."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, V + 1)
    p /= p.sum()
    u = rng.standard_normal((V, 20)) * 0.3
    P = np.outer(p, p) * np.exp(u @ u.T)
    P = (P + P.T) / 2
    P /= P.sum()
    return P, P.sum(1)


def _per_step(train_fn, method: str, P, Pi, device, steps: int, **train):
    """Seconds per step without the setup: time a 1-step and a (1 + steps)-step run, take the difference."""
    from repro.experiments.word2vec.settings import resolve

    def run(n, warmup):
        s, t = _word2vec_resolved(method, steps=n, **train)
        r = dataclasses.replace(resolve(s, 1.0, 1.0, torch.device(device).type, torch.get_num_threads()), steps=n,
                                **({"batch_size": train["batch_size"]} if "batch_size" in train else {"lr": 1.0}))
        return timed(lambda: train_fn(P, Pi, t, r, device), device, warmup=warmup)[0]
    short = run(1, True)
    return max(run(1 + steps, False) - short, 1e-9) / steps


def qwem_sgd(device):
    from repro.experiments.word2vec.qwem import train_qwem_sgd

    P, Pi = _toy_statistics(2000)
    steps = 100 if torch.device(device).type == "cuda" else 10
    sec = _per_step(train_qwem_sgd, "qwem_sgd", P, Pi, device, steps, batch_size=50000, compile=False)
    return {"what": "QWEM SGD step, V=2000, d=200, 2x50k pairs, float64 (setup excluded)", "seconds": sec,
            "rate": 2 * 50000 / sec, "unit": "pairs/s"}


def qwem_gd(device):
    from repro.experiments.word2vec.qwem import train_qwem_gd

    P, Pi = _toy_statistics(3000)
    steps = 100 if torch.device(device).type == "cuda" else 10
    sec = _per_step(train_qwem_gd, "qwem_gd", P, Pi, device, steps)
    return {"what": "QWEM full-batch GD step, V=3000, d=200, float64 (setup excluded)", "seconds": sec,
            "rate": 1 / sec, "unit": "steps/s"}


def sgns(device):
    from repro.experiments.word2vec.settings import resolve
    from repro.experiments.word2vec.sgns import train_sgns

    ids = zipf_stream(1_000_000, 10_000)
    counts = np.bincount(ids, minlength=10_000).astype(np.float64) + 1
    s, t = _word2vec_resolved("sgns", epochs=1, compile=torch.device(device).type == "cuda")
    r = resolve(s, 1.0, 1.0, torch.device(device).type, torch.get_num_threads())
    stats = {}
    sec, _ = timed(lambda: train_sgns(ids, counts, t, r, device, stats=stats), device)
    return {"what": f"SGNS {stats.get('kernel')} kernel, 1M Zipf tokens, V=1e4, d=200, window 16",
            "seconds": sec, "rate": stats.get("words_per_sec"), "unit": "words/s",
            "peer": "gensim CPU rate: benchmarks/README.md (word2vec_gensim.py)"}


def eigs(device):
    from repro.experiments.word2vec.eigen import top_eigenpairs

    rng = np.random.default_rng(0)
    V = 5000
    G = rng.standard_normal((V, 600)) / np.sqrt(V)
    M = (G * (np.arange(1, 601) ** -0.6 * 1000)) @ G.T + np.diag(rng.standard_normal(V))
    method = "torch" if torch.device(device).type == "cuda" else "auto"
    small = M[:400, :400].copy()
    sec, (w, _) = timed(lambda: top_eigenpairs(M, 200, method=method, device=device), device,
                        warmup=lambda: top_eigenpairs(small, 20, method=method, device=device))
    ref = np.linalg.eigvalsh(M)[::-1][:200] if torch.device(device).type == "cpu" else None
    out = {"what": f"top 200 of 5000x5000 ({method})", "seconds": sec}
    if ref is not None:
        out["max_rel_eig_err"] = float(np.abs(w / ref - 1).max())
    return out


def cooc(device):
    from repro.experiments.word2vec.cooccurrence import count_cooccurrences

    ids = zipf_stream(4_000_000, 10_000)
    sec, _ = timed(lambda: count_cooccurrences(ids, np.array([0, len(ids)]), 10_000, 16), "cpu")
    return {"what": "4M tokens, V=1e4, L=16 (numpy, CPU by design)", "seconds": sec, "rate": len(ids) / sec,
            "unit": "tokens/s", "cpu_only": True}


KERNELS = {f.__name__: f for f in (rf_ridge, rf_theory, ntk_gram, e2_step, qwem_sgd, qwem_gd, sgns, eigs, cooc)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel", choices=sorted(KERNELS))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data-dir", default=None, help="unused by the synthetic kernels (kept for the harness)")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device} is invalid: CUDA is not available here; valid: cpu")
    res = KERNELS[args.kernel](args.device)
    res.update(kernel=args.kernel, device=args.device, threads=torch.get_num_threads())
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
