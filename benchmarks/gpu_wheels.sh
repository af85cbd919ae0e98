#!/usr/bin/env bash
# Prepare what the GPU check carries to the device machine, which reaches no package registry and
# has no data folder: wheels for the packages its image lacks, and a small copy of the data.
#   benchmarks/gpu_wheels.sh [DATA_DIR]      (DATA_DIR: the shared data folder; default ../shared/data)
# Writes .gpu/whl/*.whl and .gpu/data/ (git-ignored). Carry `.gpu` in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
PY=${PYTHON:-.venv/bin/python}
mkdir -p .gpu/whl .gpu/data
rm -f .gpu/whl/*.whl
# The GPU image (Python 3.12, torch, numpy, scipy, pandas, pyarrow, matplotlib, typer, tqdm, httpx,
# huggingface-hub 1.x, fsspec) lacks these; versions pinned to what this machine's venv runs.
PKGS=(hydra-core==1.3.8 omegaconf==2.3.1 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19
      huggingface_hub==2.4.0 fsspec==2026.9.0)
# gensim (the SGNS peer) is 28 MB, too much for the 64 MiB carry: its CPU rate comes from
# benchmarks/README.md (word2vec_gensim.py on the 2-core machine) instead.
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .gpu/whl "${PKGS[@]}"
# antlr4 4.9.3 (what omegaconf 2.3 needs) ships as an sdist only: build its pure-Python wheel here.
"$PY" -m pip wheel -q --no-deps -w .gpu/whl antlr4-python3-runtime==4.9.3
# Data: MNIST, WikiText-2's training text, the analogy and similarity sets, and a CIFAR-10 subset
# in the shared folder's layout (2,000 train / 1,000 test images, enough for every quick preset).
mkdir -p .gpu/data/mnist .gpu/data/wikitext-2-raw .gpu/data/cifar10
cp "$DATA/mnist/mnist.npz" .gpu/data/mnist/
cp "$DATA/wikitext-2-raw/wiki.train.raw" .gpu/data/wikitext-2-raw/
cp -r "$DATA/analogies" "$DATA/similarity" .gpu/data/
"$PY" - "$DATA" <<'PYEOF'
import sys, numpy as np
z = np.load(f"{sys.argv[1]}/cifar10/cifar10-jpeg-q75-subset.npz")
# the shared copy is sorted by class: take a seeded uniform sample, not the first (one-class) images
tr = np.sort(np.random.default_rng(0).permutation(len(z["y_train"]))[:2000])
te = np.sort(np.random.default_rng(1).permutation(len(z["y_test"]))[:1000])
np.savez_compressed(".gpu/data/cifar10/cifar10-jpeg-q75-subset.npz", x_train=z["x_train"][tr],
                    y_train=z["y_train"][tr], train_index=z["train_index"][tr],
                    x_test=z["x_test"][te], y_test=z["y_test"][te])
PYEOF
du -sh .gpu | sed 's/^/carried: /'
