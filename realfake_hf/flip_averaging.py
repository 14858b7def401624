"""Test-time flip averaging, adopted per model on validation and then measured once on test.

``python -m realfake_hf.flip_averaging --models results/A/model [...] --output_dir results/flip_averaging``

Each model is evaluated on CIFAKE's validation and test splits, plain and flip-averaged (the mean of the logits of
each image and of its mirror image, as ``evaluate.py --test_time_flip true``), into ``OUTPUT_DIR/RUN/SPLIT[_flip]/``.
Flip averaging is adopted for a model only when it raises the model's validation accuracy; the rule is fixed before
test is read, so the test accuracy under the adopted inference is not picked on test. McNemar's test pairs the
plain and flip-averaged test predictions. Writes ``summary.csv``, ``README.md`` (the table) and
``flip_averaging.png``. An evaluation already in its folder (same model, split, inference and ``--max_samples``) is
kept, so a stopped command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .compare import compare_predictions
from .evaluation import METRICS_FILE, PREDICTIONS_FILE, evaluate_model
from .inference import run_folder, run_name
from .plots import save_figure, plt
from .runinfo import run_arguments

logger = logging.getLogger(__name__)

SPLITS = ("validation", "test")
SUMMARY_FILE = "summary.csv"


def _evaluation(model_dir: Path, split: str, flip: bool, folder: Path, data_args: dict, **options) -> dict:
    existing = folder / METRICS_FILE
    if existing.exists():
        metrics = json.loads(existing.read_text())
        provenance = metrics["provenance"]
        kept = ("model_dir", "dataset_split", "test_time_flip", "max_samples")
        if tuple(provenance.get(key) for key in kept) == (str(model_dir), split, flip, options.get("max_samples")):
            logger.info("kept %s", folder)
            return metrics
    split_args = {key: data_args[key] for key in ("validation_fraction", "split_seed") if key in data_args}
    return evaluate_model(model_dir, split=split, output_dir=folder, test_time_flip=flip, **split_args, **options)


def flip_averaging_row(model_dir: str | Path, output_dir: str | Path, **options) -> dict:
    """Evaluate one model four ways into ``output_dir`` and return its summary row."""
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    data_args = run_arguments(run_folder(model_dir)).get("data", {})
    metrics = {
        (split, flip): _evaluation(model_dir, split, flip, output_dir / f"{split}{'_flip' if flip else ''}",
                                   data_args, **options)
        for split in SPLITS for flip in (False, True)
    }
    paired = compare_predictions(str(output_dir / "test" / PREDICTIONS_FILE),
                                 str(output_dir / "test_flip" / PREDICTIONS_FILE))
    adopted = bool(metrics["validation", True]["accuracy"] > metrics["validation", False]["accuracy"])
    row = {"model": run_name(model_dir), "trained_with_flip_probability": data_args.get("hflip_probability")}
    for split in SPLITS:
        for flip, name in ((False, "plain"), (True, "flip")):
            low, high = metrics[split, flip]["accuracy_ci95"]
            row[f"{split}_{name}_accuracy"] = float(metrics[split, flip]["accuracy"])
            row[f"{split}_{name}_ci95_low"], row[f"{split}_{name}_ci95_high"] = float(low), float(high)
    return {
        **row,
        "flip_adopted_on_validation": adopted,
        "test_accuracy_adopted": float(metrics["test", adopted]["accuracy"]),
        "test_only_plain_correct": paired["only_first_correct"],
        "test_only_flip_correct": paired["only_second_correct"],
        "test_mcnemar_p_exact": paired["p_value_exact"],
    }


def summary_table(summary: pd.DataFrame) -> str:
    lines = [
        "| model | validation plain | validation flip-averaged | adopted | test plain [95% CI] "
        "| test flip-averaged [95% CI] | only plain right / only flip right | McNemar p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary.to_dict("records"):
        test = {
            name: f"{100 * row[f'test_{name}_accuracy']:.3f}% [{100 * row[f'test_{name}_ci95_low']:.2f}, "
                  f"{100 * row[f'test_{name}_ci95_high']:.2f}]"
            for name in ("plain", "flip")
        }
        lines.append(
            f"| {row['model']} | {100 * row['validation_plain_accuracy']:.2f}% "
            f"| {100 * row['validation_flip_accuracy']:.2f}% | {'flip' if row['flip_adopted_on_validation'] else 'plain'} "
            f"| {test['plain']} | {test['flip']} | {row['test_only_plain_correct']} / {row['test_only_flip_correct']} "
            f"| {row['test_mcnemar_p_exact']:.2g} |"
        )
    return "\n".join(lines)


def plot_flip_averaging(summary: pd.DataFrame, path: Path) -> Path:
    """Accuracy with 95% intervals, plain against flip-averaged, per model and split."""
    positions = np.arange(len(summary))
    figure, axes = plt.subplots(1, 2, figsize=(max(9, 1.3 * len(summary)), 4.5), sharey=True)
    for axis, split in zip(axes, SPLITS):
        for offset, name, label in ((-0.15, "plain", "plain"), (0.15, "flip", "flip-averaged")):
            accuracy = summary[f"{split}_{name}_accuracy"].to_numpy()
            errors = np.abs(summary[[f"{split}_{name}_ci95_low", f"{split}_{name}_ci95_high"]].to_numpy().T - accuracy)
            axis.errorbar(positions + offset, 100 * accuracy, yerr=100 * errors, fmt="o", capsize=3, label=label)
        axis.set_xticks(positions, summary["model"], rotation=35, ha="right", fontsize=8)
        axis.set(title=f"CIFAKE {split}", ylabel="accuracy % (95% CI)")
        axis.grid(axis="y", alpha=0.3)
    axes[1].axhline(98.0, color="grey", linestyle="--", linewidth=1, label="98% target")
    for axis in axes:
        axis.legend(fontsize=8)
    figure.suptitle("Test-time flip averaging (adopted per model when it raises validation accuracy)")
    return save_figure(figure, path)


def write_flip_averaging(output_dir: str | Path) -> pd.DataFrame:
    """summary.csv, README.md and the figure from every model folder under ``output_dir``."""
    output_dir = Path(output_dir)
    rows = [json.loads(path.read_text()) for path in sorted(output_dir.glob("*/row.json"))]
    summary = pd.DataFrame(rows)
    summary.to_csv(output_dir / SUMMARY_FILE, index=False)
    plot_flip_averaging(summary, output_dir / "flip_averaging.png")
    (output_dir / "README.md").write_text(
        "# Test-time flip averaging on CIFAKE\n\n"
        "Written by `python -m realfake_hf.flip_averaging` (the command and machine of each evaluation are in its "
        "`metrics.json`). Adopted = flip-averaged inference raises validation accuracy; test was read only after.\n\n"
        f"{summary_table(summary)}\n\n![accuracy plain against flip-averaged](flip_averaging.png)\n"
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.flip_averaging", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True, help="folders written by train.py")
    parser.add_argument("--output_dir", default="results/flip_averaging")
    parser.add_argument("--dataset_path", default=None, help="CIFAKE zip or folder (default: the usual search)")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--max_samples", type=int, default=None, help="debug: a seeded subset of each split")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for model_dir in args.models:
        folder = Path(args.output_dir) / run_name(model_dir)
        row = flip_averaging_row(model_dir, folder, dataset_path=args.dataset_path, batch_size=args.batch_size,
                                 max_samples=args.max_samples)
        (folder / "row.json").write_text(json.dumps(row, indent=2))
    print(summary_table(write_flip_averaging(args.output_dir)))


if __name__ == "__main__":
    main()
