"""A real/fake dataset from the Hugging Face Hub, brought to this project's columns.

Only ``load_dataset`` needs the network; ``to_detection_layout`` (tested offline) does the conversion: labels
through the label map, every image decoded once (hash, size, mode), ``content`` kept or set to 'unknown'.
"""

from __future__ import annotations

from pathlib import Path

from datasets import ClassLabel, DatasetDict, Image, load_dataset

from .images import decode_image
from .imagefolder import UNKNOWN_CONTENT, map_label, normalise_label_map
from .importer import LABEL_NAMES


def _describe(example: dict, index: int, label_names: list[str] | None, label_map: dict[str, str], source: str) -> dict:
    raw_label = label_names[example["label"]] if label_names else example["label"]
    image = example["image"]
    name = image.get("path") or f"row-{index:06d}"
    data = image["bytes"] if image["bytes"] is not None else Path(image["path"]).read_bytes()
    decoded = decode_image(data, f"{source}: {name}")
    return {
        "label": LABEL_NAMES.index(map_label(raw_label, label_map, f"{source} row {index}")),
        "file_name": name,
        "pixel_sha1": decoded.pixel_sha1,
        "width": decoded.width,
        "height": decoded.height,
        "mode": decoded.mode,
    }


def to_detection_layout(raw: DatasetDict, source: str, label_map=None) -> DatasetDict:
    """``raw`` needs an ``image`` and a ``label`` column (ClassLabel or strings such as 'REAL'/'FAKE')."""
    mapping = normalise_label_map(label_map)
    converted = {}
    for split, dataset in raw.items():
        label_feature = dataset.features["label"]
        label_names = label_feature.names if isinstance(label_feature, ClassLabel) else None
        dataset = dataset.cast_column("image", Image(decode=False)).map(
            _describe, with_indices=True, remove_columns=["label"], desc=f"checking {source} {split}",
            fn_kwargs={"label_names": label_names, "label_map": mapping, "source": source},
        )
        dataset = dataset.cast_column("label", ClassLabel(names=LABEL_NAMES)).cast_column("image", Image())
        if "content" not in dataset.column_names:
            dataset = dataset.add_column("content", [UNKNOWN_CONTENT] * len(dataset))
        if not isinstance(dataset.features["content"], ClassLabel):
            dataset = dataset.class_encode_column("content")
        converted[split] = dataset
    return DatasetDict(converted)


def load_hub_dataset(dataset_id: str, label_map=None) -> DatasetDict:
    return to_detection_layout(load_dataset(dataset_id), dataset_id, label_map)
