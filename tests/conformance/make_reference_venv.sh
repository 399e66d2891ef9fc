#!/usr/bin/env bash
# Create .venv-reference: the real Brain-Score (brainscore-vision 2.4.2, brainscore-core 2.5.0)
# installed with --no-deps, plus only the pinned packages their metric/ceiling imports need.
# Used by tests/conformance/test_reference.py and bench/metrics.py.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${REFERENCE_VENV:-$ROOT/.venv-reference}"
PYTHON="${PYTHON:-python3}"
export BS_INSTALL_DEPENDENCIES=no
start=$(date +%s)
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet \
  "numpy<2" "xarray<2022.6" "pandas<3" "scikit-learn<1.6" "scipy<1.14" \
  "netcdf4" "h5netcdf<1.4" "tqdm" "peewee" "psycopg2-binary" "pybtex" "fire" "requests" "PyYAML" \
  "entrypoints" "boto3" "matplotlib"
"$VENV/bin/pip" install --quiet --no-deps \
  "brainscore-vision==2.4.2" "brainscore-core==2.5.0" "brainio" "result_caching" "brainscore_core"
"$VENV/bin/python" - <<'PY'
from brainscore_vision import load_metric, load_ceiling
for name in ("pls", "ridge", "linear", "rdm", "cka"):
    load_metric(name)
load_ceiling("internal_consistency")
print("reference metrics import fine")
PY
echo "created $VENV in $(( $(date +%s) - start ))s"
