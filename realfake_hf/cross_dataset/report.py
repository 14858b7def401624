"""Test a CIFAKE-trained detector on another real/AI image set: preprocessing policies side by side, metrics
overall and per content with bootstrap intervals, the CIFAKE-validation threshold against the best threshold
on the new set, overlapping vs non-overlapping content (bias vs limitation), temperature scaling and the
abstain band on both datasets, and galleries of the most confident errors with their explanation maps.

Writes ``OUTPUT_DIR/cross_dataset.json``, ``predictions.csv`` and PNGs; ``write_comparison`` joins the
reports of several models into ``README.md`` and ``comparison.png`` one folder up.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from tqdm.auto import tqdm

from ..calibration import fit_temperature, p_fake_at_temperature
from ..data import load_detection_dataset
from ..data.images import PREPROCESSING_POLICIES, policy_views, to_rgb
from ..evaluation import seeded_subset
from ..explain import EXPLAINERS, methods_for
from ..explain.plots import plot_gallery
from ..inference import (
    fake_index, input_spec, load_detector, p_fake_from_logits, pixels_from_rgb, run_name, split_logits,
)
from ..metrics import detection_metrics
from ..plots import plot_reliability_diagram
from ..runinfo import run_info
from .analysis import (
    best_accuracy_threshold,
    calibration_effect,
    decisions_at,
    most_confident_errors,
    overlap_metrics,
    real_flagged_as_fake,
    to_class_indices,
    validate_content_map,
)
from .plots import plot_confidence_histograms, plot_model_comparison, plot_per_content, plot_policies

logger = logging.getLogger(__name__)

REPORT_FILE = "cross_dataset.json"


@torch.inference_mode()
def policy_logits(model, spec: dict, data: Dataset, policy: str, batch_size: int = 32) -> np.ndarray:
    """Logits per image under a preprocessing policy; a policy with several views averages their logits."""
    model.eval()
    rows = []
    for start in tqdm(range(0, len(data), batch_size), desc=f"scoring ({policy})", unit="batch"):
        views = [policy_views(to_rgb(image), policy) for image in data[start : start + batch_size]["image"]]
        pixels = torch.cat([pixels_from_rgb(view, spec) for image_views in views for view in image_views])
        logits = model(pixel_values=pixels).logits.float().numpy()
        rows += [chunk.mean(axis=0) for chunk in np.split(logits, np.cumsum([len(v) for v in views])[:-1])]
    return np.stack(rows)


def _gallery_items(model, spec, data: Dataset, indices: list[int], p_fake: np.ndarray, target: int, methods):
    items = []
    content_names = data.features["content"].names
    for index in indices:
        row = data[index]
        pixels = pixels_from_rgb(to_rgb(row["image"]), spec)
        maps = {method: EXPLAINERS[method](model, pixels, target)[0] for method in methods}
        caption = f"{Path(row['file_name']).name} ({content_names[row['content']]})"
        items.append({"image": row["image"], "original": row["image"], "p_fake": float(p_fake[index]),
                      "maps": maps, "caption": caption})
    return items


def cross_dataset_report(
    model_dir: str | Path,
    output_dir: str | Path,
    dataset: str = "real-or-ai",
    dataset_path: str | None = None,
    label_map: dict | str | None = None,
    content_map: dict[str, str | None] | None = None,
    policies: tuple[str, ...] = PREPROCESSING_POLICIES,
    cifake_path: str | None = None,
    max_cifake_samples: int | None = None,
    real_below: float = 0.3,
    fake_above: float = 0.7,
    gallery_size: int = 6,
    batch_size: int = 32,
    seed: int = 0,
) -> dict:
    """The cross-dataset report of one model folder. ``policies[0]`` is the primary policy (thresholds,
    calibration, content split and galleries use it). ``content_map``: this set's content -> CIFAR-10 class
    or None (default: nothing overlaps)."""
    start = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model, processor = load_detector(model_dir)
    spec, fake_column = input_spec(processor), fake_index(model)
    name = run_name(model_dir)

    cifake = load_detection_dataset("cifake", cifake_path)
    cifake_scores = {}
    for split in ("validation", "test"):
        data = seeded_subset(cifake[split], max_cifake_samples, seed)
        logits = split_logits(model, processor, data, desc=f"CIFAKE {split}")
        cifake_scores[split] = (np.asarray(data["label"]), logits)
    validation_labels, validation_logits = cifake_scores["validation"]
    temperature = fit_temperature(validation_logits, to_class_indices(validation_labels, fake_column))
    validation_threshold = best_accuracy_threshold(validation_labels, p_fake_from_logits(model, validation_logits))

    data = load_detection_dataset(dataset, dataset_path, label_map=label_map)["test"]
    labels = np.asarray(data["label"])
    content_names = data.features["content"].names
    contents = [content_names[i] for i in data["content"]]
    file_names = data["file_name"]
    content_map = validate_content_map(content_map or {}, content_names)
    logits = {policy: policy_logits(model, spec, data, policy, batch_size) for policy in policies}
    p_fake = {policy: p_fake_from_logits(model, values) for policy, values in logits.items()}
    primary = policies[0]
    scores = p_fake[primary]
    by_policy = {policy: detection_metrics(labels, values, data["content"], content_names, seed=seed)
                 for policy, values in p_fake.items()}
    best_threshold = best_accuracy_threshold(labels, scores)
    test_labels, test_logits = cifake_scores["test"]
    cifake_test_p_fake = p_fake_from_logits(model, test_logits)
    errors = most_confident_errors(labels, scores, gallery_size)

    report = {
        "model": name,
        "model_dir": str(model_dir),
        "dataset": dataset,
        "n": int(len(labels)),
        "n_per_label": {"real": int((labels == 0).sum()), "fake": int((labels == 1).sum())},
        "primary_policy": primary,
        "policies": by_policy,
        "cifake_test": detection_metrics(test_labels, cifake_test_p_fake, seed=seed),
        "thresholds": {
            "default_0.5": decisions_at(labels, scores, 0.5, seed),
            "cifake_validation": decisions_at(labels, scores, validation_threshold, seed),
            "best_on_this_set_oracle": decisions_at(labels, scores, best_threshold, seed),
        },
        "content_map": content_map,
        "content_overlap": overlap_metrics(labels, scores, contents, content_map),
        "real_flagged_as_fake": real_flagged_as_fake(labels, scores, contents),
        "temperature": temperature,
        "calibration": {
            "cifake_test": calibration_effect(test_logits, test_labels, temperature, fake_column, real_below, fake_above),
            dataset: calibration_effect(logits[primary], labels, temperature, fake_column, real_below, fake_above),
        },
        "most_confident_errors": {
            kind: [{"file_name": file_names[i], "content": contents[i], "p_fake": round(float(scores[i]), 4)}
                   for i in indices]
            for kind, indices in errors.items()
        },
    }

    title = f"{name} on {dataset}"
    predictions = pd.DataFrame({"file_name": file_names, "label": [("real", "fake")[i] for i in labels],
                                "content": contents})
    for policy, values in p_fake.items():
        predictions[f"p_fake_{policy}"] = np.round(values, 6)
    predictions[f"p_fake_{primary}_temperature_scaled"] = np.round(
        p_fake_at_temperature(logits[primary], temperature, fake_column), 6)
    predictions.to_csv(output_dir / "predictions.csv", index=False)
    plot_policies(by_policy, output_dir / "policies.png", f"{title}: preprocessing policies (n={len(labels)})")
    plot_per_content(by_policy[primary]["per_content"], output_dir / "per_content.png", f"{title} ({primary})")
    plot_confidence_histograms({"CIFAKE test": (test_labels, cifake_test_p_fake), dataset: (labels, scores)},
                               output_dir / "confidence_histograms.png", f"{name}: how sure, per true label")
    plot_reliability_diagram(labels, scores, output_dir / "reliability_diagram.png", title=f"{title} ({primary})")
    methods = methods_for(model)
    for kind, target in (("false_positives", fake_column), ("false_negatives", 1 - fake_column)):
        if errors[kind]:
            items = _gallery_items(model, spec, data, errors[kind], scores, target, methods)
            plot_gallery(items, methods, output_dir / f"{kind}.png",
                         f"{name}: most confident {kind.replace('_', ' ')} on {dataset} (maps explain the decision)")
    seconds = time.perf_counter() - start
    report["provenance"] = run_info(wall_time_s=seconds, dataset_path=dataset_path, cifake_path=cifake_path,
                                    max_cifake_samples=max_cifake_samples, real_below=real_below,
                                    fake_above=fake_above, seed=seed)
    (output_dir / REPORT_FILE).write_text(json.dumps(report, indent=2))
    logger.info("%s: accuracy %.3f, ROC-AUC %s (%s) -> %s", title, by_policy[primary]["accuracy"],
                by_policy[primary]["roc_auc"], primary, output_dir)
    return report


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _with_interval(metrics: dict) -> str:
    low, high = metrics["accuracy_ci95"]
    return f"{_percent(metrics['accuracy'])} [{100 * low:.1f}, {100 * high:.1f}]"


def write_comparison(output_root: str | Path) -> Path:
    """``README.md`` and ``comparison.png`` in ``output_root`` from every ``*/cross_dataset.json`` below it."""
    output_root = Path(output_root)
    reports = [json.loads(path.read_text()) for path in sorted(output_root.glob(f"*/{REPORT_FILE}"))]
    if not reports:
        raise FileNotFoundError(f"no {REPORT_FILE} under {output_root}; run python -m realfake_hf.cross_dataset first")
    dataset = reports[0]["dataset"]
    lines = [
        f"# Cross-dataset results: CIFAKE-trained models on `{dataset}`",
        "",
        "Generated by `python -m realfake_hf.cross_dataset` (command, machine and wall time in each model's "
        f"`{REPORT_FILE}`, under `provenance`). Fake is the positive class; FPR = real images flagged as fake.",
        "",
        "| model | CIFAKE test acc. | policy | acc. [95% CI] | ROC-AUC | ECE | FPR | FNR | acc. @ CIFAKE-val threshold "
        "| acc. @ best threshold (oracle) | T | coverage of the 0.3-0.7 abstain band |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for report in reports:
        for policy, metrics in report["policies"].items():
            cells = [report["model"], _percent(report["cifake_test"]["accuracy"]), policy, _with_interval(metrics),
                     f"{metrics['roc_auc']:.3f}", f"{metrics['ece_15']:.3f}", _percent(metrics["false_positive_rate"]),
                     _percent(metrics["false_negative_rate"])]
            if policy == report["primary_policy"]:
                at_validation = report["thresholds"]["cifake_validation"]
                at_best = report["thresholds"]["best_on_this_set_oracle"]
                cells += [f"{_percent(at_validation['accuracy'])} (t={at_validation['threshold']:.2f})",
                          f"{_percent(at_best['accuracy'])} (t={at_best['threshold']:.2f})",
                          f"{report['temperature']:.2f}",
                          _percent(report["calibration"][dataset]["before"]["abstain"]["coverage"])]
            else:
                cells += ["", "", "", ""]
            lines.append("| " + " | ".join(cells) + " |")
        primary = report["policies"][report["primary_policy"]]
        rows.append({"model": report["model"], "cifake": report["cifake_test"], "other": primary})
    lines += ["", "Who pays for false positives: real images flagged as fake, per content (primary policy; "
              "'sure' = p(fake) >= 0.9).", "", "| model | content | real images | flagged as fake | flagged and sure "
              "| median p(fake) of the flagged |", "|---|---|---|---|---|---|"]
    for report in reports:
        for content, row in report["real_flagged_as_fake"].items():
            median = row["median_p_fake_of_flagged"]
            lines.append(f"| {report['model']} | {content} | {row['n_real']} | {_percent(row['flagged_share'])} | "
                         f"{_percent(row['confidently_flagged_share'])} | {'n/a' if median is None else f'{median:.2f}'} |")
    lines += ["", f"n = {reports[0]['n']} images ({reports[0]['n_per_label']['real']} real, "
              f"{reports[0]['n_per_label']['fake']} fake). Per-content numbers, galleries and calibration are in "
              "each model's folder.", ""]
    (output_root / "README.md").write_text("\n".join(lines))
    plot_model_comparison(rows, output_root / "comparison.png", f"CIFAKE test vs {dataset} (primary policy)")
    return output_root / "README.md"
