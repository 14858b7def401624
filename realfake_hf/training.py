"""Train a detector with the transformers ``Trainer`` (single CPU to multi-GPU through Accelerate)."""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import accuracy_score
from transformers import IntervalStrategy, TrainerCallback, TrainerState, TrainingArguments, set_seed
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState

from .arguments import DataArguments, ModelArguments
from .data import collate_pixels, load_detection_dataset, with_model_inputs
from .evaluation import evaluate_split, seeded_subset
from .history import CURVE_FILE, HISTORY_FILE, HistoryCallback
from .model_card import write_model_card
from .models import create_model, image_processor_for, model_entry
from .robustness.adversarial_training import DetectorTrainer
from .runinfo import ARGS_FILE, run_info
from .tracking import offline_wandb_defaults
from .weight_averaging import EPOCH_TOLERANCE, WeightAveragingCallback

logger = logging.getLogger(__name__)

RUN_INFO_FILE = "run_info.json"
TEST_EVAL_DIR = "eval/test"
MODEL_FILES = ("config.json", "model.safetensors", "preprocessor_config.json")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Batch-norm statistics of an averaged model settle on a few thousand images; a seeded subset of train keeps the
# extra pass short.
BATCH_NORM_UPDATE_IMAGES = 10_000


def find_resumable_checkpoint(output_dir: str | Path) -> str | None:
    """Newest ``checkpoint-N`` that was completely written (the Trainer writes ``trainer_state.json`` last),
    so a run killed in the middle of saving resumes from the checkpoint before."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    complete = [
        (int(match.group(1)), path)
        for path in output_dir.iterdir()
        if (match := _CHECKPOINT.match(path.name)) and (path / TRAINER_STATE_NAME).exists()
    ]
    return str(max(complete)[1]) if complete else None


def lacks_its_epoch_evaluation(checkpoint: str | None, training_args: TrainingArguments) -> bool:
    """Whether ``checkpoint`` ends an epoch whose evaluation it does not hold. A checkpoint saved by ``save_steps``
    at an epoch's last step is written before that epoch's logging and evaluation, and the Trainer does not
    repeat them on resume: ``history.csv`` would miss that epoch."""
    if checkpoint is None or training_args.eval_strategy != IntervalStrategy.EPOCH:
        return False
    state = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME))
    if not state.epoch or abs(state.epoch - round(state.epoch)) > EPOCH_TOLERANCE:
        return False
    return not any("eval_loss" in entry and entry["step"] == state.global_step for entry in state.log_history)


class WallTimeCallback(TrainerCallback, ExportableState):
    """The run's wall time so far, saved in every checkpoint's ``trainer_state.json`` (the file whose presence
    marks a checkpoint complete), so that a run resumed after a crash or a session's end reports the time of all
    its processes up to its last checkpoint; the Trainer's own ``train_runtime`` restarts at every resume."""

    def __init__(self, earlier_s: float = 0.0):
        self.earlier_s = earlier_s
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.earlier_s + time.perf_counter() - self.started

    def state(self) -> dict:
        return {"args": {"earlier_s": round(self.seconds, 1)}, "attributes": {}}

    def on_train_begin(self, args, state, control, **kwargs):
        # A checkpoint written before this callback existed has no entry for it, and the Trainer's checkpoint
        # saving indexes every stateful callback's entry without checking (KeyError at the first save after
        # such a resume, transformers 5.x).
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())


def wall_time_before(checkpoint: str | None) -> float:
    """Seconds the processes before this one spent on the run, as its checkpoint recorded them."""
    if checkpoint is None:
        return 0.0
    saved = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME)).stateful_callbacks
    if WallTimeCallback.__name__ not in saved:
        logger.warning("%s has no recorded wall time: the run's wall time will count this process only", checkpoint)
        return 0.0
    return float(saved[WallTimeCallback.__name__]["args"]["earlier_s"])


def stopped_by_signal(trainer) -> bool:
    """Whether ``--enable_jit_checkpoint`` stopped the run early: the Trainer's own SIGTERM handling saves a
    checkpoint and ends ``train()`` as if training were over."""
    return bool(trainer.args.enable_jit_checkpoint) and trainer.state.global_step < trainer.state.max_steps


def compute_accuracy(eval_prediction) -> dict:
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    return {"accuracy": float(accuracy_score(labels, np.argmax(logits, axis=-1)))}


def configure_wandb(training_args: TrainingArguments) -> None:
    if "wandb" in (training_args.report_to or []):
        offline_wandb_defaults(training_args.output_dir)


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def write_run_files(output_dir: Path, model_args, data_args, training_args, config: str | None, extra: dict) -> None:
    arguments = {
        "config": config,
        "model": asdict(model_args),
        "data": asdict(data_args),
        "training": {key: _plain(value) for key, value in training_args.to_dict().items()},
    }
    (output_dir / ARGS_FILE).write_text(yaml.safe_dump(arguments, sort_keys=False))
    (output_dir / RUN_INFO_FILE).write_text(json.dumps(run_info(**extra), indent=2))


def copy_results(output_dir: Path, results_dir: Path) -> None:
    """The small, committable part of a run: model weights and config, args, history, test evaluation."""
    results_dir.mkdir(parents=True, exist_ok=True)
    for name in (ARGS_FILE, RUN_INFO_FILE, HISTORY_FILE, CURVE_FILE, "README.md"):
        if (output_dir / name).exists():
            shutil.copy2(output_dir / name, results_dir / name)
    if (output_dir / TEST_EVAL_DIR).exists():
        shutil.copytree(output_dir / TEST_EVAL_DIR, results_dir / TEST_EVAL_DIR, dirs_exist_ok=True)
    model_dir = results_dir / "model"
    model_dir.mkdir(exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(output_dir / name, model_dir / name)


def load_run_dataset(data_args: DataArguments):
    """The dataset a run's ``DataArguments`` name, with validation carved from train."""
    return load_detection_dataset(
        data_args.dataset_name, data_args.dataset_path, data_args.validation_fraction, data_args.split_seed,
        data_args.drop_duplicates, data_args.strict_data, data_args.label_map,
    )


def evaluate_test_split(model, processor, dataset, model_args, data_args, training_args, output_dir: Path,
                        model_dir: str) -> dict:
    """The run's test evaluation into ``output_dir/eval/test`` (``max_eval_samples`` applies, seeded)."""
    return evaluate_split(
        model, processor, seeded_subset(dataset["test"], data_args.max_eval_samples, training_args.seed),
        output_dir / TEST_EVAL_DIR, title=f"{model_args.model_name} on {data_args.dataset_name} test",
        batch_size=training_args.per_device_eval_batch_size,
        model_dir=model_dir, dataset=data_args.dataset_name, dataset_split="test",
    )


def parameter_counts(model) -> dict:
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


def train_detector(
    model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments, config: str | None = None
) -> dict:
    """Train, keep the best checkpoint by validation accuracy, evaluate it on test; returns the metrics."""
    output_dir = Path(training_args.output_dir)
    # The Trainer would drop the raw ``pixels`` column (not a forward() argument) before our transform sees it.
    training_args.remove_unused_columns = False
    configure_wandb(training_args)
    resume_from = training_args.resume_from_checkpoint or find_resumable_checkpoint(output_dir)
    if resume_from:
        logger.warning("Resuming from %s", resume_from)
    if lacks_its_epoch_evaluation(resume_from, training_args):
        logger.warning("%s holds no evaluation of its epoch: evaluating it before training goes on", resume_from)
        training_args.eval_on_start = True
    clock = WallTimeCallback(wall_time_before(resume_from))
    set_seed(training_args.seed)
    logger.info("process %d/%d on %s", training_args.process_index, training_args.world_size, training_args.device)

    with training_args.main_process_first(desc="dataset import"):
        dataset = load_run_dataset(data_args)
        if "train" not in dataset:
            raise ValueError(f"{data_args.dataset_name} has no train split; it has {list(dataset)} (use evaluate.py).")
        train_split = seeded_subset(dataset["train"], data_args.max_train_samples, training_args.seed)
        eval_split = seeded_subset(dataset["validation"], data_args.max_eval_samples, training_args.seed)
        size = model_args.image_size
        entry = model_entry(model_args.model_name)
        normalisation = {"mean": entry.mean, "std": entry.std}
        train_pixels = with_model_inputs(
            train_split, size, train=True, hflip_probability=data_args.hflip_probability,
            max_shift=data_args.max_shift, random_erasing_probability=data_args.random_erasing_probability,
            num_proc=data_args.preprocessing_num_workers, **normalisation,
        )
        eval_pixels = with_model_inputs(eval_split, size, num_proc=data_args.preprocessing_num_workers, **normalisation)

    model = create_model(
        model_args.model_name, image_size=size, pretrained_path=model_args.pretrained_path,
        freeze_backbone=model_args.freeze_backbone, **model_args.config_overrides(),
    )
    processor = image_processor_for(model_args.model_name, size)
    callbacks = [HistoryCallback(title=f"{model_args.model_name} on {data_args.dataset_name}"), clock]
    averaging = None
    if training_args.weight_averaging_start_epoch is not None:
        averaging = WeightAveragingCallback(model, training_args.weight_averaging_start_epoch)
        callbacks.append(averaging)
        if resume_from:
            averaging.resume(resume_from)
    trainer = DetectorTrainer(
        model=model,
        args=training_args,
        train_dataset=train_pixels,
        eval_dataset=eval_pixels,
        data_collator=collate_pixels,
        processing_class=processor,
        compute_metrics=compute_accuracy,
        callbacks=callbacks,
    )
    train_result = trainer.train(resume_from_checkpoint=resume_from)
    if stopped_by_signal(trainer):
        # The JIT checkpoint holds the steps done when the signal came (the model in memory may have taken one
        # more); neither is the finished run: saving or testing either here would publish a half-trained run.
        logger.warning(
            "Stopped by SIGTERM at step %d of %d; checkpoint saved in %s. Rerun the same command to resume.",
            trainer.state.global_step, trainer.state.max_steps, output_dir,
        )
        trainer.accelerator.end_training()
        return {"train": train_result.metrics, "stopped_at_step": trainer.state.global_step}
    # Under --bf16/--fp16 the Trainer's Accelerator wraps forward() in autocast, and the wrapper stays on the
    # model after training; without it, what is computed below is float32, as evaluate.py computes it from the
    # saved model, so the committed test numbers are those anyone reloading the model gets.
    inference_model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    if averaging is not None:
        # Without augmentation: the statistics are those of the images the model will be shown.
        bn_split = seeded_subset(train_split, BATCH_NORM_UPDATE_IMAGES, training_args.seed)
        bn_pixels = with_model_inputs(bn_split, size, num_proc=data_args.preprocessing_num_workers, **normalisation)
        averaging.apply_to(inference_model, bn_pixels, training_args.per_device_eval_batch_size)
    trainer.save_model()  # the best (or averaged) model, with the image processor
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics)
    trainer.save_state()
    # Its own prefix keeps this re-evaluation of the kept (best) model out of the per-epoch history.
    validation = trainer.evaluate(metric_key_prefix="best_validation")
    trainer.save_metrics("best_validation", validation)

    metrics = {"train": train_result.metrics, "validation": validation}
    try:
        if trainer.is_world_process_zero():
            if data_args.evaluate_test and "test" in dataset:
                metrics["test"] = evaluate_test_split(
                    inference_model, processor, dataset, model_args, data_args, training_args, output_dir,
                    str(output_dir),
                )
            write_run_files(
                output_dir, model_args, data_args, training_args, config,
                {
                    "wall_time_s": clock.seconds,
                    "resumed_from": resume_from,
                    "wall_time_before_resume_s": clock.earlier_s if resume_from else None,
                    "world_size": training_args.world_size,
                    **parameter_counts(model),
                    "train_images": len(train_split),
                    "validation_images": len(eval_split),
                    "best_checkpoint": trainer.state.best_model_checkpoint,
                    "checkpoints_averaged": averaging.checkpoints_averaged if averaging else None,
                    "train_images_per_second": train_result.metrics.get("train_samples_per_second"),
                    "argv": sys.argv,
                },
            )
            write_model_card(output_dir)
            if data_args.results_dir:
                copy_results(output_dir, Path(data_args.results_dir))
    finally:
        # The processes leave the process group together, once the main one has tested and written the run (or
        # failed): one that exited while another still held the group aborted it once in CI, two CPU processes,
        # "terminate called without an active exception". Without distribution both calls do nothing.
        trainer.accelerator.wait_for_everyone()
        trainer.accelerator.end_training()
    return metrics
