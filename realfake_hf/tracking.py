"""Weights & Biases, offline by default: this project must run without a network."""

from __future__ import annotations

import os
from pathlib import Path


def offline_wandb_defaults(directory: str | Path) -> None:
    """Run files go under ``directory``; ``wandb sync DIRECTORY/wandb/offline-run-*`` uploads them later.
    Set WANDB_MODE=online (or any WANDB_* variable) beforehand to override."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_DIR", str(directory))
    os.environ.setdefault("WANDB_PROJECT", "realfake-hf")
    os.environ.setdefault("WANDB_SILENT", "true")
    Path(directory).mkdir(parents=True, exist_ok=True)
