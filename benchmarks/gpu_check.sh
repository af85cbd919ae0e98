#!/usr/bin/env bash
# The GPU check (issue: the GPU path, measured). On the device machine, from the repository root:
#   benchmarks/gpu_check.sh                    (DEVICE=cuda, OUT=$OUT, BUDGET=480 seconds)
# Rehearsal on a CPU machine, same steps and sizes:
#   DEVICE=cpu OUT=/tmp/gpu_rehearsal benchmarks/gpu_check.sh
# Needs .gpu/ from benchmarks/gpu_wheels.sh when repro is not installed (the device machine).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEVICE=${DEVICE:-cuda} OUT=${OUT:-gpu_check_out} BUDGET=${BUDGET:-480}
mkdir -p "$OUT"
PY=python3
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; export PATH="$PWD/.venv/bin:$PATH"; fi
if ! "$PY" -c "import repro.cli, hydra, datasets" 2>/dev/null; then
  [ -d .gpu/whl ] || { echo "repro is not installed and .gpu/whl is missing: run benchmarks/gpu_wheels.sh and carry .gpu" >&2; exit 2; }
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 2
  # repro from this working tree (no wheel to go stale): setuptools is on the image, nothing is fetched
  "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir --target /tmp/site . || exit 2
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PATH=/tmp/site/bin:$PATH
fi
DATA_DIR=${REPRO_DATA_DIR:-}
[ -z "$DATA_DIR" ] && [ -d .gpu/data ] && DATA_DIR=$PWD/.gpu/data
export REPRO_CACHE_DIR=${REPRO_CACHE_DIR:-/tmp/repro-cache}
[ "$DEVICE" != cpu ] && { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; }
exec "$PY" benchmarks/gpu_check.py --device "$DEVICE" --out "$OUT" --budget "$BUDGET" ${DATA_DIR:+--data-dir "$DATA_DIR"} "$@"
