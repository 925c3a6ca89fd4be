#!/usr/bin/env bash
# Train and test the lifting quickstart and every ablation fragment, then print the report tables.
#   bash tools/lifting_ablations.sh [extra sic arguments, e.g. --trainer.max_steps=100]
# Runs go to runs/lifting-*; tables: python tools/lifting_report.py runs
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BASE="$REPO/configs/experiments/lifting-quickstart.yaml"
run() {  # name, extra -c arguments...
  local name="$1"; shift
  sic fit -c "$BASE" "$@" "${EXTRA[@]}"
  sic test -c "$BASE" "$@" "${EXTRA[@]}" --ckpt_path "runs/$name/checkpoints/last.ckpt"
}
EXTRA=("$@")
run lifting-quickstart
for fragment in "$REPO"/configs/experiments/lifting-ablations/*.yaml; do
  run "lifting-$(basename "$fragment" .yaml)" -c "$fragment"
done
python "$REPO/tools/lifting_report.py" runs
