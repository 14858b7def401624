"""Figures of the explanation report: mean deletion/insertion curves, metric distributions, galleries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.images import resize_to_square, to_rgb
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


def model_view(image, side: int) -> tuple[np.ndarray, int]:
    """What the model saw, at ``side`` px, enlarged without smoothing to about 256 px; and the enlargement."""
    scale = max(1, (32 * UPSCALE) // side)
    return np.asarray(resize_to_square(to_rgb(image), side).resize((side * scale,) * 2, resample=0)), scale


def plot_gallery(items: list[dict], methods: list[str], path: Path, title: str) -> Path:
    """One row per item: [the picture as taken, when ``item["original"]`` is given], the model's view (its input,
    upscaled without smoothing) and one overlay per method; the row title gives ``p_fake`` and any ``caption``."""
    with_original = any("original" in item for item in items)
    columns = 1 + len(methods) + with_original
    figure, axes = plt.subplots(len(items), columns, figsize=(2.2 * columns, 2.4 * len(items)), squeeze=False,
                              layout="constrained")  # tight_layout lets the suptitle overlap the first row's titles
    for row, item in zip(axes, items):
        view, scale = model_view(item["image"], next(iter(item["maps"].values())).shape[0] if item["maps"] else 32)
        cells = iter(row)
        if with_original:
            axis = next(cells)
            axis.imshow(np.asarray(to_rgb(item["original"])))
            axis.set_title(item.get("caption", ""), fontsize=7)
        axis = next(cells)
        axis.imshow(view)
        axis.set_title(f"model input, p(fake) {item['p_fake']:.2f}", fontsize=7)
        for method in methods:
            axis = next(cells)
            axis.imshow(view)
            axis.imshow(np.kron(item["maps"][method], np.ones((scale, scale))), cmap="jet", alpha=0.45, vmin=0, vmax=1)
            axis.set_title(method, fontsize=8)
        for axis in row:
            axis.axis("off")
    figure.suptitle(title)
    return save_figure(figure, path)
