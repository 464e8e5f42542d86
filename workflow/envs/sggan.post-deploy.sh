#!/usr/bin/env bash
# Snakemake runs this in the new environment of sggan.yaml, from a copy under .snakemake/conda/,
# so the checkout comes from the Snakefile (SGGAN_CHECKOUT): installed editable, the jobs run the
# checkout's code as it is now, and pip brings the dependencies pyproject.toml declares, with the
# metrics extra (torch-fidelity: paper.yaml's KID/FID network, which the jobs import).
set -euo pipefail
if [ -z "${SGGAN_CHECKOUT:-}" ]; then
    echo "error: SGGAN_CHECKOUT is not set: this script installs the checkout the Snakefile names" >&2
    exit 2
fi
python -m pip install --no-cache-dir -e "$SGGAN_CHECKOUT[metrics]"
