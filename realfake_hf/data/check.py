"""Data report: counts per split x label x content, unreadable files, sizes and modes, exact duplicates."""

from __future__ import annotations

import pandas as pd
from datasets import DatasetDict

from .importer import import_report


def _frame(dataset) -> pd.DataFrame:
    columns = dataset.select_columns(["label", "content", "pixel_sha1", "width", "height", "mode"]).to_pandas()
    columns["label"] = columns["label"].map(dict(enumerate(dataset.features["label"].names)))
    columns["content"] = columns["content"].map(dict(enumerate(dataset.features["content"].names)))
    return columns


def duplicate_summary(frame: pd.DataFrame) -> dict:
    """Exact duplicates (same decoded pixels) within one split."""
    groups = frame.groupby("pixel_sha1")
    sizes = groups.size()
    repeated = sizes[sizes > 1]
    labels_per_group = groups["label"].nunique()
    return {
        "images": int(len(frame)),
        "duplicate_groups": int(len(repeated)),
        "images_in_duplicate_groups": int(repeated.sum()),
        "redundant_copies": int((repeated - 1).sum()),
        "groups_with_conflicting_labels": int((labels_per_group > 1).sum()),
        "redundant_copies_by_label": {
            label: int((part.groupby("pixel_sha1").size() - 1).clip(lower=0).sum())
            for label, part in frame.groupby("label")
        },
    }


def cross_split_duplicates(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    shared = set(train["pixel_sha1"]) & set(test["pixel_sha1"])
    leaked = test[test["pixel_sha1"].isin(shared)]
    train_labels = train.drop_duplicates("pixel_sha1").set_index("pixel_sha1")["label"]
    conflicting = (leaked["label"] != leaked["pixel_sha1"].map(train_labels)).sum()
    return {
        "distinct_images_in_both": len(shared),
        "test_images_also_in_train": int(len(leaked)),
        "test_images_also_in_train_by_label": {k: int(v) for k, v in leaked["label"].value_counts().items()},
        "of_which_labelled_differently_in_train": int(conflicting),
    }


def check_dataset(dataset: DatasetDict) -> dict:
    frames = {split: _frame(data) for split, data in dataset.items()}
    report = {"splits": {}}
    for split, frame in frames.items():
        imported = import_report(dataset[split]).get(split, {})
        report["splits"][split] = {
            "counts": pd.crosstab(frame["content"], frame["label"]).to_dict(),
            "label_counts": frame["label"].value_counts().to_dict(),
            "files": imported.get("n_files"),
            "unreadable_files_skipped": imported.get("skipped", []),
            "sizes": (frame["width"].astype(str) + "x" + frame["height"].astype(str)).value_counts().to_dict(),
            "modes": frame["mode"].value_counts().to_dict(),
            "duplicates": duplicate_summary(frame),
        }
    if "train" in frames and "test" in frames:
        report["train_vs_test"] = cross_split_duplicates(frames["train"], frames["test"])
    return report


def format_report(name: str, report: dict) -> str:
    lines = [f"# Data check: {name}"]
    for split, part in report["splits"].items():
        counts = pd.DataFrame(part["counts"]).fillna(0).astype(int)
        counts.loc["total"] = counts.sum()
        skipped = part["unreadable_files_skipped"]
        duplicates = part["duplicates"]
        lines += [
            f"\n## {split}: {sum(part['label_counts'].values())} images from {part['files']} files",
            counts.to_string(),
            f"unreadable files skipped: {len(skipped)}"
            + "".join(f"\n  {item['file']}: {item['reason']}" for item in skipped[:20]),
            f"sizes: {part['sizes']}",
            f"modes: {part['modes']}",
            f"exact duplicates: {duplicates['duplicate_groups']} groups, {duplicates['redundant_copies']} redundant "
            f"copies (by label: {duplicates['redundant_copies_by_label']}), "
            f"{duplicates['groups_with_conflicting_labels']} groups with both labels",
        ]
    if "train_vs_test" in report:
        cross = report["train_vs_test"]
        lines += [
            "\n## train vs test",
            f"test images whose exact pixels are also in train: {cross['test_images_also_in_train']} "
            f"(by label: {cross['test_images_also_in_train_by_label']}; "
            f"{cross['of_which_labelled_differently_in_train']} labelled differently in train)",
        ]
    return "\n".join(lines)
