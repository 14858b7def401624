"""``python -m realfake_hf.robustness --models DIR [DIR ...] [--output_dir results/robustness --max_samples 2000
--attack_samples 500]``: perturbation and attack report (see ``realfake_hf.robustness.report``)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from .attacks import PGD_STEPS
from .report import robustness_report


@dataclass
class RobustnessArguments:
    models: list[str] = field(metadata={"help": "Model folders written by train.py (e.g. results/paper_cnn/model)."})
    output_dir: str = field(default="results/robustness", metadata={"help": "Where the JSON files and figures go."})
    dataset: str = field(default="cifake", metadata={"help": "'cifake', a dataset folder name, a path or a Hub id."})
    split: str = field(default="test", metadata={"help": "Split to test on."})
    dataset_path: str | None = field(default=None, metadata={"help": "Explicit zip or folder for the dataset."})
    max_samples: int = field(
        default=2000, metadata={"help": "Perturbations: stratified seeded subset size; 0 = the whole split."})
    attack_samples: int = field(
        default=500, metadata={"help": "Attacks: stratified seeded subset size; 0 = no attacks."})
    batch_size: int = field(default=256, metadata={"help": "Images per forward pass (and per attack batch)."})
    pgd_steps: int = field(default=PGD_STEPS, metadata={"help": "PGD iterations."})
    n_examples: int = field(default=6, metadata={"help": "Adversarial examples shown per model."})
    seed: int = field(default=0, metadata={"help": "Seed of the subsets, the random perturbations and PGD's start."})


def main(argv: list[str] | None = None) -> None:
    parser = HfArgumentParser(RobustnessArguments, prog="python -m realfake_hf.robustness", description=__doc__)
    parser.allow_abbrev = False  # a misspelt option must fail, not silently set the one it abbreviates
    (arguments,) = parser.parse_args_into_dataclasses(args=argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    robustness_report(**dataclasses.asdict(arguments))


if __name__ == "__main__":
    main()
