"""Exact infinite-width kernels on image arrays: fully connected ReLU NNGP/NTK and the Myrtle CNTK.

    kernel_matrix(name, x1, x2=None, **params) -> (N1, N2) float64 ndarray

x1, x2: image arrays (N, H, W, C). Names: `relu_nngp`, `fc_ntk` (inputs flattened; `depth` = number
of Dense layers, read-out included), `myrtle5`, `myrtle7`, `myrtle10` (`kind` = "ntk" | "nngp").

Parameter convention: neural-tangents' `stax` (so kernels compare with it entry by entry): a Dense or
Conv layer draws weights with variance W_std²/fan_in and biases with variance b_std² (defaults
W_std = 1, b_std = 0); ReLU has no gain; SAME convolutions zero-pad and still divide by the full
fan-in 9·C; average pools are 2×2, stride 2, VALID. The Myrtle network of depth 5/7/10 is
[3×3 conv, ReLU] × d₁, pool, [conv, ReLU] × d₂, pool, [conv, ReLU] × d₃, pool, pool, pool, flatten,
dense(10), with (d₁, d₂, d₃) = (2,1,1) / (2,2,2) / (3,3,3) (the depth counts the 9 convs + the dense).

The recursion (Arora et al. 2019; Novak et al. 2019), on the pixel-pair covariance
Σ[p, p′] = E[z_p(x) z_p′(x′)] of one image pair:
- input:   Σ = (1/C) Σ_c x[p,c] x′[p′,c],  Θ = 0
- conv:    Σ ← W²·D(Σ) + b²,  Θ ← W²·D(Θ) + Σ,  D(S)[p,p′] = (1/9) Σ_δ S[p+δ, p′+δ] (zero outside)
- ReLU:    Σ ← T(Σ), Θ ← Θ ⊙ Ṫ(Σ), with the arc-cosine maps of the variances q = Σ(x,x)[p,p],
           q′ = Σ(x′,x′)[p′,p′]: cos θ = Σ/√(qq′), T = √(qq′)(sin θ + (π−θ)cos θ)/2π, Ṫ = (π−θ)/2π
- pool:    Σ, Θ ← 2×2 block means over both pixel indices
- readout: Σ ← W²·mean_p Σ[p,p] + b²,  Θ ← W²·mean_p Θ[p,p] + Σ
D is separable: a 3-tap sum along the (row, row′) diagonal, then along the (col, col′) diagonal.
The variance maps q need the full self-covariance Σ(x,x) (pools mix neighbouring pixels), so each
image's own recursion runs once and stores its q at every ReLU; pairs then reuse them.

Cost per image pair at 32×32: the first block works on (HW)² = 2²⁰ entries; each conv is 6 shifted
adds, each ReLU ~15 flops and one arccos per entry, so the 3 convs+ReLUs of Myrtle-10's first block
are ~7e7 flops; later blocks are 16× and 256× smaller. Pairs are processed in batches sized to
`max_bytes` of working memory. MNIST's 28×28 is zero-padded to 32×32 (2 pixels each side;
UNVERIFIED: the authors' choice is not in the spec) so that five 2×2 pools reach 1×1.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from repro.experiments.common.errors import ConfigError

MYRTLE_BLOCKS = {"myrtle5": (2, 1, 1), "myrtle7": (2, 2, 2), "myrtle10": (3, 3, 3)}
FC_KERNELS = ("relu_nngp", "fc_ntk")
NAMES = FC_KERNELS + tuple(MYRTLE_BLOCKS)
POOLS = 5  # 2 between blocks + 3 after the last


# ---------------------------------------------------------------- the arc-cosine maps (shared)

def relu_maps(cov: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, need_dot: bool = True):
    """E[relu(u) relu(v)] and E[relu'(u) relu'(v)] for (u, v) Gaussian with Var u = q1, Var v = q2,
    Cov = cov (broadcast). Zero-variance units (zero-padded borders) are identically 0: both maps 0."""
    norm = torch.sqrt(q1 * q2)
    safe = torch.where(norm > 0, norm, torch.ones_like(norm))
    c = (cov / safe).clamp_(-1.0, 1.0)
    # An input paired with itself comes out a few ulps off cos = 1 (its norms and the cross product are
    # summed in different orders: ~√d·ε for a length-d dot product), and arccos turns δ into θ ≈ √(2δ),
    # 1e-8 for δ = 1e-16. Snap |cos| > 1 − 1e-12 to ±1: distinct inputs are never that close, and the
    # most it can move Ṫ is √(2e-12)/2π ≈ 2e-7 relative.
    c = torch.where(c.abs() > 1.0 - 1e-12, c.sign(), c)
    theta = torch.arccos(c)
    pi_minus = math.pi - theta
    t = (torch.sqrt((1.0 - c * c).clamp_(min=0.0)) + pi_minus * c) * (norm / (2 * math.pi))
    dot = torch.where(norm > 0, pi_minus / (2 * math.pi), torch.zeros_like(pi_minus)) if need_dot else None
    return t, dot


# ---------------------------------------------------------------- fully connected

def fc_kernel(x1: np.ndarray, x2: np.ndarray, depth: int, ntk: bool, w_std: float, b_std: float) -> np.ndarray:
    """NNGP / NTK of stax.serial(*[Dense(w_std, b_std), Relu()] * (depth-1), Dense(w_std, b_std))."""
    a = torch.as_tensor(x1.reshape(len(x1), -1), dtype=torch.float64)
    b = torch.as_tensor(x2.reshape(len(x2), -1), dtype=torch.float64)
    d_in = a.shape[1]
    w2, b2 = w_std**2, b_std**2
    cov = w2 * (a @ b.T) / d_in + b2
    q1 = w2 * (a * a).sum(1, keepdim=True) / d_in + b2
    q2 = (w2 * (b * b).sum(1) / d_in + b2)[None, :]
    theta = cov.clone()
    for _ in range(depth - 1):
        t, dot = relu_maps(cov, q1, q2)
        cov = w2 * t + b2
        theta = w2 * dot * theta + cov
        q1, q2 = w2 * q1 / 2 + b2, w2 * q2 / 2 + b2   # E[relu(u)²] = q/2
    return (theta if ntk else cov).numpy()


# ---------------------------------------------------------------- Myrtle CNTK

def _conv(s: torch.Tensor) -> torch.Tensor:
    """D(S) on a batch of pixel-pair tensors (B, H, W, H, W): mean over the 3×3 same-offset shifts."""
    H, W = s.shape[1:3]
    pad = torch.nn.functional.pad
    r = pad(s, (0, 0, 1, 1, 0, 0, 1, 1))                    # rows: dims 1 and 3
    s = r[:, 0:H, :, 0:H] + r[:, 1:H + 1, :, 1:H + 1] + r[:, 2:H + 2, :, 2:H + 2]
    c = pad(s, (1, 1, 0, 0, 1, 1))                          # cols: dims 2 and 4
    s = c[:, :, 0:W, :, 0:W] + c[:, :, 1:W + 1, :, 1:W + 1] + c[:, :, 2:W + 2, :, 2:W + 2]
    return s / 9.0


def _pool(s: torch.Tensor) -> torch.Tensor:
    """2×2 stride-2 VALID average pool over both pixel indices of (B, H, W, H, W)."""
    B, H, W = s.shape[:3]
    h, w = H // 2, W // 2
    s = s[:, :2 * h, :2 * w, :2 * h, :2 * w].reshape(B, h, 2, w, 2, h, 2, w, 2)
    return s.mean(dim=(2, 4, 6, 8))


def myrtle_plan(name: str) -> tuple[str, ...]:
    """The Myrtle network as a layer plan: "conv" = [3×3 conv, ReLU], "pool" = 2×2 average pool."""
    d1, d2, d3 = MYRTLE_BLOCKS[name]
    return ("conv",) * d1 + ("pool",) + ("conv",) * d2 + ("pool",) + ("conv",) * d3 + ("pool",) * 3


def pad_to_pools(x: np.ndarray) -> np.ndarray:
    """Zero-pad an image a few pixels short of a multiple of 2**POOLS (MNIST's 28×28 -> 32×32,
    centred) so that five 2×2 VALID pools reach 1×1; other sizes pass unchanged."""
    size = 2**POOLS
    ph, pw = ((-n) % size for n in x.shape[1:3])
    if not (0 < ph <= 4 or 0 < pw <= 4):
        return x
    ph, pw = (p if p <= 4 else 0 for p in (ph, pw))
    return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))


def _diag(t: torch.Tensor) -> torch.Tensor:
    """(B, h, w, h, w) -> (B, h, w): the entries with p = p′."""
    B, h, w = t.shape[:3]
    return torch.diagonal(t.reshape(B, h * w, h * w), dim1=1, dim2=2).reshape(B, h, w)


def conv_relu(s: torch.Tensor, theta: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, w2: float, b2: float):
    """One [conv, ReLU] layer on a batch of pair tensors: returns (Σ after ReLU, Θ after ReLU, the
    pre-activation variance diagonal). q1, q2: the two images' variance maps (B, h, w) at this layer;
    for self pairs pass None and they are read off the diagonal. Compiled as one fused kernel."""
    s = w2 * _conv(s) + b2
    theta = w2 * _conv(theta) + s
    diag = _diag(s)
    if q1 is None:
        q1 = q2 = diag
    t, dot = relu_maps(s, q1[:, :, :, None, None], q2[:, None, None, :, :])
    return t, theta * dot, diag


def _run_pairs(plan, xa, xb, qa, qb, w2, b2, layer_fn):
    """Σ and Θ at the read-out for a batch of image pairs (xa[b], xb[b]); qa/qb: per-layer variance
    maps or None (self pairs: they come off the diagonal and are returned)."""
    C = xa.shape[-1]
    B, H, W = xa.shape[:3]
    s = torch.bmm(xa.reshape(B, H * W, C), xb.reshape(B, H * W, C).transpose(1, 2)).reshape(B, H, W, H, W) / C
    theta = torch.zeros_like(s)
    maps, k = [], 0
    for layer in plan:
        if layer == "conv":
            s, theta, diag = layer_fn(s, theta, None if qa is None else qa[k], None if qb is None else qb[k], w2, b2)
            maps.append(diag)
            k += 1
        else:
            s, theta = _pool(s), _pool(theta)
    nngp = w2 * _diag(s).flatten(1).mean(1) + b2
    return nngp, w2 * _diag(theta).flatten(1).mean(1) + nngp, maps


def cnn_kernel(plan: tuple[str, ...], x1: np.ndarray, x2: np.ndarray | None, ntk: bool, w_std: float, b_std: float,
                  max_bytes: float = 2**28, compile: bool | str = "auto") -> np.ndarray:
    """The NNGP/NTK matrix of a ReLU CNN given as a layer plan (see myrtle_plan). Each image's self pair runs first (it yields the variance maps every
    cross pair needs, and the diagonal); then the cross pairs, in fixed-size batches of about
    max_bytes of pixel-pair tensors (the last padded, so a compiled layer keeps one shape); for
    K(x1, x1) only the pairs i < j."""
    from repro.experiments.common.compile import compiled_or_eager, use_compile

    compile = {"never": False, "always": True}.get(compile, compile) if isinstance(compile, str) else compile
    sym = x2 is None
    xa = torch.as_tensor(np.asarray(x1, np.float64))
    xb = xa if sym else torch.as_tensor(np.asarray(x2, np.float64))
    w2, b2 = w_std**2, b_std**2
    H, W = xa.shape[1:3]
    batch = max(1, int(max_bytes // (8 * (H * W) ** 2 * 6)))   # s, Θ and the ReLU maps' temporaries
    if sym:
        I, J = np.triu_indices(len(xa), k=1)
    else:
        I, J = (g.ravel() for g in np.meshgrid(np.arange(len(xa)), np.arange(len(xb)), indexing="ij"))
    n_pairs = len(xa) + (0 if sym else len(xb)) + len(I)
    layer_fn = compiled_or_eager(conv_relu, use_compile(compile, n_pairs, threshold=64))
    fixed = batch if layer_fn is not conv_relu else 0   # eager: no padding needed

    def selves(x):
        maps, diag = [], []
        for a in range(0, len(x), batch):
            idx = _padded(np.arange(a, min(a + batch, len(x))), fixed)
            nngp, ntk_v, m = _run_pairs(plan, x[idx], x[idx], None, None, w2, b2, layer_fn)
            n = min(batch, len(x) - a)
            maps.append([t[:n] for t in m])
            diag.append((ntk_v if ntk else nngp)[:n])
        return [torch.cat([m[k] for m in maps]) for k in range(len(maps[0]))], torch.cat(diag)

    qa, da = selves(xa)
    qb, db = (qa, da) if sym else selves(xb)
    out = np.empty((len(xa), len(xb)))
    if sym:
        out[np.arange(len(xa)), np.arange(len(xa))] = da.numpy()
    for a in range(0, len(I), batch):
        n = min(batch, len(I) - a)
        i, j = _padded(I[a:a + n], fixed), _padded(J[a:a + n], fixed)
        nngp, ntk_v, _ = _run_pairs(plan, xa[i], xb[j], [q[i] for q in qa], [q[j] for q in qb], w2, b2, layer_fn)
        vals = (ntk_v if ntk else nngp)[:n].numpy()
        out[I[a:a + n], J[a:a + n]] = vals
        if sym:
            out[J[a:a + n], I[a:a + n]] = vals
    return out


def _padded(idx: np.ndarray, size: int) -> np.ndarray:
    """idx repeated at its first entry up to `size` (a fixed batch shape for the compiled layer)."""
    return np.concatenate([idx, np.full(size - len(idx), idx[0])]) if len(idx) < size else idx


# ---------------------------------------------------------------- the one public entry

def check_images(name: str, x: np.ndarray) -> None:
    """Raise ConfigError unless x is an (N, H, W, C) array this kernel can take."""
    if name not in NAMES:
        raise ConfigError(f"kernel={name!r} is invalid: unknown kernel; valid choices: {', '.join(NAMES)}")
    if x.ndim != 4:
        raise ConfigError(f"kernel={name} needs images of shape (N, H, W, C); got shape {tuple(x.shape)}")
    if name in MYRTLE_BLOCKS:
        H, W = pad_to_pools(x[:1]).shape[1:3]
        if min(H, W) < 2**POOLS:
            raise ConfigError(f"kernel={name} on {x.shape[1]}x{x.shape[2]} images is invalid: its five 2x2 pools "
                              f"do not reach 1x1; valid: images of at least 32x32 (28x28 is zero-padded to 32x32)")


def kernel_matrix(name: str, x1: np.ndarray, x2: np.ndarray | None = None, depth: int = 3, kind: str = "ntk",
                  w_std: float = 1.0, b_std: float = 0.0, max_bytes: float = 2**28, compile: bool | str = "auto"
                  ) -> np.ndarray:
    """K(x1, x2) (or K(x1, x1)) in float64; see the module docstring for names and conventions."""
    x1 = np.asarray(x1, np.float64)
    check_images(name, x1)
    if x2 is not None:
        x2 = np.asarray(x2, np.float64)
        check_images(name, x2)
    if kind not in ("ntk", "nngp"):
        raise ConfigError(f"kind={kind!r} is invalid; valid choices: ntk, nngp")
    if name in FC_KERNELS:
        return fc_kernel(x1, x1 if x2 is None else x2, depth, name == "fc_ntk", w_std, b_std)
    x2 = None if x2 is None else pad_to_pools(x2)
    return cnn_kernel(myrtle_plan(name), pad_to_pools(x1), x2, kind == "ntk", w_std, b_std, max_bytes, compile)
