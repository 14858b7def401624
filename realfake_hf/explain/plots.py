"""Figures of the explanation report: mean deletion/insertion curves, metric distributions, galleries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..plots import save_figure, plt

UPSCALE = 8  # 32 px CIFAKE images become 256 px, large enough to see where a map points


def plot_curves(mean_curves: dict[str, list[float]], path: Path) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, mode in zip(axes, ("deletion", "insertion")):
        for name, curve in mean_curves.items():
            method, curve_mode = name.rsplit(" ", 1)
            if curve_mode == mode:
                axis.plot(np.linspace(0, 1, len(curve)), curve, "--" if method == "random" else "-", label=method)
        axis.set(xlabel=f"share of pixels {'removed' if mode == 'deletion' else 'revealed'} (most salient first)",
                 title=f"{mode} (lower is better)" if mode == "deletion" else f"{mode} (higher is better)")
        axis.grid(alpha=0.3)
        axis.legend()
    axes[0].set_ylabel("p(predicted class)")
    return save_figure(figure, path)


def plot_distributions(frame: pd.DataFrame, methods: list[str], output_dir: Path) -> list[Path]:
    """Central-saliency share per content class and label; agreement between methods by label."""
    paths = []
    figure, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 4), squeeze=False, sharey=True)
    for axis, method in zip(axes[0], methods):
        table = frame.pivot_table(index="content", columns="label", values=f"central_share_{method}", aggfunc="mean")
        table.plot.bar(ax=axis, rot=45)
        axis.axhline(frame["central_share_random"].mean(), color="grey", linestyle="--", label="uniform map")
        axis.set(title=f"{method}: saliency in the central half", ylabel="share of saliency", xlabel="")
        axis.legend()
    paths.append(save_figure(figure, output_dir / "central_share.png"))
    agreement_columns = [c for c in frame.columns if c.startswith(("iou_top20_", "spearman_"))]
    if agreement_columns:
        figure, axes = plt.subplots(1, len(agreement_columns), figsize=(4.5 * len(agreement_columns), 4), squeeze=False)
        for axis, column in zip(axes[0], agreement_columns):
            groups = [(name, group[column].dropna()) for name, group in frame.groupby(["label", "correct"])]
            axis.boxplot([values for _, values in groups], tick_labels=[f"{l}\n{'right' if c else 'wrong'}" for (l, c), _ in groups])
            axis.set(title=column.replace("_", " "))
        paths.append(save_figure(figure, output_dir / "agreement.png"))
    return paths


def plot_gallery(items: list[dict], methods: list[str], path: Path, title: str) -> Path:
    columns = 1 + len(methods)
    figure, axes = plt.subplots(len(items), columns, figsize=(2.2 * columns, 2.3 * len(items)), squeeze=False)
    for row, item in zip(axes, items):
        image = np.asarray(item["image"].convert("RGB").resize((32 * UPSCALE, 32 * UPSCALE), resample=0))
        row[0].imshow(image)
        row[0].set_title(f"p(fake) {item['p_fake']:.2f}", fontsize=8)
        for axis, method in zip(row[1:], methods):
            saliency = np.kron(item["maps"][method], np.ones((UPSCALE, UPSCALE)))
            axis.imshow(image)
            axis.imshow(saliency, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            axis.set_title(method, fontsize=8)
        for axis in row:
            axis.axis("off")
    figure.suptitle(title)
    return save_figure(figure, path)
