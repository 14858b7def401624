#!/usr/bin/env bash
# Train zoo models on one lent GPU (the device tool: 64 MiB in, files back under $OUT), one job per argument:
#   DEADLINE_S=540 bash .devdata/device_train.sh "NAME --config configs/X.yaml [--key value ...]" ...
# Run from the repository root with .devdata (packed CIFAKE, this script) and .whl (datasets, torchattacks and
# their missing dependencies as wheels) carried. EXTRA_ARGS is appended to every train.py command (smoke test),
# WORKERS sets each job's data-loader workers and image-decoding processes. Calling it again on the still-warm
# machine with the jobs that did not finish resumes each from its last checkpoint (train.py's auto-resume; the
# unpacked data and Arrow caches are kept).
set -u
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
START=$(date +%s)
DEADLINE_S=${DEADLINE_S:-480}   # from START: training jobs still running then are stopped and their last checkpoint sent back
WORKERS=${WORKERS:-2}
# STOP_FILE: once it exists, running jobs are stopped as at the deadline (another call's way to end a run started
# in the background with setsid, which outlives its call). LOGS: a second run beside a first needs its own.
STOP_FILE=${STOP_FILE:-/tmp/device_stop}
OUT=${OUT:-/tmp/device_out}; LOGS=${LOGS:-/tmp/device_logs}; mkdir -p "$OUT" "$LOGS"
log() { echo "[$(( $(date +%s) - START ))s] $*"; }
if [[ -z ${SKIP_WHEELS:-} ]] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
python3 -c "import sys, torch, transformers, datasets, pyarrow, fsspec, huggingface_hub, torchattacks, timm, accelerate; \
print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, \
'datasets', datasets.__version__, 'pyarrow', pyarrow.__version__, 'fsspec', fsspec.__version__, 'hub', huggingface_hub.__version__, \
'accelerate', accelerate.__version__)" || exit 1
[[ -f data/cifake/archive.zip ]] || python3 .devdata/cifake_pack.py unpack .devdata data/cifake/archive.zip || exit 1
export REALFAKE_CACHE_DIR=/tmp/rf_cache
python3 -c "import realfake_hf; from realfake_hf.data import load_detection_dataset as l; print({k: len(v) for k, v in l('cifake').items()})" || exit 1
log "data ready"

# One Arrow cache copy per job: each job's decode-to-pixels map then writes its own files, no two jobs the same one.
launch() {
  local name=$1; shift
  [[ -d /tmp/rf_cache_$name ]] || cp -r /tmp/rf_cache "/tmp/rf_cache_$name"
  REALFAKE_CACHE_DIR="/tmp/rf_cache_$name" OMP_NUM_THREADS=2 \
    python3 train.py "$@" --report_to none --bf16 true --dataloader_num_workers "$WORKERS" --dataloader_persistent_workers true \
    --preprocessing_num_workers "$WORKERS" \
    --output_dir "/tmp/outputs/$name" --run_name "$name" --results_dir "results/$name" ${EXTRA_ARGS:-} >> "$LOGS/$name.log" 2>&1 &
  echo $! > "$LOGS/$name.pid"
}
# Only this call's jobs are watched, stopped and sent back: an earlier call's were sent back by that call, and
# their process ids may since belong to other processes.
rm -f "$LOGS"/*.pid
for job in "$@"; do
  # shellcheck disable=SC2086  # a job is its name followed by train.py's arguments, split on spaces
  launch $job
done
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 15 >> "$LOGS/gpu_utilisation.csv" 2>/dev/null &
MONITOR=$!

while (( $(date +%s) - START < DEADLINE_S )) && [[ ! -e $STOP_FILE ]]; do
  running=$(for p in "$LOGS"/*.pid; do kill -0 "$(cat "$p")" 2>/dev/null && basename "$p" .pid; done | tr '\n' ' ')
  [[ -z $running ]] && break
  log "running: $running"; for f in "$LOGS"/*.log; do echo "  $(basename "$f" .log): $(tr '\r' '\n' < "$f" | grep -E "eval_accuracy|it/s\]|Error" | tail -1 | cut -c1-150)"; done
  for _ in 1 2 3 4 5 6; do [[ -e $STOP_FILE ]] && break; sleep 5; done
done
for p in "$LOGS"/*.pid; do kill -INT "$(cat "$p")" 2>/dev/null && log "stopped $(basename "$p" .pid) at the deadline"; done
sleep 5; kill "$MONITOR" 2>/dev/null

# Back: each finished run's results folder; for a stopped one its newest checkpoint (weights, config, trainer
# state with the per-epoch log) without the optimizer state.
for p in "$LOGS"/*.pid; do
  name=$(basename "$p" .pid)
  if [[ -f results/$name/run_info.json ]]; then
    # Files over what comes back (16 MiB each) stay behind: a pretrained backbone's weights, say.
    tar czf "$OUT/$name.tar.gz" $(find "results/$name" -type f -size +15M -printf '--exclude=%p ') "results/$name"
  else
    last=$(ls -d /tmp/outputs/$name/checkpoint-* 2>/dev/null | sort -t- -k2 -n | tail -1)
    [[ -n $last ]] && tar czf "$OUT/$name.partial.tar.gz" --exclude=optimizer.pt --exclude=scheduler.pt "$last"
  fi
done
tar czf "$OUT/logs.tar.gz" -C "$(dirname "$LOGS")" "$(basename "$LOGS")"
ls -la "$OUT"; log "done"
