"""Publish a training run that stopped before its last epoch (a time limit, a machine taken back) from one of
its checkpoints: the results folder ``train.py --results_dir`` writes, evaluated on the test split and
marked as stopped (``run_info.json`` -> ``stopped``; the results table names the epoch it reached).

    python -m realfake_hf.stopped_run --checkpoint outputs/vit_scratch/checkpoint-7216 \\
        --results_dir results/vit_scratch --wall_time_s 510 -- --config configs/vit_scratch.yaml --bf16 true

Everything after ``--`` is the training command's arguments (``train.py``'s), recorded as they were. The Trainer
cannot resume such a run here when its optimizer and scheduler state is gone; this publishes it as it is.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser, TrainerState
from transformers.trainer import TRAINER_STATE_NAME

from .arguments import DataArguments, ModelArguments, config_then_overrides
from .evaluation import seeded_subset
from .history import write_history
from .inference import load_detector
from .model_card import write_model_card
from .training import MODEL_FILES, evaluate_test_split, load_run_dataset, parameter_counts, write_run_files

logger = logging.getLogger(__name__)


@dataclass
class StoppedRunArguments:
    checkpoint: str = field(metadata={"help": "A checkpoint-N folder of the run (with trainer_state.json)."})
    results_dir: str = field(metadata={"help": "Where the results folder is written (e.g. results/NAME)."})
    wall_time_s: float | None = field(default=None, metadata={"help": "Training time until the stop, if known."})
    reason: str = field(default="stopped before its last epoch", metadata={"help": "Why the run stopped."})
    machine_from: str | None = field(
        default=None,
        metadata={"help": "run_info.json of a run trained on the same machine: its 'machine' record is copied "
                          "(default: this machine's, which is right when the run trained here)."},
    )


def publish_stopped_run(arguments: StoppedRunArguments, training_argv: list[str]) -> dict:
    """Write ``results_dir`` from ``checkpoint``; returns the test metrics."""
    checkpoint, results_dir = Path(arguments.checkpoint), Path(arguments.results_dir)
    state_file = checkpoint / TRAINER_STATE_NAME
    if not state_file.exists():
        raise FileNotFoundError(f"{checkpoint} has no {TRAINER_STATE_NAME}: pass a checkpoint-N folder of a train.py run.")
    state = TrainerState.load_from_json(str(state_file))
    # The run's own TrainingArguments, as the Trainer pickled them into the checkpoint: parsing the command
    # again could fail on another machine (--bf16 needs a GPU or --use_cpu) and would not be the record.
    training_args = torch.load(checkpoint / "training_args.bin", weights_only=False)
    arguments_list, config = config_then_overrides(training_argv)
    parser = HfArgumentParser((ModelArguments, DataArguments))
    parser.allow_abbrev = False  # the training arguments left over must not match a model or data argument
    model_args, data_args, _ = parser.parse_args_into_dataclasses(args=arguments_list, return_remaining_strings=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    write_history(state.log_history, results_dir,
                  f"{model_args.model_name} on {data_args.dataset_name} (stopped at epoch {state.epoch:g})")
    (results_dir / "model").mkdir(exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(checkpoint / name, results_dir / "model" / name)

    dataset = load_run_dataset(data_args)
    model, processor = load_detector(checkpoint)
    metrics = evaluate_test_split(model, processor, dataset, model_args, data_args, training_args, results_dir,
                                  str(checkpoint))
    train_images = len(seeded_subset(dataset["train"], data_args.max_train_samples, training_args.seed))
    extra = {
        "wall_time_s": arguments.wall_time_s,
        "stopped": {
            "epochs_completed": state.epoch,
            "planned_epochs": training_args.num_train_epochs,
            "global_step": state.global_step,
            "reason": arguments.reason,
            "published_checkpoint": checkpoint.name,
            "best_validation_accuracy": state.best_metric,
            "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
        },
        "training_command": "python train.py " + " ".join(training_argv),
        **parameter_counts(model),
        "train_images": train_images,
        "validation_images": len(dataset["validation"]),
        "train_images_per_second": (
            state.epoch * train_images / arguments.wall_time_s if arguments.wall_time_s else None
        ),
        "argv": training_argv,
    }
    if arguments.machine_from:
        extra["machine"] = json.loads(Path(arguments.machine_from).read_text())["machine"]
    write_run_files(results_dir, model_args, data_args, training_args, config, extra)
    write_model_card(results_dir)
    return metrics


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        raise SystemExit("usage: python -m realfake_hf.stopped_run --checkpoint DIR --results_dir DIR [...] -- TRAIN_ARGS")
    split = argv.index("--")
    (arguments,) = HfArgumentParser(StoppedRunArguments).parse_args_into_dataclasses(args=argv[:split])
    return publish_stopped_run(arguments, argv[split + 1 :])


if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    metrics = main()
    print(f"accuracy {metrics['accuracy']:.4f} {metrics['accuracy_ci95']}, ROC-AUC {metrics['roc_auc']}")
