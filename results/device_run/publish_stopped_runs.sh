#!/usr/bin/env bash
# The five device runs stopped at the deadline, published from their newest checkpoints (unpacked from the
# *.partial.tar.gz that device_train.sh sent back into outputs/device_run/NAME/) and evaluated here, on the
# 2-core development machine, on CIFAKE's test split. Each was launched at 57 s and stopped at 567 s of
# device_train.sh (run.log): 510 s of training on the H100 that trained resnet_wide beside them.
set -eu
publish() {
  local name=$1 checkpoint=$2; shift 2
  python -m realfake_hf.stopped_run --checkpoint "outputs/device_run/$name/$checkpoint" --results_dir "results/$name" \
    --wall_time_s 510 --reason "stopped by the lent GPU's time limit" --machine_from results/resnet_wide/run_info.json \
    -- "$@" --report_to none --bf16 true --dataloader_num_workers 2 --dataloader_persistent_workers true \
    --output_dir "/tmp/outputs/$name" --run_name "$name" --results_dir "results/$name"
}
publish vit_scratch checkpoint-7216 --config configs/vit_scratch.yaml
publish vit_scratch_patch2 checkpoint-4752 --config configs/vit_scratch_patch2.yaml
publish resnet_shift_adversarial checkpoint-8448 --config configs/resnet_shift_adversarial.yaml
publish paper_cnn_bf16_gpu checkpoint-19698 --config configs/paper_cnn.yaml
publish paper_cnn_bf16_128px checkpoint-12663 --config configs/paper_cnn.yaml --image_size 128
# vit_scratch's evaluation overlapped another job here, so its test evaluation was then redone alone for a clean
# images/s (same predictions; the command is in results/vit_scratch/eval/test/metrics.json, provenance):
#   python evaluate.py --model results/vit_scratch/model --dataset cifake --split test \
#       --output_dir results/vit_scratch/eval/test --batch_size 512
