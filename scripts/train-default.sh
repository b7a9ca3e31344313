#!/usr/bin/env bash
# npm run train:default: rebuild models/default from the MIMIC-IV Clinical Database Demo v2.2 through
# the project's own pipeline (mimic-to-fhir → dataset → train → evaluate → 5-fold cross-validation of the
# same recipe with a learning curve and plots), seed 42, and swap the finished folder in atomically.
# Run `npm run build` first (npm run train:default does).
#   LEADER_DEFAULT_FOLDS (5; 0 skips the cross-validation), LEADER_DEFAULT_LEARNING_CURVE (25,50,75,100)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${LEADER_SHARED_DATA:-$ROOT/../shared/data}"
SOURCE="$SHARED/mimic-iv-demo-2.2"
TARGET="$ROOT/models/default"
export LEADER_FHIR_MAPPINGS="${LEADER_FHIR_MAPPINGS:-$ROOT/fhir-mappings}"

CLI="$ROOT/dist/src/cli/main.js"
[ -f "$CLI" ] || { echo "train-default: $CLI not built (run npm run build)" >&2; exit 1; }
[ -d "$SOURCE/hosp" ] || { echo "train-default: $SOURCE/hosp not found (set LEADER_SHARED_DATA)" >&2; exit 1; }
leader() { node "$CLI" "$@"; }
# The student recipe, chosen on validation folds only (docs/experiments.md); recorded in the manifest as
# training.recipe, which `leader evaluate --folds K --model DIR` cross-validates.
STUDENT_FLAGS=(--wide --bias-init)
FOLDS="${LEADER_DEFAULT_FOLDS:-5}"
CURVE="${LEADER_DEFAULT_LEARNING_CURVE:-25,50,75,100}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/leader-train-default.XXXXXX")"
# The new model is staged beside models/default so the final swap is a same-filesystem rename.
mkdir -p "$ROOT/models"
STAGE="$ROOT/models/.default.tmp-$$"
cleanup() { rm -rf "$WORK" "$STAGE" "$STAGE.tmp-train"; }
trap cleanup EXIT

started=$(date +%s)
# Name the dataset by how it was built, not by its deleted temporary path.
DATASET_NAME="mimic-iv-demo-2.2 → mimic-to-fhir → leader dataset --per-visit --seed 42"
leader mimic-to-fhir --source "$SOURCE" --out "$WORK/fhir"
# One training sample per visit (evaluation stays on each patient's last visit): chosen on validation.
leader dataset --fhir "$WORK/fhir" --out "$WORK/dataset" --seed 42 --per-visit
leader train --dataset "$WORK/dataset" --out "$STAGE" --epochs "${LEADER_DEFAULT_EPOCHS:-100}" --seed 42 \
  --name leader-student-mimic-iv-demo \
  --scale-note "demo-scale: trained on the 100-patient MIMIC-IV Clinical Database Demo v2.2; not for clinical use" \
  --dataset-label "$DATASET_NAME" -- "${STUDENT_FLAGS[@]}"
# The resumable checkpoint (optimizer state, ~5 MB) is not part of the shipped model.
rm -f "$STAGE/checkpoint.pt"
leader evaluate --model "$STAGE" --dataset "$WORK/dataset" --split test --json --record-metrics > "$WORK/evaluation.json"
leader evaluate --model "$STAGE" --dataset "$WORK/dataset" --split test > "$WORK/evaluation.raw.txt"
sed "s|$WORK/dataset|$DATASET_NAME|g" "$WORK/evaluation.raw.txt" > "$WORK/evaluation.txt"
: > "$WORK/cv.txt"
if [ "$FOLDS" -gt 0 ]; then
  # Every patient a test patient once; writes the crossValidation block and plots/ (PR curves,
  # reliability on the held-out folds, learning curve, training curves) that the model card shows.
  leader evaluate --folds "$FOLDS" --model "$STAGE" --dataset "$WORK/dataset" --out "$WORK/cv" \
    --learning-curve "$CURVE" --plots "$STAGE/plots" --record-cv "$STAGE" > "$WORK/cv.raw.txt"
  sed "s|$WORK/dataset|$DATASET_NAME|g" "$WORK/cv.raw.txt" > "$WORK/cv.txt"
fi
{
  echo "# models/default: leader-student-mimic-iv-demo"
  echo
  echo "Demo-scale: trained on the 100-patient MIMIC-IV Clinical Database Demo v2.2 (ODbL; PhysioNet,"
  echo "https://doi.org/10.13026/dp1f-ex47) through \`npm run train:default\`"
  echo "(mimic-to-fhir → dataset --per-visit --seed 42 → train --seed 42 ${STUDENT_FLAGS[*]} → evaluate). Not for clinical use: 80 training"
  echo "patients; the 10-patient test split gives wide error bars."
  echo
  echo "Test split, onnxruntime-node (the served path), mean ± std over 10 rounds of 80 % subsamples:"
  echo
  echo '```'
  cat "$WORK/evaluation.txt"
  echo '```'
  echo
  if [ -s "$WORK/cv.txt" ]; then
    echo "$FOLDS-fold cross-validation by patient of the same recipe (\`${STUDENT_FLAGS[*]}\`), the student and every"
    echo "baseline on the same folds (plots/ has the figures the model card shows):"
    echo
    echo '```'
    cat "$WORK/cv.txt"
    echo '```'
    echo
  fi
  echo "Files: model.onnx (student, opset 17), manifest.json (metrics block = the table above),"
  echo "vocab.json, ddi.json, parity.json (PyTorch inputs/outputs for the ONNX parity test), plots/ (SVG and"
  echo "their plot-data.json)."
} > "$STAGE/README.md"

# Swap: the old folder is removed only once the new one is in place.
if [ -e "$TARGET" ]; then
  mv "$TARGET" "$STAGE.old"
  mv "$STAGE" "$TARGET" || { mv "$STAGE.old" "$TARGET"; exit 1; }
  rm -rf "$STAGE.old"
else
  mv "$STAGE" "$TARGET"
fi
cat "$WORK/evaluation.txt"
cat "$WORK/cv.txt"
echo "wrote $TARGET/ (model.onnx, manifest.json, vocab.json, ddi.json, parity.json, plots/, README.md) in $(( $(date +%s) - started )) s" >&2
