"""The built wheel: one `repro` namespace, every config file shipped inside it."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_configs_under_one_namespace(tmp_path):
    pytest.importorskip("setuptools")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"cannot build without isolation here: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("repro-*.whl"))).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"repro"}  # nothing called cli/ or experiments/ lands in site-packages
    shipped = {n.removeprefix("repro/configs/") for n in names if n.startswith("repro/configs/") and n.endswith(".yaml")}
    source = {str(p.relative_to(ROOT / "configs")) for p in (ROOT / "configs").rglob("*.yaml")}
    assert source and shipped == source
    assert "repro/experiments/word2vec/sgns_kernel.c" in names   # the native SGNS kernel compiles from it
    for package in ("cli", "experiments/common", "experiments/rf_sweep", "experiments/richness", "experiments/word2vec"):
        assert f"repro/{package}/__init__.py" in names
