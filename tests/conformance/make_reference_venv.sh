#!/usr/bin/env bash
# Create .venv-reference: the real Brain-Score (brainscore-vision 2.4.2 + brainscore-core 2.5.0), installed
# with --no-deps, plus only the pinned packages that importing its metrics and ceilings needs (found by trying).
# Used by tests/conformance/test_reference.py and bench/metrics.py.  Usage: tests/conformance/make_reference_venv.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${REFERENCE_VENV:-$ROOT/.venv-reference}"
PYTHON="${PYTHON:-python3}"
export BS_INSTALL_DEPENDENCIES=no
start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet --no-deps "brainscore-vision==2.4.2" "brainscore-core==2.5.0"
# The pins from the issue, then what `import brainscore_vision.metrics.*` needs:
# boto3/tqdm/netCDF4/pillow (brainio data standard), psutil + result_caching (brainscore_vision), PyYAML.
"$VENV/bin/pip" install --quiet \
  "numpy<2" "xarray<2022.6" "pandas<3" "scikit-learn<1.6" \
  boto3 tqdm netCDF4 pillow psutil result_caching PyYAML
"$VENV/bin/python" - <<'PY'
from brainscore_vision import load_metric
for name in ("pls", "ridge", "linear_predictivity", "rdm", "cka", "internal_consistency"):
    load_metric(name)
print("reference metrics load")
PY
echo "created $VENV in $(( $(date +%s) - start ))s"
