"""Figures of the cross-dataset report: preprocessing policies, per-content errors, confidence histograms and
the model comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plots import save_figure, plt


def _error_bars(values: list[float], intervals: list[list[float]]) -> np.ndarray:
    return np.abs(np.array([[low, high] for low, high in intervals]).T - np.asarray(values))


def plot_policies(policies: dict[str, dict], path: Path, title: str) -> Path:
    names = list(policies)
    accuracy = [policies[n]["accuracy"] for n in names]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    axes[0].bar(names, accuracy, yerr=_error_bars(accuracy, [policies[n]["accuracy_ci95"] for n in names]),
                capsize=4, color="tab:blue")
    axes[0].set(ylabel="accuracy (95% CI)", ylim=(0, 1), title="accuracy at p(fake) >= 0.5")
    axes[1].bar(names, [policies[n]["roc_auc"] or 0 for n in names], color="tab:orange")
    axes[1].set(ylabel="ROC-AUC", ylim=(0, 1), title="ROC-AUC (threshold-free)")
    for axis in axes:
        axis.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_per_content(per_content: dict[str, dict], path: Path, title: str) -> Path:
    names = list(per_content)
    accuracy = [per_content[n]["accuracy"] for n in names]
    positions = np.arange(len(names))
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].bar(positions, accuracy, yerr=_error_bars(accuracy, [per_content[n]["accuracy_ci95"] for n in names]),
                capsize=4)
    axes[0].set(ylabel="accuracy (95% CI)", ylim=(0, 1), title="accuracy per content")
    width = 0.4
    axes[1].bar(positions - width / 2, [per_content[n]["false_positive_rate"] or 0 for n in names], width,
                label="real flagged fake (FPR)", color="tab:red")
    axes[1].bar(positions + width / 2, [per_content[n]["false_negative_rate"] or 0 for n in names], width,
                label="fake passed as real (FNR)", color="tab:purple")
    axes[1].set(ylabel="error rate", ylim=(0, 1), title="error rates per content")
    axes[1].legend(fontsize=8)
    for axis in axes:
        axis.set_xticks(positions, [f"{n}\n(n={per_content[n]['n']})" for n in names], fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_confidence_histograms(scores: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> Path:
    """One panel per dataset: histograms of p(fake) for its real and its fake images."""
    figure, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 3.6), squeeze=False)
    for axis, (name, (labels, p_fake)) in zip(axes[0], scores.items()):
        for label, colour in ((0, "tab:green"), (1, "tab:red")):
            members = np.asarray(labels) == label
            axis.hist(np.asarray(p_fake)[members], bins=20, range=(0, 1), alpha=0.6, color=colour, density=True,
                      label=f"{'real' if label == 0 else 'fake'} (n={int(members.sum())})")
        axis.set(title=name, xlabel="predicted p(fake)", ylabel="density")
        axis.legend(fontsize=8)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_model_comparison(rows: list[dict], path: Path, title: str) -> Path:
    """Accuracy (with CI) and ROC-AUC per model: on CIFAKE test and on the other set."""
    names = [row["model"] for row in rows]
    positions = np.arange(len(names))
    width = 0.4
    figure, axes = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(names)), 5))
    for offset, key, label in ((-width / 2, "cifake", "CIFAKE test"), (width / 2, "other", "other set")):
        accuracy = [row[key]["accuracy"] for row in rows]
        axes[0].bar(positions + offset, accuracy, width, label=label,
                    yerr=_error_bars(accuracy, [row[key]["accuracy_ci95"] for row in rows]), capsize=3)
        axes[1].bar(positions + offset, [row[key]["roc_auc"] for row in rows], width, label=label)
    # Headroom above 1 keeps the legend off the bars.
    axes[0].set(ylabel="accuracy (95% CI)", ylim=(0, 1.15))
    axes[1].set(ylabel="ROC-AUC", ylim=(0, 1.15))
    for axis in axes:
        # Slanted names stay legible when a dozen models sit side by side.
        axis.set_xticks(positions, names, rotation=40, ha="right", fontsize=8)
        axis.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        axis.legend(fontsize=8, loc="upper center", ncol=2)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return save_figure(figure, path)
