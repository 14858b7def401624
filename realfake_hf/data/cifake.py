"""CIFAKE (Bird & Lotfi 2024) from Kaggle's layout: the downloaded ``archive.zip`` or its extracted folder."""

from __future__ import annotations

import re
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict
from sklearn.model_selection import train_test_split

from .importer import DataError, ImageRecord, cache_key, import_splits

CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]
KAGGLE_LABELS = {"REAL": "real", "FAKE": "fake"}
# The validation carve's defaults, one place for all: training and every later evaluation of its validation split
# must carve the same images, or "validation" would include images the model trained on.
VALIDATION_FRACTION = 0.1
SPLIT_SEED = 42
_MEMBER = re.compile(r"^(?:.*/)?(train|test)/(REAL|FAKE)/([^/]+)$")
_CLASS_SUFFIX = re.compile(r"\((\d+)\)$")


def content_from_file_name(file_name: str) -> str:
    """CIFAKE names encode the CIFAR-10 class 1-based in brackets: ``12 (3).jpg`` is a bird; no bracket = 1."""
    stem = Path(file_name).stem.strip()
    match = _CLASS_SUFFIX.search(stem)
    number = int(match.group(1)) if match else 1
    if not 1 <= number <= len(CIFAR10_CLASSES):
        raise DataError(
            f"{file_name}: class number ({number}) in the file name is not 1-10; CIFAKE names files "
            "'N.jpg' or 'N (C).jpg' with C the 1-based CIFAR-10 class. Rename or remove the file."
        )
    return CIFAR10_CLASSES[number - 1]


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    return archive.read(member)


def _records_from_zip(path: Path) -> tuple[dict[str, list[ImageRecord]], list[tuple]]:
    archive = zipfile.ZipFile(path)
    splits: dict[str, list[ImageRecord]] = {"train": [], "test": []}
    # Keyed on what the zip holds (each member's CRC-32, read from its directory without decompressing), not on
    # its path or mtime: a copied, moved or re-mounted archive reuses the cache (each re-import left up to 4 GB of
    # Arrow behind with its decoded-image caches), and an edited member still invalidates it.
    fingerprint = []
    for info in archive.infolist():
        match = _MEMBER.match(info.filename)
        if info.is_dir() or not match or match.group(3).startswith("."):
            continue
        split, folder, base = match.groups()
        name = f"{split}/{folder}/{base}"
        fingerprint.append((name, info.CRC, info.file_size))
        splits[split].append(
            ImageRecord(name, KAGGLE_LABELS[folder], content_from_file_name(base), partial(_read_member, archive, info.filename))
        )
    return splits, fingerprint


def _records_from_folder(root: Path) -> tuple[dict[str, list[ImageRecord]], tuple]:
    splits: dict[str, list[ImageRecord]] = {"train": [], "test": []}
    fingerprint = []
    for split in splits:
        for folder, label in KAGGLE_LABELS.items():
            for file in sorted((root / split / folder).glob("*")):
                if file.is_dir() or file.name.startswith("."):
                    continue
                name = f"{split}/{folder}/{file.name}"
                stat = file.stat()
                fingerprint.append((name, stat.st_size, stat.st_mtime_ns))
                splits[split].append(ImageRecord(name, label, content_from_file_name(file.name), file.read_bytes))
    return splits, (str(root), fingerprint)


def find_kaggle_source(path: Path) -> Path:
    """``path`` itself (a zip or a folder with train/ and test/), or the ``archive.zip`` inside it."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path} is not a zip file; expected Kaggle's CIFAKE archive.zip or its extracted folder.")
        return path
    if (path / "train").is_dir() and (path / "test").is_dir():
        return path
    zips = sorted(path.glob("*.zip"))
    if len(zips) == 1:
        return zips[0]
    raise DataError(
        f"{path}: no CIFAKE found here; expected Kaggle's archive.zip or the folders train/{{REAL,FAKE}} and "
        f"test/{{REAL,FAKE}} (found {len(zips)} zip files)."
    )


def import_cifake(path: Path, strict: bool = False) -> DatasetDict:
    """The official train (100k) and test (20k) splits as Arrow, imported once and cached."""
    source = find_kaggle_source(path)
    splits, fingerprint = _records_from_zip(source) if source.is_file() else _records_from_folder(source)
    for split, records in splits.items():
        if not records:
            raise DataError(f"{source}: no images under {split}/REAL or {split}/FAKE; is this Kaggle's CIFAKE layout?")
    return import_splits("cifake", cache_key(fingerprint), splits, CIFAR10_CLASSES, strict=strict)


def stratified_validation_split(train: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Carve a validation set from ``train``, stratified by label x content, reproducible by ``seed``."""
    strata = np.asarray(train["label"]) * 1000 + np.asarray(train["content"])
    keep, held_out = train_test_split(np.arange(len(train)), test_size=fraction, stratify=strata, random_state=seed)
    return train.select(np.sort(keep)), train.select(np.sort(held_out))
