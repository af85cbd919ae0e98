"""The native SGNS kernel (sgns_kernel.c): compiled once with the system C compiler, called via ctypes.

word2vec's own algorithm (per-pair SGD in corpus order, Hogwild threads on shared float32 tables) in
~100 lines of C, because per-pair updates of 200-float rows are latency-bound and a minibatched torch
kernel pays gathers, scatters and Python per batch (measured ~1.5 µs per pair vs gensim's ~1 µs).
The shared library lives in the cache directory keyed by the source, the compiler flags and the CPU;
`load()` returns None (with the reason in `last_error`) when no compiler works; then settings.resolve
picks the torch kernel for train.kernel=auto, and validate rejects train.kernel=native.

train_native() is the driver: the stream in chunks, the lr schedule, the step cap and callbacks.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from ..common.datadir import cache_dir

SOURCE = Path(__file__).with_name("sgns_kernel.c")
FLAG_SETS = (["-O3", "-march=native", "-fopenmp"], ["-O3", "-fopenmp"], ["-O3", "-fopenmp-simd"], ["-O3"])
_LIB: dict = {}
last_error = ""

_f32 = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
_f64 = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
_i64 = np.ctypeslib.ndpointer(np.int64, flags="C_CONTIGUOUS")
_i32 = np.ctypeslib.ndpointer(np.int32, flags="C_CONTIGUOUS")


def _cpu_fingerprint() -> str:
    """The CPU's model and feature flags: a -march=native library built on one node of a cluster must
    not be loaded (SIGILL) from a shared cache on a node with an older CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return "|".join(sorted({ln for ln in lines if ln.startswith(("model name", "flags", "Features"))}))
    except OSError:
        return platform.machine() + platform.processor()


def _compile(flags: list[str]) -> Path:
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise RuntimeError("no C compiler (gcc/cc) on PATH")
    key = SOURCE.read_bytes() + " ".join([cc] + flags).encode() + _cpu_fingerprint().encode()
    tag = hashlib.sha256(key).hexdigest()[:16]
    lib = cache_dir("word2vec_native") / f"sgns_{tag}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.tmp.so")
        res = subprocess.run([cc, *flags, "-shared", "-fPIC", str(SOURCE), "-o", str(tmp), "-lm"],
                             capture_output=True, text=True)
        if res.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"{cc} {' '.join(flags)} failed: {res.stderr.strip().splitlines()[-1:]}")
        tmp.replace(lib)   # atomic: concurrent processes never load a half-written library
    return lib


def load():
    """The ctypes library, or None when it cannot be built here (reason in `last_error`)."""
    global last_error
    if "lib" in _LIB:
        return _LIB["lib"]
    lib, errors = None, []
    for flags in FLAG_SETS:
        try:
            lib = ctypes.CDLL(str(_compile(flags)))
            break
        except (RuntimeError, OSError) as e:
            errors.append(str(e))
    if lib is not None:
        lib.sgns_pairs.restype = ctypes.c_double
        lib.sgns_pairs.argtypes = [_f32, _f32, ctypes.c_int64, ctypes.c_int, _i64, _i64, _i64, ctypes.c_int,
                                   ctypes.c_int64, _f32]
        lib.sgns_stream.restype = None
        lib.sgns_stream.argtypes = [_f32, _f32, ctypes.c_int64, ctypes.c_int, _i32, _i32, ctypes.c_int64, _f32,
                                    _f64, _i64, ctypes.c_int, ctypes.c_int, ctypes.c_double, ctypes.c_double,
                                    ctypes.c_int, ctypes.c_uint64, _f64]
    last_error = "; ".join(errors) if lib is None else ""
    _LIB["lib"] = lib
    return lib


def _required():
    lib = load()
    if lib is None:
        raise RuntimeError(f"native SGNS kernel unavailable: {last_error}")
    return lib


def train_pairs(W: np.ndarray, C: np.ndarray, inp, out, neg, lrs) -> float:
    """Per-pair updates in order, one thread, explicit negatives (n, k); W and C updated in place."""
    lib = _required()
    inp, out = np.ascontiguousarray(inp, np.int64), np.ascontiguousarray(out, np.int64)
    neg = np.ascontiguousarray(neg, np.int64).reshape(len(inp), -1)
    return lib.sgns_pairs(W, C, W.shape[0], W.shape[1], inp, out, neg, neg.shape[1], len(inp),
                          np.ascontiguousarray(lrs, np.float32))


def train_stream(W: np.ndarray, C: np.ndarray, tok: np.ndarray, doc: np.ndarray, keep: np.ndarray,
                 alias_prob: np.ndarray, alias_idx: np.ndarray, k: int, window: int, lr_start: float,
                 lr_end: float, threads: int, seed: int) -> tuple[int, float]:
    """Train on one chunk of the token stream (int32 ids and article ids); returns (pairs, summed loss)."""
    lib = _required()
    acc = np.zeros(2)
    lib.sgns_stream(W, C, W.shape[0], W.shape[1], tok, doc, len(tok), keep, alias_prob, alias_idx, int(k),
                    int(window), float(lr_start), float(lr_end), int(threads), int(seed) % 2**64, acc)
    return int(acc[0]), float(acc[1])


def train_native(tokens, doc, keep_p, noise, W, C, t, r, min_lr, callback, info, stats) -> None:
    """word2vec's algorithm through sgns_kernel.c on the float32 CPU tables W, C (C may be W): the
    stream in chunks (one slice per thread, Hogwild), lr decaying linearly with words done; between
    chunks, callbacks at every log_every "steps", where a step is batch_size pairs (so step counts
    and caps mean the same as for the torch kernel, checked at chunk ends)."""
    Wn, Cn = W.numpy(), C.numpy()
    tok32, doc32 = tokens.astype(np.int32), doc.astype(np.int32)
    keep32 = np.asarray(keep_p, np.float32)
    prob, alias = noise.prob.cpu().numpy().astype(np.float64), noise.alias.cpu().numpy().astype(np.int64)
    n = len(tok32)
    chunk = int(np.clip(math.ceil(n / 16), 4096, 1 << 20))
    total_words = n * t.epochs
    words, pairs, step, loss_sum, loss_pairs = 0, 0, 0, 0.0, 0
    start = time.perf_counter()
    offsets = (a for _ in range(t.epochs) for a in range(0, n, chunk))
    for gi, a in enumerate(offsets):
        b = min(n, a + chunk)
        lr_a = max(min_lr, r.lr * (1.0 - words / total_words))
        lr_b = max(min_lr, r.lr * (1.0 - (words + b - a) / total_words))
        got, loss = train_stream(Wn, Cn, tok32[a:b], doc32[a:b], keep32, prob, alias, int(r.negatives), r.window,
                                 lr_a, lr_b, r.workers, r.seed * 1_000_003 + gi)
        words, pairs, loss_sum, loss_pairs = words + b - a, pairs + got, loss_sum + loss, loss_pairs + got
        prev, step = step, pairs // r.batch_size
        capped = r.steps is not None and step >= r.steps
        if step // t.log_every > prev // t.log_every or capped:
            info.update(loss=loss_sum / max(loss_pairs, 1), lr=lr_b, words=words)
            if callback is not None:
                callback(step, Wn.astype(np.float64), dict(info))
            loss_sum, loss_pairs = 0.0, 0
        if capped:
            break
    seconds = time.perf_counter() - start
    if loss_pairs and callback is not None:
        callback(step, Wn.astype(np.float64), dict(info, loss=loss_sum / loss_pairs, words=words))
    stats.update(words=words, pairs=pairs, seconds=seconds, steps=step, kernel="native",
                 words_per_sec=words / max(seconds, 1e-9))
