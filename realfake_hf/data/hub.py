"""A real/fake dataset from the Hugging Face Hub, brought to this project's columns.

Needs the network, so no test runs it here; the columns it produces are those of ``importer.detection_features``.
"""

from __future__ import annotations

from datasets import ClassLabel, DatasetDict, Image, load_dataset

from .images import decode_image
from .imagefolder import UNKNOWN_CONTENT, normalise_label_map
from .importer import LABEL_NAMES


def _describe(example: dict, index: int, label_names: list[str] | None, label_map: dict[str, str]) -> dict:
    raw_label = label_names[example["label"]] if label_names else example["label"]
    decoded = decode_image(example["image"]["bytes"], f"row {index}")
    return {
        "label": LABEL_NAMES.index(label_map[str(raw_label).lower()]),
        "file_name": example["image"].get("path") or f"row-{index:06d}",
        "pixel_sha1": decoded.pixel_sha1,
        "width": decoded.width,
        "height": decoded.height,
        "mode": decoded.mode,
    }


def load_hub_dataset(dataset_id: str, label_map=None) -> DatasetDict:
    raw = load_dataset(dataset_id)
    mapping = normalise_label_map(label_map)
    converted = {}
    for split, dataset in raw.items():
        label_feature = dataset.features["label"]
        label_names = label_feature.names if isinstance(label_feature, ClassLabel) else None
        dataset = dataset.cast_column("image", Image(decode=False))
        dataset = dataset.map(
            _describe, with_indices=True, fn_kwargs={"label_names": label_names, "label_map": mapping},
            remove_columns=["label"], desc=f"checking {dataset_id} {split}",
        )
        dataset = dataset.cast_column("label", ClassLabel(names=LABEL_NAMES)).cast_column("image", Image())
        if "content" not in dataset.column_names:
            dataset = dataset.add_column("content", [UNKNOWN_CONTENT] * len(dataset))
        converted[split] = dataset.class_encode_column("content") if dataset.features["content"].dtype == "string" else dataset
    return DatasetDict(converted)
