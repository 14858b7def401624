"""Batched p(fake) for a dataset split, through the same decode-once pipeline as training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from PIL import Image
from scipy.special import softmax
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoImageProcessor, AutoModelForImageClassification, PreTrainedModel
from transformers.utils import IMAGE_PROCESSOR_NAME

from . import models  # noqa: F401  (Auto-class registration)
from .data import collate_pixels, with_model_inputs
from .data.images import resize_to_square


def load_detector(model_dir: str | Path):
    """``(model, image_processor)`` from a folder written by ``train.py`` (or any image classifier folder)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise FileNotFoundError(f"{model_dir} holds no model (no config.json); pass a folder written by train.py.")
    model = AutoModelForImageClassification.from_pretrained(model_dir)
    # Named explicitly when present: for a timm folder AutoImageProcessor would otherwise build its processor from
    # config.json's pretrained_cfg and ignore the processor train.py saved.
    saved = {"image_processor_filename": IMAGE_PROCESSOR_NAME} if (model_dir / IMAGE_PROCESSOR_NAME).exists() else {}
    processor = AutoImageProcessor.from_pretrained(model_dir, **saved)
    return model.eval(), processor


def run_folder(model_dir: str | Path) -> Path:
    """The run a model folder belongs to: ``results/paper_cnn`` for ``results/paper_cnn/model``, else the folder."""
    path = Path(model_dir)
    return path.parent if path.name == "model" else path


def run_name(model_dir: str | Path) -> str:
    """The run's name (``results/paper_cnn/model`` -> paper_cnn)."""
    return run_folder(model_dir).name


def fake_index(model: PreTrainedModel) -> int:
    label2id = {label.lower(): index for label, index in model.config.label2id.items()}
    if "fake" not in label2id:
        raise ValueError(f"model labels {model.config.id2label} have no 'fake' class")
    return int(label2id["fake"])


def input_spec(processor) -> dict:
    size = processor.size
    return {"image_size": size.get("height", size.get("shortest_edge")), "mean": processor.image_mean, "std": processor.image_std}


def pixels_from_rgb(rgb: Image.Image, spec: dict) -> torch.Tensor:
    """One RGB picture -> a (1, 3, S, S) normalised model input (the same conversion as ``with_model_inputs``)."""
    array = np.asarray(resize_to_square(rgb, spec["image_size"]), dtype=np.float32) / 255.0
    mean, std = np.asarray(spec["mean"], dtype=np.float32), np.asarray(spec["std"], dtype=np.float32)
    return torch.from_numpy(((array - mean) / std).transpose(2, 0, 1)).unsqueeze(0)


def _logits(model: PreTrainedModel, pixel_values: torch.Tensor, test_time_flip: bool) -> torch.Tensor:
    logits = model(pixel_values=pixel_values).logits.float()
    if not test_time_flip:
        return logits
    # Logits averaged as cross_dataset.policy_logits averages a policy's views. Written here: the TTA wrappers
    # (ttach, last released in 2020; pytorch-toolbelt) call model(tensor) and expect a tensor back, while a
    # transformers model takes pixel_values= and returns an output object.
    return (logits + model(pixel_values=pixel_values.flip(-1)).logits.float()) / 2


@torch.inference_mode()
def predict_logits(
    model: PreTrainedModel, pixels: Dataset, batch_size: int = 256, desc: str = "predicting",
    test_time_flip: bool = False,
) -> np.ndarray:
    """(N, classes) logits for every row of ``pixels`` (a dataset from ``with_model_inputs``), in row order; with
    ``test_time_flip``, the mean of the logits of each image and of its mirror image."""
    model.eval()
    device = next(model.parameters()).device
    loader = DataLoader(pixels, batch_size=batch_size, shuffle=False, collate_fn=collate_pixels)
    outputs = [
        _logits(model, batch["pixel_values"].to(device), test_time_flip).cpu().numpy()
        for batch in tqdm(loader, desc=desc, unit="batch")
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, model.config.num_labels), dtype=np.float32)


def p_fake_from_logits(model: PreTrainedModel, logits: np.ndarray) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64), axis=-1)[:, fake_index(model)]


def predict_p_fake(model: PreTrainedModel, pixels: Dataset, batch_size: int = 256, desc: str = "predicting") -> np.ndarray:
    """p(fake) for every row of ``pixels`` (a dataset from ``with_model_inputs``), in row order."""
    return p_fake_from_logits(model, predict_logits(model, pixels, batch_size, desc))


def split_logits(
    model, processor, split: Dataset, batch_size: int = 256, desc: str = "predicting", test_time_flip: bool = False
) -> np.ndarray:
    spec = input_spec(processor)
    pixels = with_model_inputs(split, spec["image_size"], mean=spec["mean"], std=spec["std"])
    return predict_logits(model, pixels, batch_size, desc, test_time_flip)


def predict_split(model, processor, split: Dataset, batch_size: int = 256, test_time_flip: bool = False) -> np.ndarray:
    return p_fake_from_logits(model, split_logits(model, processor, split, batch_size, test_time_flip=test_time_flip))
