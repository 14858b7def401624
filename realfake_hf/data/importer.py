"""Import image files into cached Arrow datasets, streaming, with every unreadable file skipped and reported.

``datasets`` has no loader that both validates each image (catching truncated files at import, not mid-epoch)
and reports what it skipped, and ``imagefolder`` cannot read labels out of CIFAKE's zip (huggingface/datasets
PR 8419), so the files are written with ``datasets.arrow_writer.ArrowWriter`` here and reloaded with
``Dataset.from_file`` (memory-mapped, so a cached load takes well under a second).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, Value
from datasets.arrow_writer import ArrowWriter
from tqdm.auto import tqdm

from .images import ImageDecodeError, decode_image
from .locate import cache_root

logger = logging.getLogger(__name__)

LABEL_NAMES = ["real", "fake"]  # fake = 1 = the positive class in every metric
IMPORTER_VERSION = "1"
REPORT_FILE = "import_report.json"


class DataError(ValueError):
    """Input data that cannot be used as it is; the message names the file and what to do."""


@dataclass(frozen=True)
class ImageRecord:
    file_name: str
    label: str
    content: str
    read_bytes: Callable[[], bytes]


@dataclass
class ImportReport:
    source: str
    split: str
    n_files: int = 0
    n_imported: int = 0
    skipped: list[dict] = field(default_factory=list)
    modes: Counter = field(default_factory=Counter)
    sizes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "split": self.split,
            "n_files": self.n_files,
            "n_imported": self.n_imported,
            "n_skipped": len(self.skipped),
            "skipped": self.skipped,
            "modes": dict(self.modes),
            "sizes": {f"{w}x{h}": n for (w, h), n in self.sizes.most_common()},
        }


def detection_features(content_names: list[str]) -> Features:
    return Features(
        {
            "image": Image(),
            "label": ClassLabel(names=LABEL_NAMES),
            "content": ClassLabel(names=content_names),
            "file_name": Value("string"),
            "pixel_sha1": Value("string"),
            "width": Value("int32"),
            "height": Value("int32"),
            "mode": Value("string"),
        }
    )


def _examples(records: Iterable[ImageRecord], report: ImportReport, strict: bool) -> Iterator[dict]:
    for record in records:
        report.n_files += 1
        try:
            data = record.read_bytes()
            decoded = decode_image(data, record.file_name)
        except (ImageDecodeError, OSError) as error:
            if strict:
                raise DataError(
                    f"{error}\nRemove or replace this file, or import without strict mode to skip it."
                ) from error
            report.skipped.append({"file": record.file_name, "reason": str(error)})
            if len(report.skipped) <= 20:
                logger.warning("skipped %s", error)
            continue
        report.n_imported += 1
        report.modes[decoded.mode] += 1
        report.sizes[(decoded.width, decoded.height)] += 1
        yield {
            "image": {"bytes": data, "path": None},
            "label": LABEL_NAMES.index(record.label),
            "content": record.content,
            "file_name": record.file_name,
            "pixel_sha1": decoded.pixel_sha1,
            "width": decoded.width,
            "height": decoded.height,
            "mode": decoded.mode,
        }


def write_split(
    records: list[ImageRecord], features: Features, path: Path, report: ImportReport, strict: bool
) -> None:
    content_names = features["content"].names
    with ArrowWriter(features=features, path=str(path), writer_batch_size=1000) as writer:
        progress = tqdm(records, desc=f"importing {report.source} {report.split}", unit="img", mininterval=2)
        for example in _examples(progress, report, strict):
            example["content"] = content_names.index(example["content"])
            writer.write(example)
        writer.finalize()
    if report.skipped:
        logger.warning(
            "%s %s: skipped %d of %d files (listed in %s)",
            report.source, report.split, len(report.skipped), report.n_files, REPORT_FILE,
        )


def cache_key(*parts: object) -> str:
    return hashlib.sha1(json.dumps([IMPORTER_VERSION, *parts], sort_keys=True, default=str).encode()).hexdigest()[:16]


def import_splits(
    name: str,
    key: str,
    splits: dict[str, list[ImageRecord]],
    content_names: list[str],
    strict: bool = False,
) -> DatasetDict:
    """Import ``splits`` once into ``cache_root()/name-key``; later calls load the cached Arrow files."""
    target = cache_root() / f"{name}-{key}"
    if not (target / REPORT_FILE).exists():
        features = detection_features(content_names)
        # Written beside the target and renamed at the end, so a killed import never leaves a half cache.
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        try:
            reports = {}
            for split, records in splits.items():
                if not records:
                    raise DataError(f"{name}: split '{split}' has no image files.")
                reports[split] = ImportReport(source=name, split=split)
                write_split(records, features, staging / f"{split}.arrow", reports[split], strict)
                if reports[split].n_imported == 0:
                    raise DataError(
                        f"{name}: none of the {reports[split].n_files} files of split '{split}' could be read; "
                        f"first problem: {reports[split].skipped[0]['reason']}"
                    )
            (staging / REPORT_FILE).write_text(json.dumps({s: r.as_dict() for s, r in reports.items()}, indent=1))
            if target.exists() and not (target / REPORT_FILE).exists():
                shutil.rmtree(target)  # left by hand or by an older version: never by a finished import
            try:
                os.replace(staging, target)
            except OSError:
                if not (target / REPORT_FILE).exists():
                    raise  # otherwise another process finished the same import first: use its files
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return DatasetDict({split: Dataset.from_file(str(target / f"{split}.arrow")) for split in splits})


def import_report(dataset: Dataset) -> dict:
    """The import report stored beside ``dataset``'s cache (per split: skipped files, modes, sizes);
    empty for datasets this project did not import (a Hub dataset, an in-memory one)."""
    if not dataset.cache_files:
        return {}
    report = Path(dataset.cache_files[0]["filename"]).parent / REPORT_FILE
    return json.loads(report.read_text()) if report.exists() else {}
