#!/usr/bin/env bash
# The CK+ decomposition of I-MobileNetV2's gap (docs/reproduction.md, "The papers' practice"):
# paper_imnv2 at the paper's 150 epochs with test accuracy recorded every epoch, for each of
# (split_level sequence|frame) x (validation carve|none), 3 seeds (the split itself is fixed,
# split_seed 0), seed 0 of every combination first; then the other four Table 2 rows under
# (frame, none), once (seed 0) or for each seed in TABLE2_SEEDS. Runs one at a time on the CPU, resumable: run it again and finished runs are
# skipped, a stopped one continues from its checkpoint.
#   MAX_SECONDS=7200 DATA=../shared/data/ckplus STUDY=studies/paper_practice \
#       nice -n 19 bash scripts/paper_practice_ckplus.sh
set -u
DATA=${DATA:-../shared/data/ckplus}
STUDY=${STUDY:-studies/paper_practice}
PY=${PY:-python}
END=$(( $(date +%s) + ${MAX_SECONDS:-36000} ))
"$PY" -c "import fer_keras" || { echo "cannot import fer_keras with PY=$PY" >&2; exit 2; }
run() {  # run MODEL SPLIT_LEVEL VALIDATION SEED
  local out="$STUDY/ckplus-$1-paper_imnv2-$2-$3-seed$4"
  local left=$(( END - $(date +%s) ))
  [ -f "$out/fold_0/metrics.json" ] && grep -q '"epochs_trained": 150' "$out/fold_0/metrics.json" \
    && return 0
  [ "$left" -lt 120 ] && exit 0
  echo "== $(date -u +%T) $out (time left ${left}s)"
  "$PY" -m fer_keras.train --dataset ckplus --data-dir "$DATA" --model "$1" \
    --protocol paper_imnv2 --protocol-options "{\"split_level\": \"$2\", \"validation\": \"$3\"}" \
    --epochs 150 --seed "$4" --test-each-epoch --engine loop --time-limit "$left" --quiet \
    --output "$out" 2>&1 | grep -v "it/s\]" | tail -3
}
for seed in 0 1 2; do
  for combo in "frame none" "sequence none" "frame carve" "sequence carve"; do
    run i_mobilenetv2 $combo $seed
  done
done
for seed in ${TABLE2_SEEDS:-0}; do  # e.g. TABLE2_SEEDS="0 1 2"
  for model in mobilenetv2 mobilenetv2_075 mobilenetv2_075_se mobilenetv2_075_rf; do
    run "$model" frame none "$seed"
  done
done
