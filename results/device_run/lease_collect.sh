#!/usr/bin/env bash
# Second call of a two-call lease: the first started device_train.sh in the background (setsid, log in
# /tmp/orch1.log, files to /tmp/out_scratch); this one watches it, stops it after STOP_AFTER_S seconds if it still
# runs, and sends its files back under $OUT.
#   bash .devdata/lease_collect.sh STOP_AFTER_S
set -u
STOP_AFTER_S=$1; START=$(date +%s)
finished() { grep -q '\] done$' /tmp/orch1.log; }
while ! finished && (( $(date +%s) - START < STOP_AFTER_S )); do
  tr '\r' '\n' < /tmp/orch1.log | grep -E '^\[|^  ' | tail -3; sleep 20
done
touch /tmp/device_stop
for _ in $(seq 60); do finished && break; sleep 2; done
cp /tmp/orch1.log "$OUT/run.log"; cp /tmp/out_scratch/*.tar.gz "$OUT/"
ls -la "$OUT"; echo "[collect $(( $(date +%s) - START ))s] done"
