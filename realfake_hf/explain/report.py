"""Explain a trained detector over a dataset split: maps for every applicable method, their agreement,
faithfulness (deletion/insertion AUC against a random-map baseline) and central-saliency share, aggregated
by label, content class and correctness; figures and galleries. Writes ``OUTPUT_DIR/explain_metrics.json``,
``per_image.csv`` and PNGs."""

from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..data import load_detection_dataset, with_model_inputs
from ..evaluation import seeded_subset
from ..inference import fake_index, input_spec, load_detector
from ..runinfo import run_info
from ..tracking import offline_wandb_defaults
from . import EXPLAINERS, methods_for
from .agreement import agreement
from .faithfulness import area_under_curve, central_share, perturbation_curves
from .plots import model_view, plot_curves, plot_distributions, plot_gallery

logger = logging.getLogger(__name__)

RANDOM = "random"


def _explain_batch(model, pixels: torch.Tensor, methods: list[str], rng: np.random.Generator, steps: int):
    with torch.no_grad():
        p_fake = torch.softmax(model(pixel_values=pixels).logits.float(), -1)[:, fake_index(model)].numpy()
    predicted = (p_fake >= 0.5).astype(int).tolist()
    maps = {method: EXPLAINERS[method](model, pixels, predicted) for method in methods}
    maps[RANDOM] = rng.random((len(pixels), *pixels.shape[-2:])).astype(np.float32)
    rows = [{"p_fake": float(p), "predicted": int(c)} for p, c in zip(p_fake, predicted)]
    curves = {}
    for method, method_maps in maps.items():
        shares = central_share(method_maps)
        for mode in ("deletion", "insertion"):
            curve = perturbation_curves(model, pixels, method_maps, predicted, mode, steps)
            curves[(method, mode)] = curve
            for row, area in zip(rows, area_under_curve(curve)):
                row[f"{mode}_auc_{method}"] = float(area)
        for row, share in zip(rows, shares):
            row[f"central_share_{method}"] = float(share)
    for first, second in itertools.combinations(methods, 2):
        for index, row in enumerate(rows):
            for key, value in agreement(maps[first][index], maps[second][index]).items():
                row[f"{key}_{first}_vs_{second}"] = float(value)
    return rows, maps, curves


def _summaries(frame: pd.DataFrame) -> dict:
    numeric = [c for c in frame.columns if c not in ("file_name", "label", "content", "predicted", "correct")]
    groups = {"all": frame, **{f"label={k}": g for k, g in frame.groupby("label")},
              **{f"content={k}": g for k, g in frame.groupby("content")},
              **{f"correct={k}": g for k, g in frame.groupby("correct")}}
    return {name: {"n": int(len(group)), **group[numeric].mean(numeric_only=True).round(5).to_dict()}
            for name, group in groups.items()}


def log_to_wandb(metrics: dict, examples: dict[str, list[dict]], methods: list[str], output_dir: Path, name: str):
    """One W&B run (offline unless WANDB_MODE says otherwise): summary numbers, the figures, and a table with
    one row per gallery image: outcome, p(fake), the image and one overlay per method."""
    import wandb  # only when asked: importing wandb is slow and the report runs without it

    offline_wandb_defaults(output_dir)
    columns = ["outcome", "p_fake", "image", *methods]
    table = wandb.Table(columns=columns)
    for outcome, items in examples.items():
        for item in items:
            image, scale = model_view(item["image"], item["maps"][methods[0]].shape[0])
            overlays = [wandb.Image(image, masks={"saliency": {"mask_data": overlay_classes(item["maps"][m], scale)}})
                        for m in methods]
            table.add_data(outcome, item["p_fake"], wandb.Image(image), *overlays)
    with wandb.init(name=name, job_type="explain", config=metrics["provenance"]) as run:
        run.summary.update({f"{group}/{key}": value for group, values in metrics["summaries"].items()
                            for key, value in values.items()})
        run.log({"gallery": table, **{path.stem: wandb.Image(str(path)) for path in sorted(output_dir.glob("*.png"))}})
    return run


def overlay_classes(saliency: np.ndarray, scale: int, levels: int = 5) -> np.ndarray:
    """A saliency map in [0, 1] as ``levels`` integer bands, enlarged ``scale`` times like the gallery image:
    W&B shows masks of class ids over an image, not continuous heat maps."""
    bands = np.minimum((saliency * levels).astype(np.int32), levels - 1)
    return np.kron(bands, np.ones((scale, scale), dtype=np.int32))


def explain_split(
    model_dir: str | Path,
    output_dir: str | Path,
    dataset: str = "cifake",
    split: str = "test",
    dataset_path: str | None = None,
    max_samples: int | None = 2000,
    batch_size: int = 64,
    steps: int = 16,
    seed: int = 0,
    gallery_size: int = 8,
    report_to_wandb: bool = False,
) -> dict:
    """Explain ``max_samples`` seeded images of a split (None = all) with every method that applies; with
    ``report_to_wandb``, also log the summaries and a table of the gallery images with their overlays."""
    start = time.perf_counter()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model, processor = load_detector(model_dir)
    methods = methods_for(model)
    spec = input_spec(processor)
    data = seeded_subset(load_detection_dataset(dataset, dataset_path)[split], max_samples, seed)
    pixels = with_model_inputs(data, spec["image_size"], mean=spec["mean"], std=spec["std"])
    label_names, content_names = data.features["label"].names, data.features["content"].names
    metadata = data.select_columns(["file_name", "label", "content"])
    rng = np.random.default_rng(seed)
    rows, curve_sums, examples = [], {}, {}
    for first in tqdm(range(0, len(data), batch_size), desc="explaining", unit="batch"):
        indices = list(range(first, min(first + batch_size, len(data))))
        batch = pixels[indices]
        batch_rows, maps, curves = _explain_batch(model, batch["pixel_values"], methods, rng, steps)
        for key, curve in curves.items():
            curve_sums[key] = curve_sums.get(key, 0) + curve.sum(axis=0)
        meta = metadata[indices]
        for offset, (index, row) in enumerate(zip(indices, batch_rows)):
            label = meta["label"][offset]
            row.update(file_name=meta["file_name"][offset], label=label_names[label],
                       content=content_names[meta["content"][offset]], correct=row["predicted"] == label)
            outcome = ("true" if row["correct"] else "false") + ("_positive" if row["predicted"] == 1 else "_negative")
            if len(examples.setdefault(outcome, [])) < gallery_size:
                examples[outcome].append({"image": data[index]["image"], "p_fake": row["p_fake"],
                                          "maps": {m: maps[m][offset] for m in methods}})
        rows += batch_rows
    frame = pd.DataFrame(rows)
    frame.to_csv(output_dir / "per_image.csv", index=False)
    mean_curves = {f"{method} {mode}": (total / len(frame)).tolist() for (method, mode), total in curve_sums.items()}
    plot_curves(mean_curves, output_dir / "deletion_insertion.png")
    plot_distributions(frame, methods, output_dir)
    for outcome, items in examples.items():
        plot_gallery(items, methods, output_dir / f"gallery_{outcome}.png", title=outcome.replace("_", " "))
    seconds = time.perf_counter() - start
    metrics = {
        "methods": methods,
        "baseline": RANDOM,
        "n": int(len(frame)),
        "summaries": _summaries(frame),
        "mean_curves": mean_curves,
        "provenance": run_info(wall_time_s=seconds, images_per_second=round(len(frame) / seconds, 2),
                               model_dir=str(model_dir), dataset=dataset, split=split, max_samples=max_samples,
                               steps=steps, seed=seed),
    }
    (output_dir / "explain_metrics.json").write_text(json.dumps(metrics, indent=2))
    if report_to_wandb:
        log_to_wandb(metrics, examples, methods, output_dir, name=f"explain-{Path(model_dir).name}")
    logger.info("explained %d images with %s in %.0f s -> %s", len(frame), methods, seconds, output_dir)
    return metrics
