"""E5's "Myrtle Mixer" (ConvMixer-like, spec sec. 11), on the richness scale.

    stem 5x5 conv -> phi -> 3 x [5x5 grouped conv (groups = width: depthwise) -> 1x1 conv -> phi]
    2x2 average pool after blocks 1 and 2, global average pool after block 3, linear read-out; 'same' padding.

Fan-in (the m of parametrization.layer_scale) is what one output unit sums over: C_in/groups * k_h * k_w. So

    stem        read-in   m = C_in * 25          (3 * 25 = 75 for CIFAR-10)
    depthwise   hidden    m = (width/groups) * 25 = 25 at groups = width: width-independent
    pointwise   hidden    m = width
    read-out    read-out  m = width

Every non-read-out layer has sigma^2 = 1/m and eta = alpha^2/m, so a depthwise conv is treated like a read-in
(fan-in fixed, fan-out n): its lr grows like alpha^2. Counting it as dense (m = width * 25) would shrink its
init variance by 1/width and every coordinate after it like n^(-1/2); the coordinate check
(tests/richness/test_richness_mixer.py) tells the two apart (README: E5). phi = gain * ReLU also follows the stem
[our choice, U: the spec lists the block ops only; without it stem and depthwise conv would compose linearly].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .model import SQRT2, ScaledNet
from .parametrization import scales_for

KERNEL = 5  # stem and spatial-mixing kernel (spec: 5x5)
BLOCKS = 3
POOLED_AFTER = (0, 1)  # 2x2 average pool after blocks 1 and 2
MIN_SIDE = 2 ** len(POOLED_AFTER)  # smallest image side that survives the pools


def mixer_fan_ins(c_in: int, width: int, groups: int) -> list[int]:
    """Fan-ins of stem, (spatial, pointwise) x 3, read-out: C_in/groups * k_h * k_w for a conv."""
    assert width % groups == 0, "validate: groups divides width"
    spatial = (width // groups) * KERNEL * KERNEL
    return [c_in * KERNEL * KERNEL] + [spatial, width] * BLOCKS + [width]


def mixer_shapes(c_in: int, width: int, groups: int, k_out: int) -> list[tuple[int, ...]]:
    spatial = (width, width // groups, KERNEL, KERNEL)
    return [(width, c_in, KERNEL, KERNEL)] + [spatial, (width, width, 1, 1)] * BLOCKS + [(k_out, width)]


class MyrtleMixer(ScaledNet):
    """The Myrtle Mixer with fixed per-layer multipliers; `fan_ins` from mixer_fan_ins (a test passes others)."""

    def __init__(self, c_in: int, width: int, groups: int, k: int, r: float, gamma0: float, gauge: str,
                 fan_ins: list[int], bias: bool = True, gain: float = SQRT2, generator=None, dtype=torch.float32):
        self.groups = groups
        shapes = mixer_shapes(c_in, width, groups, k)
        super().__init__(shapes, scales_for(fan_ins, width, r, gamma0, gauge), bias, gain, generator, dtype)

    def _conv(self, i: int, a: torch.Tensor, groups: int = 1) -> torch.Tensor:
        b = self.biases[i] if self.biases is not None else None
        w = self.weights[i]
        return self.scales[i].g * F.conv2d(a, w, b, padding=w.shape[-1] // 2, groups=groups)

    def forward_all(self, x: torch.Tensor):
        """Output and every layer's output (stem, then spatial and pointwise per block after phi, then f)."""
        hs = []
        a = self.gain * torch.relu(self._conv(0, x))
        hs.append(a)
        for blk in range(BLOCKS):
            i = 1 + 2 * blk
            a = self._conv(i, a, self.groups)  # spatial mixing, per channel group (no nonlinearity: spec)
            hs.append(a)
            a = self.gain * torch.relu(self._conv(i + 1, a))  # channel mixing
            hs.append(a)
            if blk in POOLED_AFTER:
                a = F.avg_pool2d(a, 2)
        a = a.mean(dim=(2, 3))  # global average pool
        b = self.biases[-1] if self.biases is not None else None
        f = self.scales[-1].g * F.linear(a, self.weights[-1], b)
        return f, hs + [f]
