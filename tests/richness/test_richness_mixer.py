"""E5's Myrtle Mixer: forward/backward, gauge equivalence in float64, the depthwise fan-in convention (coordinate
check), and the bad inputs of the new experiments (one line, exit 2, nothing written)."""
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from repro.experiments.common.errors import ConfigError
from repro.experiments.richness.coord_check import coord_rows
from repro.experiments.richness.data import Data
from repro.experiments.richness.gauges import gauge_disagreement
from repro.experiments.richness.mixer import MyrtleMixer, mixer_fan_ins
from repro.experiments.richness.run import validate
from repro.experiments.richness.settings import resolve, settings
from repro.experiments.richness.train import build_model, net_from, setting_from


def images(n=48, n_test=16, side=8, seed=0) -> Data:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n + n_test, 3, side, side, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 10, (n + n_test,), generator=g), 10).double()
    return Data(x[:n], y[:n], x[n:], y[n:], "images")


def mixer_setting(compose, width=8, gauge="stp", r=0.25, steps=12, groups=None):
    c = resolve(settings(compose("richness", "preset=quick"))).common
    net = net_from(c, model="mixer", width=width, depth=None, groups=groups, r=r, gamma0=1.3, gauge=gauge)
    return setting_from(c, net, lr=0.5, momentum=0.9, batch=16, steps=steps, center=False, probe=0, ntk_probe=0,
                        log_every=steps, ntk_every=steps)


def test_mixer_forward_backward_and_layer_roles(compose):
    s = mixer_setting(compose, width=12, groups=4)
    model = build_model(s.net, images(), "cpu", torch.float64)
    f, hs = model.forward_all(images().x_train)
    assert f.shape == (48, 10) and len(hs) == 1 + 2 * 3 + 1
    assert hs[1].shape == (48, 12, 8, 8) and hs[3].shape == (48, 12, 4, 4) and hs[5].shape == (48, 12, 2, 2)
    f.pow(2).sum().backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in model.weights)
    # fan-in = C_in/groups * k * k: stem 3*25, grouped 5x5 (12/4)*25, pointwise 12, read-out 12
    assert [sc.fan_in for sc in model.scales] == [75, 75, 12, 75, 12, 75, 12, 12]
    assert [sc.role for sc in model.scales] == ["readin"] + ["hidden"] * 6 + ["readout"]
    assert mixer_fan_ins(3, 128, 128)[1] == 25  # depthwise: width-independent


@pytest.mark.parametrize("groups", [None, 2])
def test_mixer_gauges_give_the_same_sgd_trajectory(compose, groups):
    d = gauge_disagreement(mixer_setting(compose, groups=groups), images(), "cpu")
    assert max(d.values()) < 1e-10, d


@pytest.mark.parametrize("r", [0.0, 0.5])
def test_mixer_coordinate_check_hidden_flat_and_dense_fan_in_fails_it(compose, r):
    """Hidden coordinates at init are flat across widths 32..256 with fan-in k*k for the depthwise conv; counting it
    as dense (width*k*k) makes every layer from the first depthwise conv on shrink like n^-1/2."""
    data, widths = images(n=12, side=16), [32, 64, 128, 256]
    rows, s = [], mixer_setting(compose, r=r, steps=0)
    for w in widths:
        for seed in range(3):
            rows += coord_rows(replace(s, net=replace(s.net, width=w, seed=seed)), data, "cpu", torch.float32)
    layers = sorted({q["layer"] for q in rows})[:-1]  # hidden layers (the output is the last)
    m = np.array([[np.mean([q["mean_abs"] for q in rows if q["width"] == w and q["layer"] == lay]) for lay in layers]
                  for w in widths])
    slopes = np.polyfit(np.log(widths), np.log(m), 1)[0]
    assert np.all(np.abs(slopes) < 0.1), slopes
    x = data.x_train
    dense = []
    for w in widths:
        fi = [f * w if i in (1, 3, 5) else f for i, f in enumerate(mixer_fan_ins(3, w, w))]
        with torch.no_grad():
            hs = MyrtleMixer(3, w, w, 10, r, 1.0, "mup", fi, generator=torch.Generator().manual_seed(0)).forward_all(
                x.float())[1][:-1]
        dense.append([float(h.abs().mean()) for h in hs])
    dslopes = np.polyfit(np.log(widths), np.log(np.array(dense)), 1)[0]
    assert np.all(dslopes[1:] < -0.3), dslopes


BAD = [
    (("experiment=e5", "named_points_mixer.groups=3"), "named_points_mixer.groups=3 is invalid"),
    (("experiment=e5", "width=20", "named_points_mixer.groups=8"), "named_points_mixer.groups=8 is invalid"),
    (("experiment=e5", "dataset=teacher"), "dataset='teacher' is invalid for the Myrtle Mixer"),
    (("experiment=lr_laws", "lr_laws.lr_range=[0,1]"), "lr_laws.lr_range=[0.0, 1.0] is invalid"),
    (("experiment=lr_laws_mnist", "lr_laws_mnist.lr_range=[-0.001,1]"), "lr_laws_mnist.lr_range=[-0.001, 1.0]"),
    (("experiment=lr_transfer_widths", "lr_transfer_widths.lr_range=[1,-2]"), "lr_transfer_widths.lr_range="),
    (("experiment=lr_laws", "n_train=100"), "n_train=100 is invalid: online training"),
    (("experiment=ntk_prediction", "ntk_prediction.pool=64"), "ntk_prediction.pool=64 is invalid"),
    (("experiment=lazy_widths", "lazy_widths.widths=[128]"), "lazy_widths.widths=[128] is invalid"),
]


@pytest.mark.parametrize("overrides,message", BAD)
def test_bad_inputs_of_the_new_experiments_are_one_line_config_errors(compose, tmp_path, image_folder, overrides,
                                                                      message):
    with pytest.raises(ConfigError) as e:
        validate(compose("richness", "preset=quick", f"data_dir={image_folder(tmp_path)}", *overrides))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_mixer_on_images_too_small_for_its_pools(compose, tmp_path, image_folder):
    root = image_folder(tmp_path, image_shapes={"cifar10": (3, 3, 3)})
    with pytest.raises(ConfigError, match=r"^named_points_mixer.dataset='cifar10' is invalid for model=mixer: its "
                                          r"images \(3x3x3 in .*\) are too small for the two 2x2 pools"):
        validate(compose("richness", "preset=quick", "experiment=e5", f"data_dir={root}"))
    (tmp_path / "ok").mkdir()
    validate(compose("richness", "preset=quick", "experiment=e5", f"data_dir={image_folder(tmp_path / 'ok')}"))


def test_bad_input_through_the_cli_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    args = ["--experiment", "e5", "named_points_mixer.groups=3"]
    p = subprocess.run([sys.executable, "-m", "repro.cli.app", "richness", *args, "--out", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1, (p.stdout, p.stderr)
    assert not out.exists()
