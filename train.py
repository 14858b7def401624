"""Train a real-vs-AI-generated image detector: ``python train.py [--config configs/X.yaml] [--key value ...]``.

Runs unchanged under ``accelerate launch --config_file configs/accelerate/...yaml train.py ...``.
Re-running the same command after a crash resumes from the last complete checkpoint in ``output_dir``.
"""

import logging
from pathlib import Path

from realfake_hf.arguments import parse_arguments
from realfake_hf.training import train_detector

DEFAULT_CONFIG = str(Path(__file__).resolve().parent / "configs" / "paper_cnn.yaml")

if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    train_detector(*parse_arguments(default_config=DEFAULT_CONFIG))
