"""Networks with fixed per-layer multipliers: z_l = g_l (W_l a_{l-1} + b_l), raw weights W_l ~ N(0, sigma_l^2).

`g`, `eta` and `sigma` come from parametrization.layer_scale. Between layers phi(z) = gain * ReLU(z)
(gain sqrt 2, the He gain the author's code uses). Biases share their layer's (g, eta, sigma).

- MLP: read-in, (depth - 2) hidden, read-out dense layers.
- Myrtle5: four 3x3 'same' convs, 2x2 average pools after conv2 and conv3, global pool after conv4,
  linear read-out (fan-in of a conv = C_in * 3 * 3).
- StackedMLP: T independent MLPs as stacked weight tensors (T, n_out, n_in), for E2's many
  re-initialisations in one batched matmul instead of a Python loop over seeds.

One forward pass serves every dense network here (`mlp_forward`: effective layers for training and the NTK,
raw layers fused for the stacked one-step update, the gated network of the lazy limit), and one loss
(`mse_loss`, with its gradient `mse_loss_grad` for the explicit backward).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .parametrization import LayerScale, scales_for

SQRT2 = 2.0 ** 0.5


def mlp_dims(d_in: int, width: int, depth: int, k: int) -> list[int]:
    return [d_in] + [width] * (depth - 1) + [k]


def mlp_forward(layers, x: torch.Tensor, gain: float = SQRT2, mults=None, masks=None):
    """The MLP's forward pass, z_l = affine_l(a_{l-1}) and a_l = gain * ReLU(z_l) between layers.

    layers: [(V, c)] effective weights V (..., n_out, n_in) and biases c (..., n_out) or None, z = a V^T + c;
      leading dims of V broadcast (stacked trials). With `mults` = [g_l] they are the raw (W, b) instead and
      z = g (a W^T + b) by one fused baddbmm per layer, with no g*W copy (3-d a and W, no autograd: the
      stacked one-step update of width_exponents).
    masks: ReLU activation patterns [z_l > 0] of the hidden layers to use instead of the current ones: the gated
      network phi(z) = gain * mask * z (the kink-free reference of the lazy limit).
    Returns the output f, the pre-activations zs (f last) and the input of every layer acts.
    """
    a, zs, acts = x, [], []
    for i, (W, c) in enumerate(layers):
        acts.append(a)
        z = _affine(a, W, c) if mults is None else _affine_fused(a, W, c, mults[i])
        zs.append(z)
        if i < len(layers) - 1:
            if masks is not None:
                a = gain * masks[i].to(z.dtype) * z
            elif mults is not None:
                a = torch.relu(z).mul_(gain)
            else:
                a = gain * torch.relu(z)
    return zs[-1], zs, acts


def _affine(a, V, c):
    z = a @ V.transpose(-1, -2)
    return z if c is None else z + c.unsqueeze(-2)


def _affine_fused(a, W, b, g: float):
    assert a.ndim == 3 and not torch.is_grad_enabled(), "the fused layer is for the stacked step under no_grad"
    if b is None:
        return torch.bmm(a, W.transpose(-1, -2)).mul_(g)
    return torch.baddbmm(b.unsqueeze(-2), a, W.transpose(-1, -2), beta=g, alpha=g)


def activation_patterns(layers, x: torch.Tensor, gain: float = SQRT2) -> list[torch.Tensor]:
    """ReLU activation patterns [z_l > 0] of every hidden layer on inputs x."""
    return [z > 0 for z in mlp_forward(layers, x, gain)[1][:-1]]


def mse_loss(f: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """The training loss of outputs f (..., P, k), one value per leading (trial) index.

    'mean': MSE over examples and outputs (the author's); 'half_sum': (1/2P) sum_i ||f_i - y_i||^2 (spec sec. 10).
    """
    sq = (f - y) ** 2
    return sq.mean(dim=(-2, -1)) if kind == "mean" else 0.5 * sq.sum(-1).mean(-1)


def mse_loss_grad(residual: torch.Tensor, kind: str) -> torch.Tensor:
    """dL/df of mse_loss from the residual f - y (..., P, k): 2 (f - y)/(Pk) for 'mean', (f - y)/P for 'half_sum'."""
    P, k = residual.shape[-2:]
    return residual * (2.0 / (P * k)) if kind == "mean" else residual / P


class ScaledNet(nn.Module):
    """Raw parameters plus fixed multipliers; subclasses define the shapes and the forward pass."""

    def __init__(self, shapes: list[tuple[int, ...]], scales: list[LayerScale], bias: bool, gain: float,
                 generator: torch.Generator | None = None, dtype=torch.float32):
        super().__init__()
        self.scales, self.gain, self.has_bias = list(scales), float(gain), bool(bias)
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(s, dtype=dtype)) for s in shapes])
        self.biases = nn.ParameterList([nn.Parameter(torch.empty(s[0], dtype=dtype)) for s in shapes]) if bias else None
        self.set_from_normals(draw_normals(shapes, bias, generator, dtype))

    def set_from_normals(self, normals) -> None:
        """W_l = sigma_l Z_l with given standard normals (so several gauges can share one draw)."""
        with torch.no_grad():
            for i, (zw, zb) in enumerate(normals):
                self.weights[i].copy_(self.scales[i].sigma * zw)
                if self.biases is not None:
                    self.biases[i].copy_(self.scales[i].sigma * zb)

    def layer_params(self, i: int) -> list[nn.Parameter]:
        return [self.weights[i]] + ([self.biases[i]] if self.biases is not None else [])

    def param_groups(self, base_lr: float, weight_decay: float = 0.0) -> list[dict]:
        """One optimiser group per layer, stepping with base_lr * eta_l."""
        return [{"params": self.layer_params(i), "lr": base_lr * s.eta, "weight_decay": weight_decay}
                for i, s in enumerate(self.scales)]

    def effective_weights(self) -> list[torch.Tensor]:
        """V_l = g_l W_l: gauge-invariant, what the gauges must agree on."""
        return [s.g * w for s, w in zip(self.scales, self.weights)]

    def lams(self) -> list[float]:
        return [s.lam for s in self.scales]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]


def draw_normals(shapes, bias: bool, generator=None, dtype=torch.float32):
    """Standard normals for each layer's weight and bias (drawn on the CPU for reproducibility)."""
    out = []
    for s in shapes:
        zw = torch.randn(s, generator=generator, dtype=torch.float64).to(dtype)
        zb = torch.randn(s[0], generator=generator, dtype=torch.float64).to(dtype) if bias else None
        out.append((zw, zb))
    return out


class MLP(ScaledNet):
    def __init__(self, d_in: int, width: int, depth: int, k: int, r: float, gamma0: float, gauge: str,
                 bias: bool = True, gain: float = SQRT2, generator=None, dtype=torch.float32):
        dims = mlp_dims(d_in, width, depth, k)
        self.dims = dims
        scales = scales_for(dims[:-1], width, r, gamma0, gauge)
        super().__init__([(dims[i + 1], dims[i]) for i in range(depth)], scales, bias, gain, generator, dtype)

    def effective_layers(self):
        """[(V_l, g_l b_l)] for the functional forward and the Gram NTK."""
        bs = self.biases if self.biases is not None else [None] * len(self.weights)
        return [(s.g * w, None if b is None else s.g * b) for s, w, b in zip(self.scales, self.weights, bs)]

    def forward_all(self, x: torch.Tensor):
        """Output and the list of every layer's output (hidden post-activations, then f)."""
        f, zs, acts = mlp_forward(self.effective_layers(), x.flatten(1), self.gain)
        return f, acts[1:] + [f]


class Myrtle5(ScaledNet):
    """Myrtle-5 CNN for 32x32 images: conv-conv-pool-conv-pool-conv-globalpool-linear."""

    def __init__(self, c_in: int, width: int, k: int, r: float, gamma0: float, gauge: str,
                 bias: bool = True, gain: float = SQRT2, generator=None, dtype=torch.float32):
        shapes = [(width, c_in, 3, 3), (width, width, 3, 3), (width, width, 3, 3), (width, width, 3, 3), (k, width)]
        fan_ins = [c_in * 9, width * 9, width * 9, width * 9, width]
        super().__init__(shapes, scales_for(fan_ins, width, r, gamma0, gauge), bias, gain, generator, dtype)

    def forward_all(self, x: torch.Tensor):
        hs, a = [], x
        for i in range(4):
            b = self.biases[i] if self.biases is not None else None
            a = self.gain * torch.relu(self.scales[i].g * F.conv2d(a, self.weights[i], b, padding=1))
            hs.append(a)
            if i in (1, 2):
                a = F.avg_pool2d(a, 2)
        a = a.mean(dim=(2, 3))  # global 8x8 average pool
        b = self.biases[4] if self.biases is not None else None
        f = self.scales[4].g * F.linear(a, self.weights[4], b)
        return f, hs + [f]


class StackedMLP:
    """T independent MLPs with weights stacked as (T, n_out, n_in); one batched matmul per layer."""

    def __init__(self, d_in: int, width: int, depth: int, k: int, trials: int, r: float, gamma0: float,
                 gauge: str, bias: bool = True, gain: float = SQRT2, generator=None, device="cpu",
                 dtype=torch.float32):
        dims = mlp_dims(d_in, width, depth, k)
        self.scales = scales_for(dims[:-1], width, r, gamma0, gauge)
        self.gain, self.trials = float(gain), trials
        self.W, self.b = [], []
        for i, s in enumerate(self.scales):
            shape = (trials, dims[i + 1], dims[i])
            self.W.append(_randn(shape, generator, device, dtype).mul_(s.sigma).requires_grad_())
            self.b.append(_randn(shape[:2], generator, device, dtype).mul_(s.sigma).requires_grad_() if bias else None)

    def params(self):
        return [p for pair in zip(self.W, self.b) for p in pair if p is not None]

    def effective_layers(self, W=None, b=None):
        W, b = W or self.W, b or self.b
        return [(s.g * w, None if c is None else s.g * c) for s, w, c in zip(self.scales, W, b)]

    def forward(self, x: torch.Tensor, W=None, b=None):
        """x is (P, d) shared by all trials or (T, P, d); returns f (T, P, k), zs, acts."""
        return mlp_forward(self.effective_layers(W, b), x, self.gain)

    def forward_fused(self, x: torch.Tensor, W, b):
        """The same from raw weights, fused (mlp_forward with mults): x (T, P, d), under no_grad."""
        return mlp_forward(list(zip(W, b)), x, self.gain, mults=[s.g for s in self.scales])


def _randn(shape, generator, device, dtype):
    if generator is not None and generator.device.type != torch.device(device).type:
        return torch.randn(shape, generator=generator, dtype=dtype).to(device)
    return torch.randn(shape, generator=generator, dtype=dtype, device=device)
