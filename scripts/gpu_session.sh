#!/usr/bin/env bash
# One call on a lent GPU machine (JAX + CUDA, no TensorFlow, no Keras, no network), as used for
# the GPU rows of docs/reproduction.md. Run from the repository root with the Keras 3.15.1,
# namex and optree wheels in .whl/ and the packed datasets in packs/ (python -m fer_keras.data
# --pack), then: OUT=/some/folder bash scripts/gpu_session.sh PHASE
# Each phase trains the unfinished folds of its experiments (finished ones, found by their
# metrics.json in studies/, are skipped) and leaves in $OUT: study.tgz (every metrics.json,
# history.csv, config.json and fold log; no checkpoints) and the model.keras of the fold with the
# best *validation* accuracy for each published (dataset, model).
set -u
PHASE=${1:?phase}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false \
    PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 JAX_COMPILATION_CACHE_DIR=/tmp/jaxcache \
    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, keras; print(jax.__version__, jax.devices(), keras.__version__)" || exit 1
run() { python3 -m fer_keras.reproduce run --data-root packs "$@"; }
T0=$(date +%s)
case $PHASE in
  1)  # first try: 10 processes compiling at once spent ~400 s each compiling; not kept
    python3 -m fer_keras.train --dataset fer2013 --data-dir packs/fer2013.npz.xz \
        --model i_mobilenetv2 --epochs 350 --time-limit 470 --quiet \
        --output studies/paper_budget/fer2013-i_mobilenetv2-official-seed0 \
        > "$OUT/fer2013_imnv2.log" 2>&1 &
    run --study studies/paper_budget --table imnv2_table2 --dataset ckplus --epochs 150 \
        --jobs 9 --time-limit 200 --max-time 300 2>&1 | grep -v "it/s\|fold/s" ;;
  2)  # four processes; one compile per model and shape (drop_remainder, padded predict)
    python3 -m fer_keras.train --dataset fer2013 --data-dir packs/fer2013.npz.xz \
        --model i_mobilenetv2 --epochs 350 --time-limit 480 --quiet \
        --output studies/paper_budget/fer2013-i_mobilenetv2-official-seed0 \
        > "$OUT/fer2013_imnv2.log" 2>&1 &
    timeout 540 python3 -m fer_keras.reproduce run --data-root packs \
        --study studies/paper_budget --table lntwrn_table5 --rows light_ntwrn --dataset jaffe \
        --epochs 300 --jobs 1 --time-limit 240 --max-time 220 > "$OUT/lntwrn.log" 2>&1 &
    timeout 540 python3 -m fer_keras.reproduce run --data-root packs \
        --study studies/paper_budget --table imnv2_table2 --rows i_mobilenetv2 --dataset ckplus \
        --epochs 150 --jobs 2 --time-limit 240 --max-time 280 2>&1 | grep -v "it/s\|fold/s" ;;
  3)  # after the switch to one fit() call per epoch on JAX (state stays on the GPU)
    python3 -m fer_keras.train --dataset fer2013 --data-dir packs/fer2013.npz.xz \
        --model i_mobilenetv2 --epochs 350 --time-limit 470 --quiet \
        --output studies/paper_budget/fer2013-i_mobilenetv2-official-seed0 \
        > "$OUT/fer2013_imnv2.log" 2>&1 &
    python3 -m fer_keras.train --dataset ckplus --data-dir packs/ckplus.npz.xz \
        --model light_ntwrn --protocol subject_kfold --fold 0 --epochs 300 --time-limit 470 \
        --quiet --output studies/paper_budget/ckplus-light_ntwrn-subject_kfold-seed0 \
        > "$OUT/ckplus_lntwrn.log" 2>&1 &
    timeout 540 python3 -m fer_keras.reproduce run --data-root packs \
        --study studies/paper_budget --table lntwrn_table5 --rows light_ntwrn --dataset jaffe \
        --protocol loso --epochs 300 --jobs 1 --time-limit 150 --max-time 380 \
        > "$OUT/jaffe_lntwrn.log" 2>&1 &
    timeout 540 python3 -m fer_keras.reproduce run --data-root packs \
        --study studies/paper_budget --table imnv2_table2 --rows i_mobilenetv2 --dataset ckplus \
        --epochs 150 --jobs 2 --time-limit 200 --max-time 330 2>&1 | grep -v "it/s\|fold/s" ;;
  4)  # prepared for the next loan, not yet run: the JAFFE rows of Light-NTWRN Table 5 under
      # the paper's protocol (one process per ablation row) and Light-NTWRN on FER2013, the
      # one published model still missing; the CPU trains these at 1-6 images/s
    python3 -m fer_keras.train --dataset fer2013 --data-dir packs/fer2013.npz.xz \
        --model light_ntwrn --epochs 300 --time-limit 470 --quiet \
        --output studies/paper_budget/fer2013-light_ntwrn-official-seed0 \
        > "$OUT/fer2013_lntwrn.log" 2>&1 &
    for row in wrn wrn_re wrn_re_scam wrn_re_scam_gbn; do
      timeout 540 python3 -m fer_keras.reproduce run --data-root packs \
          --study studies/paper_budget --table lntwrn_table5 --rows $row --dataset jaffe \
          --protocol paper_lntwrn --epochs 300 --jobs 1 --time-limit 420 \
          > "$OUT/jaffe_$row.log" 2>&1 &
    done ;;
  *) echo "unknown phase $PHASE"; exit 2 ;;
esac
wait
echo "phase $PHASE took $(( $(date +%s) - T0 )) s"
tar czf "$OUT/study.tgz" --exclude='*.npz' --exclude='model.keras' --exclude='logs' \
    --exclude='*.png' --exclude='saved_model' studies
python3 - "$OUT" <<'PY'
import json, shutil, sys
from pathlib import Path
best = {}
for m in Path("studies").glob("*/*/fold_*/metrics.json"):
    d = json.loads(m.read_text())
    if d["model"] not in ("i_mobilenetv2", "light_ntwrn") or d["protocol"].startswith("paper"):
        continue
    key, score = (d["dataset"], d["model"]), d["validation"]["accuracy"]
    if (m.parent / "model.keras").is_file() and score > best.get(key, (-1,))[0]:
        best[key] = (score, m.parent)
for (dataset, model), (score, folder) in sorted(best.items()):
    name = f"{folder.parent.parent.name}__{folder.parent.name}__{folder.name}.keras"
    shutil.copy(folder / "model.keras", Path(sys.argv[1]) / name)
    print("kept", name, "val", round(score, 4))
PY
ls -la "$OUT"
