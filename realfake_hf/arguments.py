"""The one configuration system: argument dataclasses + ``TrainingArguments``, filled from a YAML file whose
keys are exactly these fields (plus ``base:``, the file it varies), then from ``--key value`` overrides on the
command line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from transformers import HfArgumentParser, TrainingArguments

from .data import SPLIT_SEED, VALIDATION_FRACTION


@dataclass
class ModelArguments:
    model_name: str = field(default="paper_cnn", metadata={"help": "Registered model name (realfake_hf.models.list_models())."})
    image_size: int = field(default=32, metadata={"help": "Side of the square model input; images are resized to it."})
    pretrained_path: str | None = field(
        default=None,
        metadata={"help": "Pretrained models: backbone folder or Hub id (default: the usual search). From-scratch "
                          "models: a trained model folder of the same architecture to fine-tune further."},
    )
    freeze_backbone: bool = field(default=False, metadata={"help": "Pretrained models: train only the head (linear probe)."})
    model_config_overrides: str | None = field(
        default=None, metadata={"help": 'JSON object of model config fields, e.g. \'{"dropout": 0.2}\'.'}
    )

    def config_overrides(self) -> dict:
        return json.loads(self.model_config_overrides) if self.model_config_overrides else {}


@dataclass
class DataArguments:
    dataset_name: str = field(default="cifake", metadata={"help": "'cifake', a local dataset name, or a Hub dataset id."})
    dataset_path: str | None = field(default=None, metadata={"help": "Explicit path (zip or folder); overrides the search."})
    validation_fraction: float = field(
        default=VALIDATION_FRACTION, metadata={"help": "Share of train held out for validation."})
    split_seed: int = field(default=SPLIT_SEED, metadata={"help": "Seed of the stratified validation carve."})
    drop_duplicates: bool = field(default=False, metadata={"help": "Drop repeated and test-leaked images from train."})
    strict_data: bool = field(default=False, metadata={"help": "Fail on the first unreadable image instead of skipping it."})
    label_map: str | None = field(default=None, metadata={"help": 'JSON folder/label -> real|fake, e.g. \'{"ai": "fake"}\'.'})
    hflip_probability: float = field(default=0.0, metadata={"help": "Random horizontal flips in training (0 = none)."})
    max_shift: int = field(default=0, metadata={"help": "Random shifts in training of up to this many pixels (0 = none)."})
    random_erasing_probability: float = field(
        default=0.0, metadata={"help": "Share of training images with a random rectangle set to the mean colour (0 = none)."})
    preprocessing_num_workers: int | None = field(
        default=None, metadata={"help": "Processes that decode the training and validation images (one when unset)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Debug: a seeded random subset of train."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Debug: a seeded random subset of validation/test."})
    evaluate_test: bool = field(default=True, metadata={"help": "After training, evaluate the best model on the test split."})
    results_dir: str | None = field(default=None, metadata={"help": "Also copy metrics, figures and the model here."})

    def __post_init__(self):
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        if not 0 <= self.hflip_probability <= 1:
            raise ValueError(f"hflip_probability must be in [0, 1], got {self.hflip_probability}")
        if not 0 <= self.random_erasing_probability <= 1:
            raise ValueError(f"random_erasing_probability must be in [0, 1], got {self.random_erasing_probability}")
        if self.preprocessing_num_workers is not None and self.preprocessing_num_workers < 1:
            raise ValueError(f"preprocessing_num_workers must be 1 or more, got {self.preprocessing_num_workers}")
        if self.max_shift < 0:
            raise ValueError(f"max_shift must be a number of pixels >= 0, got {self.max_shift}")


ADVERSARIAL_METHODS = ("none", "ffgsm", "pgd")


@dataclass
class DetectorTrainingArguments(TrainingArguments):
    """``TrainingArguments`` plus adversarial training (one option of the one trainer, not a second trainer)."""

    adversarial_training: str = field(
        default="none",
        metadata={"help": "Train on adversarial examples: 'ffgsm' (fast FGSM with a random start, Wong et al. "
                          "2020) or 'pgd' (Madry et al. 2018); 'none' trains on clean images.",
                  "choices": list(ADVERSARIAL_METHODS)},
    )
    adversarial_epsilon_255: float = field(
        default=4.0, metadata={"help": "L-infinity budget of the training attack, in 8-bit pixel levels (k/255)."}
    )
    adversarial_pgd_steps: int = field(default=3, metadata={"help": "PGD steps per training batch."})
    weight_averaging_start_epoch: float | None = field(
        default=None,
        metadata={"help": "Stochastic weight averaging (Izmailov et al. 2018): average the weights of every "
                          "checkpoint saved from this epoch on (save_strategy/save_steps set how often) and keep the "
                          "average, with batch-norm statistics recomputed, as the trained model (default: off). "
                          "Needs load_best_model_at_end false."},
    )

    def __post_init__(self):
        super().__post_init__()
        if self.adversarial_training not in ADVERSARIAL_METHODS:
            raise ValueError(f"adversarial_training must be one of {ADVERSARIAL_METHODS}, got {self.adversarial_training!r}")
        if self.adversarial_epsilon_255 < 0 or self.adversarial_pgd_steps < 1:
            raise ValueError("adversarial_epsilon_255 must be >= 0 and adversarial_pgd_steps >= 1")
        if self.weight_averaging_start_epoch is not None:
            if not 0 < self.weight_averaging_start_epoch <= self.num_train_epochs:
                raise ValueError(f"weight_averaging_start_epoch must be an epoch in (0, num_train_epochs="
                                 f"{self.num_train_epochs}], got {self.weight_averaging_start_epoch}")
            if self.save_strategy == "no":
                raise ValueError("weight_averaging_start_epoch averages the weights of the checkpoints: set "
                                 "save_strategy to epoch or steps")
            if self.load_best_model_at_end:
                raise ValueError("weight_averaging_start_epoch keeps the average of the checkpoints as the model, "
                                 "load_best_model_at_end would replace it by one checkpoint: set it to false")


BASE_KEY = "base"


def load_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config file's values over those of the file its ``base:`` key names (relative to it), recursively.

    A key set in the file replaces the base's value as a whole (a JSON object too), and ``null`` restores the
    argument's default, so a variant config holds only what it changes."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Config file {path} does not exist (see configs/ for the shipped ones).")
    if path.resolve() in _seen:
        chain = " -> ".join(str(seen) for seen in (*_seen, path.resolve()))
        raise ValueError(f"{path}: its base: chain loops back on itself ({chain}).")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of argument names to values, got {type(values).__name__}.")
    base = values.pop(BASE_KEY, None)
    if base is None:
        return values
    base_path = path.parent / base
    if not base_path.exists():
        raise FileNotFoundError(f"{path}: its base: {base} does not exist (looked for {base_path}).")
    return {**load_config(base_path, (*_seen, path.resolve())), **values}


def yaml_to_argv(path: str | Path) -> list[str]:
    argv = []
    for key, value in load_config(path).items():
        if value is None:
            continue
        if isinstance(value, dict):
            argv += [f"--{key}", json.dumps(value)]
        elif isinstance(value, list):
            argv += [f"--{key}", *map(str, value)]
        else:
            argv += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return argv


def config_then_overrides(argv: list[str], default_config: str | None = None) -> tuple[list[str], str | None]:
    """``--config FILE``'s values as arguments, followed by the other arguments of ``argv`` (which win)."""
    argv, config = list(argv), default_config
    if "--config" in argv:
        position = argv.index("--config")
        config = argv[position + 1]
        del argv[position : position + 2]
    return (yaml_to_argv(config) if config else []) + argv, config


def parse_arguments(argv: list[str] | None = None, default_config: str | None = None):
    """``(ModelArguments, DataArguments, DetectorTrainingArguments, config)`` from ``--config FILE`` and overrides."""
    arguments, config = config_then_overrides(sys.argv[1:] if argv is None else argv, default_config)
    parser = HfArgumentParser((ModelArguments, DataArguments, DetectorTrainingArguments))
    parser.allow_abbrev = False  # a misspelt key must fail, not silently set the argument it abbreviates
    try:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=arguments)
    except ValueError as error:
        raise ValueError(f"{error}\n(config file: {config}; its keys must be argument names, see --help)") from error
    return model_args, data_args, training_args, config


@dataclass
class EvaluationArguments:
    model: str = field(metadata={"help": "Folder of a trained model (written by train.py)."})
    dataset: str = field(default="cifake", metadata={"help": "'cifake', a dataset folder name, a path or a Hub id."})
    split: str = field(default="test", metadata={"help": "Split to evaluate (an image folder has only 'test')."})
    dataset_path: str | None = field(default=None, metadata={"help": "Explicit zip or folder for the dataset."})
    label_map: str | None = field(default=None, metadata={"help": 'JSON folder/label -> real|fake, e.g. \'{"ai": "fake"}\'.'})
    output_dir: str | None = field(default=None, metadata={"help": "Results folder (default MODEL/eval/DATASET-SPLIT)."})
    batch_size: int = field(default=256, metadata={"help": "Images per forward pass."})
    max_samples: int | None = field(default=None, metadata={"help": "Debug: a seeded random subset of the split."})
    test_time_flip: bool = field(
        default=False,
        metadata={"help": "Average each image's logits with its mirror image's (for models trained with flips)."},
    )
    validation_fraction: float = field(
        default=VALIDATION_FRACTION,
        metadata={"help": "With --split validation: the share of train the run held out (train.py's)."},
    )
    split_seed: int = field(default=SPLIT_SEED, metadata={"help": "With --split validation: the run's --split_seed."})


def parse_evaluation_arguments(argv: list[str] | None = None) -> EvaluationArguments:
    (arguments,) = HfArgumentParser(EvaluationArguments).parse_args_into_dataclasses(args=argv)
    return arguments
