"""Any folder of real and AI-generated images, such as ``real-or-ai``, as one ``test`` split.

Labels come from a ``metadata.csv`` column (Hugging Face ``imagefolder`` form: ``file_name`` plus columns) or,
without one, from folder names. Either way the raw label goes through ``label_map`` (case-insensitive), so
``ai``, ``fake``, ``FAKE`` or ``generated`` all become ``fake``. ``content`` is the metadata column or the top
folder when the label folder sits below it (``<content>/<label>/file``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from datasets import DatasetDict

from .importer import LABEL_NAMES, DataError, ImageRecord, cache_key, import_splits

DEFAULT_LABEL_MAP = {
    "real": "real", "photo": "real", "photos": "real", "natural": "real", "nature_real": "real", "0_real": "real",
    "fake": "fake", "ai": "fake", "generated": "fake", "synthetic": "fake", "1_fake": "fake",
}
UNKNOWN_CONTENT = "unknown"


def normalise_label_map(label_map: dict[str, str] | str | None) -> dict[str, str]:
    """``label_map`` may be a dict or its JSON text (as given on a command line); keys match case-insensitively."""
    if isinstance(label_map, str):
        label_map = json.loads(label_map)
    merged = {**DEFAULT_LABEL_MAP, **(label_map or {})}
    bad = {key: value for key, value in merged.items() if value not in LABEL_NAMES}
    if bad:
        raise DataError(f"label_map values must be 'real' or 'fake'; got {bad}")
    return {key.lower(): value for key, value in merged.items()}


def map_label(raw: str, label_map: dict[str, str], where: str) -> str:
    label = label_map.get(str(raw).strip().lower())
    if label is None:
        raise DataError(
            f"{where}: label '{raw}' maps to neither real nor fake. Add it to the label map, e.g. "
            f"--label_map '{{\"{raw}\": \"fake\"}}'. Known: {sorted(label_map)}"
        )
    return label


def _records_from_metadata(root: Path, metadata: Path, label_map, label_column: str, content_column: str):
    with metadata.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise DataError(f"{metadata} has no rows.")
    for column in ("file_name", label_column):
        if column not in rows[0]:
            raise DataError(f"{metadata}: no '{column}' column (columns: {list(rows[0])}).")
    records = []
    for line, row in enumerate(rows, start=2):
        file = root / row["file_name"]
        label = map_label(row[label_column], label_map, f"{metadata}:{line}")
        content = row.get(content_column) or UNKNOWN_CONTENT
        records.append(ImageRecord(row["file_name"], label, content, file.read_bytes))
    return records


def _records_from_folders(root: Path, label_map: dict[str, str]):
    records = []
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if file.is_dir() or any(part.startswith(".") for part in relative.parts):
            continue
        folders = relative.parts[:-1]
        if not folders:
            raise DataError(
                f"{file}: images must sit in a label folder (<label>/file or <content>/<label>/file), "
                "or the folder needs a metadata.csv with file_name and label columns."
            )
        label_folder = folders[-1]
        label = map_label(label_folder, label_map, f"{root / Path(*folders)} (folder)")
        content = folders[-2] if len(folders) >= 2 else UNKNOWN_CONTENT
        records.append(ImageRecord(relative.as_posix(), label, content, file.read_bytes))
    return records


def _file_signature(file: Path) -> tuple[int, int] | None:
    """Size and mtime, so an edited file invalidates the cache; a missing one is reported at import."""
    if not file.exists():
        return None
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def import_imagefolder(
    root: Path,
    label_map: dict[str, str] | str | None = None,
    label_column: str = "label",
    content_column: str = "content",
    strict: bool = False,
) -> DatasetDict:
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of images.")
    mapping = normalise_label_map(label_map)
    metadata = root / "metadata.csv"
    if metadata.exists():
        records = _records_from_metadata(root, metadata, mapping, label_column, content_column)
    else:
        records = _records_from_folders(root, mapping)
    if not records:
        raise DataError(f"{root}: no image files found (expected <label>/file, <content>/<label>/file or metadata.csv).")
    fingerprint = [(r.file_name, r.label, r.content, _file_signature(root / r.file_name)) for r in records]
    contents = sorted({r.content for r in records})
    return import_splits(root.name or "imagefolder", cache_key(str(root), fingerprint), {"test": records}, contents, strict)
