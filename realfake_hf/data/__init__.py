"""Real/fake image datasets as ``datasets.DatasetDict`` (Arrow, cached), and their model-input pipeline.

Columns of every split: ``image`` (Image), ``label`` (ClassLabel ``["real", "fake"]``, fake = 1 = positive),
``content`` (ClassLabel), ``file_name``, ``pixel_sha1`` (hash of the decoded pixels), ``width``, ``height``,
``mode`` (the file's original size and Pillow mode).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import DatasetDict

from .cifake import CIFAR10_CLASSES, SPLIT_SEED, VALIDATION_FRACTION, import_cifake, stratified_validation_split
from .imagefolder import import_imagefolder
from .importer import LABEL_NAMES, DataError, import_report
from .locate import DataNotFoundError, locate_dataset
from .pipeline import PixelTransform, collate_pixels, with_model_inputs

logger = logging.getLogger(__name__)

__all__ = [
    "CIFAR10_CLASSES", "LABEL_NAMES", "SPLIT_SEED", "VALIDATION_FRACTION", "DataError", "DataNotFoundError",
    "PixelTransform", "collate_pixels", "drop_duplicate_images", "import_dataset", "import_report",
    "load_detection_dataset", "with_model_inputs",
]


def _looks_like_hub_id(name: str) -> bool:
    return name.count("/") == 1 and not Path(name).exists()


def drop_duplicate_images(train, test):
    """Rows of ``train`` minus exact repeats (first kept) and minus any image that is also in ``test``."""
    hashes = pd.Series(train["pixel_sha1"])
    leaked = hashes.isin(set(test["pixel_sha1"]))
    repeated = hashes.duplicated(keep="first")
    keep = np.flatnonzero(~(leaked | repeated).to_numpy())
    logger.info(
        "drop_duplicates: removed %d images also in test and %d repeats from %d training images",
        int(leaked.sum()), int((repeated & ~leaked).sum()), len(train),
    )
    return train.select(keep)


def import_dataset(
    name: str = "cifake", path: str | None = None, strict: bool = False, label_map: dict | str | None = None
) -> DatasetDict:
    """The dataset's own splits as published (CIFAKE: train and test; an image folder: test), cached."""
    if path is None and _looks_like_hub_id(name):
        from .hub import load_hub_dataset

        return load_hub_dataset(name, label_map)
    location = locate_dataset(name, path)
    if name == "cifake" or location.suffix == ".zip" or (location / "train").is_dir():
        return import_cifake(location, strict=strict)
    return import_imagefolder(location, label_map=label_map, strict=strict)


def load_detection_dataset(
    name: str = "cifake",
    path: str | None = None,
    validation_fraction: float = VALIDATION_FRACTION,
    seed: int = SPLIT_SEED,
    drop_duplicates: bool = False,
    strict: bool = False,
    label_map: dict | str | None = None,
) -> DatasetDict:
    """CIFAKE (train/validation/test), any local real/fake image folder (test), or a Hub dataset id.

    ``validation`` is carved from ``train`` (stratified by label x content, ``seed``), so ``test`` stays the
    untouched official split. ``drop_duplicates`` removes repeated images and test-leaked images from
    train before the carve.
    """
    dataset = import_dataset(name, path, strict, label_map)
    if "train" in dataset and "validation" not in dataset:
        train = dataset["train"]
        if drop_duplicates and "test" in dataset:
            train = drop_duplicate_images(train, dataset["test"])
        dataset["train"], dataset["validation"] = stratified_validation_split(train, validation_fraction, seed)
    return dataset
