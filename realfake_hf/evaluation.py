"""Evaluate a detector on a dataset split: metrics.json, predictions.csv and figures in one folder."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset

from .data import SPLIT_SEED, VALIDATION_FRACTION, load_detection_dataset
from .inference import load_detector, predict_split, run_name
from .metrics import detection_metrics
from .plots import plot_confusion_matrix, plot_reliability_diagram
from .runinfo import run_info

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"


def seeded_subset(dataset: Dataset, max_samples: int | None, seed: int = 0) -> Dataset:
    if max_samples is None or max_samples >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(max_samples))


def evaluate_split(
    model, processor, data: Dataset, output_dir: str | Path, title: str = "", batch_size: int = 256,
    test_time_flip: bool = False, **provenance
) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    p_fake = predict_split(model, processor, data, batch_size, test_time_flip)
    seconds = time.perf_counter() - start
    labels, contents = np.asarray(data["label"]), np.asarray(data["content"])
    content_names = data.features["content"].names
    metrics = detection_metrics(labels, p_fake, contents, content_names)
    pd.DataFrame(
        {
            "file_name": data["file_name"],
            "label": [data.features["label"].names[i] for i in labels],
            "content": [content_names[i] for i in contents],
            "p_fake": np.round(p_fake, 6),
        }
    ).to_csv(output_dir / PREDICTIONS_FILE, index=False)
    plot_confusion_matrix(metrics["confusion_matrix"]["rows_true_columns_predicted"], output_dir / "confusion_matrix.png", title)
    plot_reliability_diagram(labels, p_fake, output_dir / "reliability_diagram.png", title=title)
    metrics["provenance"] = run_info(
        wall_time_s=seconds, images_per_second=round(len(data) / seconds, 1) if seconds else None,
        test_time_flip=test_time_flip, **provenance,
    )
    (output_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    logger.info("%s: accuracy %.4f, ROC-AUC %s -> %s", title, metrics["accuracy"], metrics["roc_auc"], output_dir)
    return metrics


def evaluate_model(
    model: str | Path,
    dataset: str = "cifake",
    split: str = "test",
    output_dir: str | Path | None = None,
    dataset_path: str | None = None,
    label_map: str | None = None,
    batch_size: int = 256,
    max_samples: int | None = None,
    test_time_flip: bool = False,
    validation_fraction: float = VALIDATION_FRACTION,
    split_seed: int = SPLIT_SEED,
) -> dict:
    """Evaluate the model folder ``model``; results go to ``output_dir`` (default ``MODEL/eval/DATASET-SPLIT``,
    ``...-flip`` with ``test_time_flip``)."""
    detector, processor = load_detector(model)
    splits = load_detection_dataset(dataset, dataset_path, validation_fraction, split_seed, label_map=label_map)
    if split not in splits:
        raise KeyError(f"{dataset} has no split '{split}'; it has {list(splits)}")
    data = seeded_subset(splits[split], max_samples)
    name = Path(dataset).name
    flip = "-flip" if test_time_flip else ""
    output_dir = Path(output_dir) if output_dir else Path(model) / "eval" / f"{name}-{split}{flip}"
    title = f"{run_name(model)} on {name} {split}{', flip-averaged' if test_time_flip else ''}"
    return evaluate_split(
        detector, processor, data, output_dir, title=title, batch_size=batch_size, test_time_flip=test_time_flip,
        model_dir=str(model), dataset=dataset, dataset_split=split, max_samples=max_samples,
        **({"validation_fraction": validation_fraction, "split_seed": split_seed} if split == "validation" else {}),
    )
