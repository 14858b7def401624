"""Robustness of detectors on a dataset split: everyday perturbations and white-box attacks with transfer.

Writes to ``OUTPUT_DIR``:

- ``robustness.json``: per model x perturbation x strength (and clean, ``perturbation = "none"``): accuracy
  with its bootstrap 95% interval, ROC-AUC, false-positive rate (real judged fake), false-negative rate (fake
  judged real), n; and per model the mean accuracy lost to the low-pass perturbations (JPEG, blur,
  down-up resizing), which flags the models that lean on fragile high-frequency cues.
- ``perturbation_<name>.png``: one figure per perturbation, one line per model.
- ``attacks.json``: FGSM and PGD at each budget, each direction, crafted on each model and judged by each
  model (``white_box`` where they are the same): accuracy under attack and success rate.
- ``attack_curves.png``, ``transfer_matrix.png`` and ``adversarial_examples_<model>.png``.

Both parts use a fixed subset of the split, stratified by label x content and seeded, the same for every model.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torchattacks
from datasets import Dataset
from datasets import Image as ImageFeature
from PIL import Image
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from ..data import load_detection_dataset
from ..data.images import decode_image, resize_to_square
from ..inference import run_name
from ..metrics import detection_metrics
from ..plots import plt, save_figure
from ..runinfo import run_info
from .attacks import (
    DIRECTIONS,
    EPSILONS_255,
    METHODS,
    PGD_STEP_RATIO,
    PGD_STEPS,
    PixelSpaceDetector,
    attack_and_transfer,
    direction_title,
    load_pixel_space_detector,
)
from .perturbations import PERTURBATIONS, Perturbation
from .table import write_robustness_summary

logger = logging.getLogger(__name__)

CLEAN = "none"
REPORTED_METRICS = ("n", "accuracy", "accuracy_ci95", "roc_auc", "false_positive_rate", "false_negative_rate")
# A model that loses 10 accuracy points on average to mild-to-severe low-pass filtering (re-compression, blur,
# resizing: what any upload pipeline does) decides on fine pixel statistics rather than on what is pictured.
FRAGILE_LOW_PASS_DROP = 0.10
PANELS = (
    ("accuracy", "accuracy"),
    ("roc_auc", "ROC-AUC"),
    ("false_negative_rate", "fakes judged real (FNR)"),
    ("false_positive_rate", "reals judged fake (FPR)"),
)
EXAMPLE_METHOD, EXAMPLE_DIRECTION = "pgd", "fake_to_real"


def stratified_subset(data: Dataset, size: int | None, seed: int = 0) -> Dataset:
    """``size`` rows drawn in proportion to label x content, seeded; the whole split when ``size`` is None or larger."""
    if size is None or size >= len(data):
        return data
    strata = np.asarray(data["label"]) * 1000 + np.asarray(data["content"])
    chosen, _ = train_test_split(np.arange(len(data)), train_size=size, stratify=strata, random_state=seed)
    return data.select(np.sort(chosen))


def decoded_pictures(data: Dataset) -> list[Image.Image]:
    """Every image as the RGB picture evaluation decodes, at its stored size."""
    raw = data.cast_column("image", ImageFeature(decode=False))
    return [decode_image(item["bytes"], name).rgb for item, name in zip(raw["image"], raw["file_name"])]


def _metrics_record(
    model: str, perturbation: str, strength: float | None, labels: np.ndarray, p_fake: np.ndarray, seed: int
) -> dict:
    metrics = detection_metrics(labels, p_fake, seed=seed)
    reported = {key: metrics[key] for key in REPORTED_METRICS}
    return {"model": model, "perturbation": perturbation, "strength": strength, **reported}


def perturbation_results(
    detectors: dict[str, PixelSpaceDetector], pictures: list[Image.Image], labels: np.ndarray, seed: int,
    batch_size: int,
) -> list[dict]:
    """Clean and perturbed metrics of every model; each perturbed picture is made once and shown to every model."""
    records = [_metrics_record(name, CLEAN, None, labels, detector.p_fake(pictures, batch_size), seed)
               for name, detector in detectors.items()]
    settings = [(index, perturbation, level, strength)
                for index, perturbation in enumerate(PERTURBATIONS.values())
                for level, strength in enumerate(perturbation.strengths)]
    for index, perturbation, level, strength in tqdm(settings, desc="perturbations", unit="setting"):
        rng = np.random.default_rng([seed, index, level])
        perturbed = [perturbation.apply(picture, strength, rng) for picture in pictures]
        for name, detector in detectors.items():
            p_fake = detector.p_fake(perturbed, batch_size)
            records.append(_metrics_record(name, perturbation.name, strength, labels, p_fake, seed))
    return records


def high_frequency_summary(records: list[dict]) -> dict:
    """Per model: clean accuracy, mean accuracy lost to each perturbation (over its strengths), and whether the
    low-pass perturbations cost at least ``FRAGILE_LOW_PASS_DROP``."""
    frame = pd.DataFrame(records)
    clean = frame[frame["perturbation"] == CLEAN].set_index("model")["accuracy"]
    perturbed = frame[frame["perturbation"] != CLEAN]
    mean_accuracy = perturbed.groupby(["model", "perturbation"], sort=False)["accuracy"].mean()
    low_pass = [name for name, entry in PERTURBATIONS.items() if entry.removes_high_frequencies]
    summary = {}
    for model, clean_accuracy in clean.items():
        drops = {name: float(clean_accuracy - accuracy) for name, accuracy in mean_accuracy[model].items()}
        low_pass_drop = float(np.mean([drops[name] for name in low_pass]))
        summary[model] = {
            "clean_accuracy": float(clean_accuracy),
            "mean_accuracy_drop": drops,
            "low_pass_accuracy_drop": low_pass_drop,
            "other_accuracy_drop": float(np.mean([drop for name, drop in drops.items() if name not in low_pass])),
            "leans_on_high_frequency_cues": low_pass_drop >= FRAGILE_LOW_PASS_DROP,
        }
    return summary


def _strength_label(strength: float) -> str:
    return f"{strength:g}"


def plot_perturbation(frame: pd.DataFrame, perturbation: Perturbation, path: Path) -> Path:
    figure, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.8))
    positions = np.arange(len(perturbation.strengths) + 1)
    for model, rows in frame.groupby("model", sort=False):
        series = pd.concat([rows[rows["perturbation"] == CLEAN], rows[rows["perturbation"] == perturbation.name]])
        for axis, (column, _) in zip(axes, PANELS):
            (line,) = axis.plot(positions, series[column].astype(float), "o-", label=model)
            if column == "accuracy":
                low, high = np.array(series["accuracy_ci95"].tolist()).T
                axis.fill_between(positions, low, high, color=line.get_color(), alpha=0.15)
    for axis, (_, title) in zip(axes, PANELS):
        axis.set_xticks(positions, [CLEAN, *map(_strength_label, perturbation.strengths)])
        axis.set(xlabel=perturbation.strength_name, title=title)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(f"{perturbation.name.replace('_', ' ')} (mild to severe; band: 95% bootstrap interval)")
    return save_figure(figure, path)


def plot_attack_curves(frame: pd.DataFrame, path: Path) -> Path:
    white_box = frame[frame["white_box"]]
    figure, axes = plt.subplots(len(METHODS), len(DIRECTIONS), figsize=(5 * len(DIRECTIONS), 3.8 * len(METHODS)),
                                squeeze=False, sharey=True)
    for row, method in enumerate(METHODS):
        for column, direction in enumerate(DIRECTIONS):
            axis = axes[row][column]
            selected = white_box[(white_box["method"] == method) & (white_box["direction"] == direction)]
            for model, rows in selected.groupby("source_model", sort=False):
                axis.plot(rows["eps_255"], rows["accuracy"], "o-", label=model)
            axis.set(title=f"{method.upper()}, {direction_title(direction)}", xlabel="L-inf budget (x/255)",
                     ylabel="accuracy under attack", ylim=(-0.02, 1.02))
            axis.grid(alpha=0.3)
    axes[0][0].legend()
    return save_figure(figure, path)


def plot_transfer_matrix(frame: pd.DataFrame, method: str, eps_255: int, path: Path) -> Path:
    """Accuracy of each target model on adversarial images crafted on each source model."""
    selected = frame[(frame["method"] == method) & (frame["eps_255"] == eps_255)]
    side = max(4.5, 0.8 * selected["source_model"].nunique() + 2)  # cells wide enough for their two-decimal labels
    figure, axes = plt.subplots(1, len(DIRECTIONS), figsize=((side + 1.5) * len(DIRECTIONS), side), squeeze=False)
    for axis, direction in zip(axes[0], DIRECTIONS):
        table = selected[selected["direction"] == direction].pivot(
            index="source_model", columns="target_model", values="accuracy")
        image = axis.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="RdYlGn")
        for (row, column), value in np.ndenumerate(table.to_numpy(dtype=float)):
            axis.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
        axis.set_xticks(range(len(table.columns)), table.columns, rotation=30, ha="right")
        axis.set_yticks(range(len(table.index)), table.index)
        axis.set(xlabel="judged by", ylabel="crafted on", title=direction_title(direction))
        figure.colorbar(image, ax=axis, label="accuracy")
    figure.suptitle(f"{method.upper()} at {eps_255}/255: transfer between models")
    return save_figure(figure, path)


def plot_adversarial_examples(
    originals: list[Image.Image], adversarial: list[Image.Image], p_fake_before: np.ndarray, p_fake_after: np.ndarray,
    eps_255: int, path: Path, title: str,
) -> Path:
    """Rows of original | adversarial | perturbation, the perturbation magnified so that +-eps spans black to white."""
    magnification = 255 / (2 * max(eps_255, 1))
    figure, axes = plt.subplots(len(originals), 3, figsize=(7.5, 2.6 * len(originals)), squeeze=False)
    for row, (original, attacked) in enumerate(zip(originals, adversarial)):
        before = np.asarray(original, dtype=float) / 255
        after = np.asarray(attacked, dtype=float) / 255
        panels = (
            (before, f"original: p(fake) {p_fake_before[row]:.2f}"),
            (after, f"adversarial: p(fake) {p_fake_after[row]:.2f}"),
            (np.clip(0.5 + (after - before) * magnification, 0, 1), f"perturbation x{magnification:.0f} (grey = 0)"),
        )
        for axis, (picture, caption) in zip(axes[row], panels):
            axis.imshow(picture, interpolation="nearest")
            axis.set_title(caption, fontsize=9)
            axis.axis("off")
    figure.suptitle(title)
    return save_figure(figure, path)


def _evasion_examples_figure(
    detector: PixelSpaceDetector, originals: list[Image.Image], adversarial: list[Image.Image], eps_255: int,
    n_examples: int, path: Path, title: str, batch_size: int,
) -> Path:
    """Up to ``n_examples`` attacked fakes: those judged fake before the attack first, the most fully turned
    (lowest p(fake) after it) first."""
    originals = [resize_to_square(picture, detector.image_size) for picture in originals]
    before, after = detector.p_fake(originals, batch_size), detector.p_fake(adversarial, batch_size)
    chosen = np.lexsort((after, before < 0.5))[:n_examples]
    return plot_adversarial_examples([originals[i] for i in chosen], [adversarial[i] for i in chosen],
                                     before[chosen], after[chosen], eps_255, path, title)


def attack_results(
    detectors: dict[str, PixelSpaceDetector], pictures: list[Image.Image], labels: np.ndarray, output_dir: Path,
    seed: int, pgd_steps: int, n_examples: int, batch_size: int,
) -> list[dict]:
    """Every method x budget x direction, crafted on and judged by every model; writes the example figures."""
    members = {direction: np.flatnonzero(labels == true_label) for direction, true_label in DIRECTIONS.items()}
    images = {direction: [pictures[i] for i in rows] for direction, rows in members.items()}
    clean = {direction: {name: detector.p_fake(images[direction], batch_size) for name, detector in detectors.items()}
             for direction in DIRECTIONS}
    records = []
    settings = [(method, eps_255, direction)
                for method in METHODS for eps_255 in EPSILONS_255 for direction in DIRECTIONS]
    example_setting = (EXAMPLE_METHOD, max(EPSILONS_255), EXAMPLE_DIRECTION)
    for method, eps_255, direction in tqdm(settings, desc="attacks", unit="setting"):
        setting_records, crafted = attack_and_transfer(detectors, images[direction], labels[members[direction]], method,
                                                       eps_255, clean[direction], seed, pgd_steps, batch_size)
        records += [{"direction": direction, **record} for record in setting_records]
        if (method, eps_255, direction) == example_setting and n_examples and images[direction]:
            for name, detector in detectors.items():
                title = f"{name}: {method.upper()} {eps_255}/255, {direction_title(direction)}"
                _evasion_examples_figure(detector, images[direction], crafted[name], eps_255, n_examples,
                                         output_dir / f"adversarial_examples_{name}.png", title, batch_size)
    return records


def _write_json(payload: dict, path: Path) -> None:
    path.write_text(json.dumps(payload, indent=2))


def write_perturbation_report(
    detectors: dict[str, PixelSpaceDetector], data: Dataset, output_dir: Path, seed: int, batch_size: int,
    **context,
) -> dict:
    """``robustness.json`` and one figure per perturbation; ``context`` (dataset, models, ...) is recorded as is."""
    start = time.perf_counter()
    records = perturbation_results(detectors, decoded_pictures(data), np.asarray(data["label"]), seed, batch_size)
    frame = pd.DataFrame(records)
    for perturbation in PERTURBATIONS.values():
        plot_perturbation(frame, perturbation, output_dir / f"perturbation_{perturbation.name}.png")
    summary = high_frequency_summary(records)
    for name, entry in summary.items():
        logger.info("%s: clean accuracy %.4f, %.1f points lost to low-pass perturbations%s", name,
                    entry["clean_accuracy"], 100 * entry["low_pass_accuracy_drop"],
                    " (leans on fragile high-frequency cues)" if entry["leans_on_high_frequency_cues"] else "")
    robustness = {
        **context, "n": len(data), "seed": seed,
        "perturbations": {name: {"strength_name": entry.strength_name, "strengths": list(entry.strengths),
                                 "removes_high_frequencies": entry.removes_high_frequencies}
                          for name, entry in PERTURBATIONS.items()},
        "fragile_low_pass_drop": FRAGILE_LOW_PASS_DROP,
        "summary": summary,
        "results": records,
        "provenance": run_info(wall_time_s=time.perf_counter() - start),
    }
    _write_json(robustness, output_dir / "robustness.json")
    return robustness


def write_attack_report(
    detectors: dict[str, PixelSpaceDetector], data: Dataset, output_dir: Path, seed: int, pgd_steps: int,
    n_examples: int, batch_size: int, **context,
) -> dict:
    """``attacks.json``, the attack curves, the transfer matrix and the adversarial examples."""
    start = time.perf_counter()
    records = attack_results(detectors, decoded_pictures(data), np.asarray(data["label"]), output_dir,
                             seed, pgd_steps, n_examples, batch_size)
    frame = pd.DataFrame(records)
    plot_attack_curves(frame, output_dir / "attack_curves.png")
    plot_transfer_matrix(frame, EXAMPLE_METHOD, max(EPSILONS_255), output_dir / "transfer_matrix.png")
    attacks = {
        **context, "n": len(data), "seed": seed,
        "library": f"torchattacks {torchattacks.__version__}",
        "norm": "Linf", "epsilons_255": list(EPSILONS_255), "methods": list(METHODS),
        "directions": {name: "attacks the images whose true label is " + ("fake" if label else "real")
                       for name, label in DIRECTIONS.items()},
        "pgd": {"steps": pgd_steps, "step_size": f"{PGD_STEP_RATIO} * eps / steps", "random_start": True},
        "adversarial_images": "crafted at each source model's input size, rounded to 8 bits, then resized for targets",
        "results": records,
        "provenance": run_info(wall_time_s=time.perf_counter() - start),
    }
    _write_json(attacks, output_dir / "attacks.json")
    return attacks


def robustness_report(
    models: list[str],
    output_dir: str | Path = "results/robustness",
    dataset: str = "cifake",
    split: str = "test",
    dataset_path: str | None = None,
    max_samples: int = 2000,
    attack_samples: int = 500,
    batch_size: int = 256,
    pgd_steps: int = PGD_STEPS,
    n_examples: int = 6,
    seed: int = 0,
) -> dict:
    """Perturbation and attack reports for the model folders ``models``; ``max_samples`` 0 = the whole split,
    ``attack_samples`` 0 = no attacks. Returns ``{"robustness": ..., "attacks": ...}`` as written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    folders = {run_name(folder): str(folder) for folder in models}
    if len(folders) != len(models):
        raise ValueError(f"two model folders share a name: {models}")
    splits = load_detection_dataset(dataset, dataset_path)
    if split not in splits:
        raise KeyError(f"{dataset} has no split '{split}'; it has {list(splits)}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    detectors = {name: load_pixel_space_detector(folder, device) for name, folder in folders.items()}
    context = {"dataset": dataset, "split": split, "subset": "stratified by label x content", "models": folders}
    data = stratified_subset(splits[split], max_samples or None, seed)
    robustness = write_perturbation_report(detectors, data, output_dir, seed, batch_size, **context)
    attacks = None
    if attack_samples:
        data = stratified_subset(splits[split], attack_samples, seed)
        attacks = write_attack_report(detectors, data, output_dir, seed, pgd_steps, n_examples, batch_size, **context)
    else:
        (output_dir / "attacks.json").unlink(missing_ok=True)  # a table must not mix in an older run's attacks
    write_robustness_summary(output_dir)
    return {"robustness": robustness, "attacks": attacks}
