#!/usr/bin/env bash
# Second call of a two-call lease: the first started the from-scratch jobs in the background (setsid) and carried the
# first part of DINOv2's weights; this one brings the second part, trains DINOv2 beside them, stops whatever still
# runs after STOP_AFTER_S seconds and sends everything back under $OUT.
#   bash .devdata/lease_second_call.sh STOP_AFTER_S
set -u
STOP_AFTER_S=$1; START=$(date +%s)
log() { echo "[call2 $(( $(date +%s) - START ))s] $*"; }
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site
weights=.devdata/models/dinov2-small/model.safetensors
rm -f /tmp/device_stop
cat .devdata/dinov2_part_a .devstage/dinov2_part_b > "$weights"
echo "8b38fc0f3652d5a3cd0a5f3b71eb3b0b68a34460a68814528cb1e25177fe6e30  $weights" | sha256sum -c || exit 1
job=${DINO_JOB:-dinov2_finetune_3epochs --config configs/dinov2_finetune.yaml --num_train_epochs 3}
SKIP_WHEELS=1 DEADLINE_S=$STOP_AFTER_S WORKERS=${WORKERS:-4} LOGS=/tmp/device_logs_dino OUT=/tmp/out_dino \
  REALFAKE_MODELS_DIR=$PWD/.devdata/models bash .devdata/device_train.sh "$job" > /tmp/orch2.log 2>&1 &
ORCH2=$!
first_done() { grep -q '\] done$' /tmp/orch1.log; }
while (( $(date +%s) - START < STOP_AFTER_S )); do
  if ! kill -0 $ORCH2 2>/dev/null && first_done; then break; fi
  log "background: $(grep -E '^\s+\S+: ' /tmp/orch1.log | tail -2 | tr -s ' ' | tr '\n' '|')"
  log "dinov2: $(tail -1 /tmp/orch2.log | tr -s ' ')"
  sleep 30
done
touch /tmp/device_stop; log "stop file written"
for _ in $(seq 60); do { ! kill -0 $ORCH2 2>/dev/null && first_done; } && break; sleep 2; done
cat /tmp/orch1.log /tmp/orch2.log > "$OUT/run.log"
for d in /tmp/out_scratch /tmp/out_dino; do
  for f in "$d"/*.tar.gz; do [[ -e $f ]] && cp "$f" "$OUT/$(basename "$d")_$(basename "$f")"; done
done
ls -la "$OUT"; log "done"
