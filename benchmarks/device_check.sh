#!/usr/bin/env bash
# Every GPU measurement (evaluation, SG-GAN training and adaptation, CycleGAN's iteration layer by
# layer, segmentation training and inference; about 6 minutes) in one call on a lent GPU machine
# whose python has torch but reaches no package registry. Carry the cityscapesscripts wheel in
# .whl/ from a machine that has one:
#   pip download --no-deps --python-version 3.12 --only-binary=:all: -d .whl cityscapesscripts
# The copied tree has no git: pass the commit for the rows, SGGAN_CODE_VERSION=<hash> bash ...
# The toy-DAG benchmark is a CPU measurement and is left out. Rows are appended to
# benchmarks/RESULTS.md, which is also copied to $OUT when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import cityscapesscripts" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH=".:${PYTHONPATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
status=0
python3 benchmarks/run.py --only evaluate sggan cyclegan segmentation || status=$?
if [ -n "${OUT:-}" ]; then cp benchmarks/RESULTS.md "$OUT/RESULTS.md"; fi
exit $status
