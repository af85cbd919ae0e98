"""The exact kernels against independent computations: neural-tangents (golden values), Monte Carlo
over wide random networks, the empirical NTK of finite-width networks, and a hand-computed case."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from repro.experiments.common.errors import ConfigError
from repro.experiments.rf_sweep.kernels import cnn_kernel, kernel_matrix

# neural-tangents 0.6.5 (jax 0.4.23, float64) on the same inputs, stax defaults W_std=1, b_std=0:
#   myrtle5: stax.serial([Conv(1,(3,3),SAME), Relu]*2, AvgPool, [Conv, Relu], AvgPool, [Conv, Relu],
#            AvgPool*3, Flatten, Dense(10)) on default_rng(0).standard_normal((3, 32, 32, 2))
#   fc:      stax.serial(Dense(1), Relu, Dense(1), Relu, Dense(1)) on default_rng(1).standard_normal((3, 16))
# (benchmarks/rf_myrtle_vs_neural_tangents.py recomputes them when the peer's venv is present.)
NT_MYRTLE5_NTK = [[0.05371821508852181, 0.05262466790416577, 0.05249644026841761],
                  [0.05262466790416577, 0.05203795698447183, 0.05167822392235259],
                  [0.05249644026841761, 0.05167822392235259, 0.05174401017801575]]
NT_MYRTLE5_NNGP = [[0.02061285510783193, 0.02025799799988896, 0.02022572463821403],
                   [0.02025799799988896, 0.01994426357832542, 0.01989638102911664],
                   [0.02022572463821403, 0.01989638102911664, 0.019875601063676]]
NT_FC3_NTK = [[0.2777774406534447, 0.07058176073605692, 0.06490920940036116],
              [0.07058176073605692, 0.9595791622567722, 0.2593399149227323],
              [0.06490920940036116, 0.2593399149227323, 0.5316080292116528]]
NT_FC3_NNGP = [[0.09259248021781488, 0.06894194443377832, 0.05572964628272915],
               [0.06894194443377832, 0.3198597207522574, 0.14592466434347529],
               [0.05572964628272915, 0.14592466434347529, 0.1772026764038843]]


@pytest.mark.parametrize("kind,expected", [("ntk", NT_MYRTLE5_NTK), ("nngp", NT_MYRTLE5_NNGP)])
def test_myrtle5_matches_neural_tangents(kind, expected):
    x = np.random.default_rng(0).standard_normal((3, 32, 32, 2))
    np.testing.assert_allclose(kernel_matrix("myrtle5", x, kind=kind), expected, rtol=1e-12)


@pytest.mark.parametrize("name,expected", [("fc_ntk", NT_FC3_NTK), ("relu_nngp", NT_FC3_NNGP)])
def test_fc_kernels_match_neural_tangents(name, expected):
    x = np.random.default_rng(1).standard_normal((3, 4, 4, 1))
    np.testing.assert_allclose(kernel_matrix(name, x, depth=3), expected, rtol=1e-12)


def test_cross_blocks_equal_the_symmetric_matrix():
    x = np.random.default_rng(2).standard_normal((4, 32, 32, 1))
    full = kernel_matrix("myrtle5", x)
    np.testing.assert_allclose(kernel_matrix("myrtle5", x[:1], x[1:]), full[:1, 1:], rtol=1e-12)
    np.testing.assert_allclose(full, full.T, rtol=0, atol=0)


def test_one_pixel_image_by_hand():
    """A 1×1 image through [conv, ReLU] × 2 + read-out: only the centre tap sees the pixel, so each
    conv is a dense layer of weight variance 1/(9C); the recursion is then the arc-cosine one."""
    x = np.array([[[[1.0, 2.0]]], [[[-0.5, 1.5]]]])               # (2, 1, 1, 2)
    a, b = x[0, 0, 0], x[1, 0, 0]
    C = 2
    cov, qa, qb = a @ b / (9 * C), a @ a / (9 * C), b @ b / (9 * C)
    theta = cov
    for _ in range(2):                                          # conv, ReLU: then the next conv / read-out
        c = cov / math.sqrt(qa * qb)
        t = math.sqrt(qa * qb) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / (2 * math.pi)
        dot = (math.pi - math.acos(c)) / (2 * math.pi)
        scale = 1 / 9 if _ == 0 else 1.0                        # second conv, then the dense read-out
        cov, theta = scale * t, scale * dot * theta + scale * t
        qa, qb = scale * qa / 2, scale * qb / 2
    got = cnn_kernel(("conv", "conv"), x, None, ntk=True, w_std=1.0, b_std=0.0)
    assert got[0, 1] == pytest.approx(theta, rel=1e-13)
    got = cnn_kernel(("conv", "conv"), x, None, ntk=False, w_std=1.0, b_std=0.0)
    assert got[0, 1] == pytest.approx(cov, rel=1e-13)


def test_fc_nngp_matches_monte_carlo_over_wide_networks():
    """Depth 3 (two hidden layers of width 20000): empirical output covariance vs the recursion."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 8))
    width = 20000
    h = x @ rng.standard_normal((8, width)) / math.sqrt(8)
    h = np.maximum(h, 0) @ rng.standard_normal((width, width // 4)) / math.sqrt(width)
    emp = np.maximum(h, 0) @ np.maximum(h, 0).T / (width // 4)   # the read-out's covariance
    exact = kernel_matrix("relu_nngp", x.reshape(3, 8, 1, 1), depth=3)
    np.testing.assert_allclose(emp, exact, rtol=0.05)


def _finite_ntk(layers, x: np.ndarray, width: int, seed: int) -> np.ndarray:
    """The empirical NTK of a finite network in stax's parameterisation (N(0,1) weights, scaled by
    1/sqrt(fan_in) in the forward pass), one output, from per-example parameter gradients."""
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float64).permute(0, 3, 1, 2)
    params, c_in = [], x.shape[-1]
    for layer in layers:
        if layer == "conv":
            params.append(torch.randn(width, c_in, 3, 3, dtype=torch.float64, requires_grad=True))
            c_in = width
    readout = torch.randn(1, c_in, dtype=torch.float64, requires_grad=True)

    def f(img):
        h, k = img[None], 0
        for layer in layers:
            if layer == "conv":
                w = params[k]
                h = torch.relu(torch.nn.functional.conv2d(h, w / math.sqrt(w[0].numel()), padding=1))
                k += 1
            else:
                h = torch.nn.functional.avg_pool2d(h, 2)
        h = h.flatten(1)
        return (h @ readout.T / math.sqrt(h.shape[1])).sum()

    grads = []
    for img in xt:
        g = torch.autograd.grad(f(img), params + [readout])
        grads.append(torch.cat([t.reshape(-1) for t in g]))
    G = torch.stack(grads)
    return (G @ G.T).numpy()


@pytest.mark.slow
def test_myrtle_ntk_is_the_limit_of_finite_width_networks():
    """Finite Myrtle-5 networks' empirical NTK approaches the exact one as width grows (mean over seeds)."""
    from repro.experiments.rf_sweep.kernels import myrtle_plan

    x = np.random.default_rng(4).standard_normal((2, 32, 32, 1))
    exact = kernel_matrix("myrtle5", x)
    errors = []
    for width in (16, 64, 256):   # measured: 0.38, 0.18, 0.042 (finite-width bias and spread ~ 1/width)
        emp = np.mean([_finite_ntk(myrtle_plan("myrtle5"), x, width, s) for s in range(6)], axis=0)
        errors.append(np.abs(emp - exact).max() / np.abs(exact).max())
    assert errors[2] < errors[1] < errors[0], errors
    assert errors[2] < 0.08, errors


@pytest.mark.parametrize("name,shape,fragment", [
    ("myrtle11", (2, 32, 32, 1), "unknown kernel"),
    ("myrtle10", (2, 16, 16, 3), "do not reach 1x1"),
    ("fc_ntk", (2, 16), "shape (N, H, W, C)"),
])
def test_bad_kernel_input_is_one_line(name, shape, fragment):
    with pytest.raises(ConfigError, match=None) as e:
        kernel_matrix(name, np.zeros(shape))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_mnist_sized_images_are_padded_to_32():
    x = np.random.default_rng(5).standard_normal((2, 28, 28, 1))
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    np.testing.assert_allclose(kernel_matrix("myrtle5", x), kernel_matrix("myrtle5", padded), rtol=1e-14)
