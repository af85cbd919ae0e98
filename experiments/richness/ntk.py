"""Empirical, learning-rate-weighted NTK: Theta(x, x') = sum_l eta_l (df(x)/dtheta_l)(df(x')/dtheta_l)^T.

Raw parameters of layer l step with base_lr * eta_l, so this is the kernel that drives GD (spec section 10);
it is gauge-invariant and equals sum_l lam_l <delta_l, delta_l'> (<a_{l-1}, a_{l-1}'> + [bias]) with
lam_l = g_l^2 eta_l and delta_l^c = df_c/dz_l. Shapes: Theta is (..., P, k, Q, k).

- gram_ntk: per-layer Gram products (spec section 13), O((Pk)^2 n) time, never forms a Jacobian.
- jacobian_ntk: brute force with torch.func vmap(jacrev); the reference, and the only way for convs.
"""
from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap

from .model import SQRT2, MLP, ScaledNet, mlp_forward


def gram_ntk(layers, lams, x: torch.Tensor, x2: torch.Tensor | None = None, gain: float = SQRT2,
             masks: list[torch.Tensor] | None = None) -> torch.Tensor:
    """NTK of a dense net from effective layers [(V_l, c_l)] (leading trial dims allowed).

    masks: ReLU activation patterns [z_l > 0] to use in the backward signal instead of the current ones
    (x2 must be None). With the patterns of the initial network this gives the kernel's change from the
    weights alone, without the units whose pre-activation changed sign (used to split the NTK change).
    """
    assert masks is None or x2 is None, "masks apply to the x-x kernel only (x2 must be None)"
    _, zs1, acts1 = mlp_forward(layers, x, gain)
    zs2, acts2 = (zs1, acts1) if x2 is None else mlp_forward(layers, x2, gain)[1:]
    k = zs1[-1].shape[-1]
    eye = torch.eye(k, dtype=zs1[-1].dtype, device=zs1[-1].device)
    d1 = eye.expand(*zs1[-1].shape[:-1], k, k)  # delta_L^c = e_c, shape (..., P, c, n_L)
    d2 = d1 if x2 is None else eye.expand(*zs2[-1].shape[:-1], k, k)
    theta = None
    for l in range(len(layers) - 1, -1, -1):
        g_delta = torch.einsum("...pcn,...qdn->...pcqd", d1, d2)
        g_act = acts1[l] @ acts2[l].transpose(-1, -2)
        if layers[l][1] is not None:
            g_act = g_act + 1.0  # the bias's "input" is the constant 1
        term = lams[l] * g_delta * g_act[..., :, None, :, None]
        theta = term if theta is None else theta + term
        if l > 0:
            V = layers[l][0]
            d1 = _backprop(d1, V, zs1[l - 1] > 0 if masks is None else masks[l - 1], gain)
            d2 = d1 if x2 is None else _backprop(d2, V, zs2[l - 1] > 0, gain)
    return theta


def _backprop(d: torch.Tensor, V: torch.Tensor, active: torch.Tensor, gain: float) -> torch.Tensor:
    """delta_{l-1} = phi'(z_{l-1}) * (V_l^T delta_l), phi' = gain * [z_{l-1} > 0] given as the bool `active`;
    (P, k) folded into one matmul dimension."""
    *lead, p, k, n = d.shape
    d = (d.reshape(*lead, p * k, n) @ V).reshape(*lead, p, k, V.shape[-1])
    return d * (gain * active.to(d.dtype)).unsqueeze(-2)


def param_etas(model: ScaledNet) -> dict[str, float]:
    """Optimiser lr factor eta of every named raw parameter."""
    etas = {}
    for i, s in enumerate(model.scales):
        etas[f"weights.{i}"] = s.eta
        if model.biases is not None:
            etas[f"biases.{i}"] = s.eta
    return etas


def jacobian_ntk(model: ScaledNet, x: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Brute force: per-example Jacobians by vmap(jacrev), contracted with the per-layer eta weights."""
    params = {n: p.detach() for n, p in model.named_parameters()}
    etas = param_etas(model)

    def f_single(p, xi):
        return functional_call(model, p, (xi.unsqueeze(0),)).squeeze(0)

    jac = vmap(jacrev(f_single), (None, 0))
    j1 = jac(params, x)
    j2 = j1 if x2 is None else jac(params, x2)
    theta = None
    for name, a in j1.items():
        b = j2[name]
        term = etas[name] * torch.einsum("pcm,qdm->pcqd", a.flatten(2), b.flatten(2))
        theta = term if theta is None else theta + term
    return theta


def model_ntk(model: ScaledNet, x: torch.Tensor, x2: torch.Tensor | None = None) -> torch.Tensor:
    """Gram method for MLPs, torch.func Jacobians otherwise (conv weights are shared across patches)."""
    with torch.no_grad():
        if isinstance(model, MLP):
            x = x.flatten(1)
            x2 = None if x2 is None else x2.flatten(1)
            return gram_ntk(model.effective_layers(), model.lams(), x, x2, model.gain)
    return jacobian_ntk(model, x, x2)


def as_matrix(theta: torch.Tensor) -> torch.Tensor:
    """(..., P, k, Q, k) -> (..., P*k, Q*k), rows ordered (example, output)."""
    *lead, p, k, q, k2 = theta.shape
    return theta.reshape(*lead, p * k, q * k2)
