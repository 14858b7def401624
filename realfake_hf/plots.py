"""Figures: learning curves, confusion matrix, reliability diagram (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402


def save_figure(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if figure.get_layout_engine() is None:  # figures made with layout="constrained" keep their own engine
        figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_learning_curve(history: pd.DataFrame, path: Path, title: str = "") -> Path:
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axis.plot(history["epoch"], history["train_loss"], "o-", label="train")
    loss_axis.plot(history["epoch"], history["eval_loss"], "s-", label="validation")
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    loss_axis.legend()
    accuracy_axis.plot(history["epoch"], history["eval_accuracy"], "s-", color="tab:green")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return save_figure(figure, path)


def plot_validation_by_epoch(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """One line per run (the columns of ``table``, indexed by epoch): runs compared epoch for epoch."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for run in table.columns:
        axis.plot(table.index, table[run], "o-", markersize=3, label=run)
    axis.set(xlabel="epoch", ylabel="validation accuracy", title=title or "validation accuracy per epoch")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_confusion_matrix(matrix: list[list[int]], path: Path, title: str = "") -> Path:
    figure, axis = plt.subplots(figsize=(4.5, 4))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=["real", "fake"]).plot(
        ax=axis, cmap="Blues", values_format="d", colorbar=False
    )
    axis.set_title(title or "confusion matrix")
    return save_figure(figure, path)


def plot_reliability_diagram(labels, p_fake, path: Path, n_bins: int = 15, title: str = "") -> Path:
    fraction_fake, mean_p = calibration_curve(labels, p_fake, n_bins=n_bins, strategy="uniform")
    figure, (curve_axis, histogram_axis) = plt.subplots(
        2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    curve_axis.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    curve_axis.plot(mean_p, fraction_fake, "o-", label="model")
    curve_axis.set(ylabel="fraction actually fake", title=title or "reliability diagram")
    curve_axis.legend(loc="upper left")
    histogram_axis.hist(p_fake, bins=n_bins, range=(0, 1), color="tab:grey")
    histogram_axis.set(xlabel="predicted p(fake)", ylabel="images", yscale="log")
    return save_figure(figure, path)
