#!/usr/bin/env bash
# Any CI (GitLab, Jenkins, a cron job): submit, wait, and fail below a threshold.
#   CORTEXSCORE_URL=... CORTEXSCORE_TOKEN=... examples/ci/submit_and_check.sh my_submission 0.30 [node]
set -euo pipefail
submission=${1:?usage: submit_and_check.sh SUBMISSION_FOLDER MIN_SCORE [NODE]}
minimum=${2:?give the lowest acceptable score, e.g. 0.30}
node=${3:-average}
here=$(cd "$(dirname "$0")" && pwd)
scores=$(mktemp)
trap 'rm -f "$scores"' EXIT

cortexscore check "$submission"
# --wait exits 0 when the submission completed, 1 when it failed, 2 on a connection error, 3 on a rejected upload.
cortexscore submit "$submission" --wait --json > "$scores"
python3 "$here/check_threshold.py" "$scores" --min "$minimum" --node "$node"
