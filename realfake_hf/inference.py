"""Batched p(fake) for a dataset split, through the same decode-once pipeline as training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoImageProcessor, AutoModelForImageClassification, PreTrainedModel

from . import models  # noqa: F401  (Auto-class registration)
from .data import collate_pixels, with_model_inputs


def load_detector(model_dir: str | Path):
    """``(model, image_processor)`` from a folder written by ``train.py`` (or any image classifier folder)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise FileNotFoundError(f"{model_dir} holds no model (no config.json); pass a folder written by train.py.")
    model = AutoModelForImageClassification.from_pretrained(model_dir)
    processor = AutoImageProcessor.from_pretrained(model_dir)
    return model.eval(), processor


def fake_index(model: PreTrainedModel) -> int:
    label2id = {label.lower(): index for label, index in model.config.label2id.items()}
    if "fake" not in label2id:
        raise ValueError(f"model labels {model.config.id2label} have no 'fake' class")
    return int(label2id["fake"])


def input_spec(processor) -> dict:
    size = processor.size
    return {"image_size": size.get("height", size.get("shortest_edge")), "mean": processor.image_mean, "std": processor.image_std}


@torch.inference_mode()
def predict_p_fake(model: PreTrainedModel, pixels: Dataset, batch_size: int = 256, desc: str = "predicting") -> np.ndarray:
    """p(fake) for every row of ``pixels`` (a dataset from ``with_model_inputs``), in row order."""
    model.eval()
    device = next(model.parameters()).device
    loader = DataLoader(pixels, batch_size=batch_size, shuffle=False, collate_fn=collate_pixels)
    column = fake_index(model)
    outputs = []
    for batch in tqdm(loader, desc=desc, unit="batch"):
        logits = model(pixel_values=batch["pixel_values"].to(device)).logits
        outputs.append(torch.softmax(logits.float(), dim=-1)[:, column].cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros(0)


def predict_split(model, processor, split: Dataset, batch_size: int = 256) -> np.ndarray:
    spec = input_spec(processor)
    pixels = with_model_inputs(split, spec["image_size"], mean=spec["mean"], std=spec["std"])
    return predict_p_fake(model, pixels, batch_size)
