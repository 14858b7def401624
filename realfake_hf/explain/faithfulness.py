"""Does a map point at what the model uses? Deletion and insertion curves (Petsiuk et al. 2018, RISE) and
the share of saliency in the image centre (the CIFAKE paper's object-vs-background reading).

Written here because pytorch-grad-cam's metrics (ROAD, confidence change) score one perturbation level,
not the deletion/insertion curves whose areas are the usual faithfulness numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.functional import gaussian_blur
from transformers import PreTrainedModel


@torch.no_grad()
def _probabilities(model: PreTrainedModel, pixels: torch.Tensor, target: torch.Tensor, batch_size: int = 512):
    outputs = []
    for start in range(0, len(pixels), batch_size):
        logits = model(pixel_values=pixels[start : start + batch_size]).logits
        outputs.append(torch.softmax(logits.float(), -1).gather(1, target[start : start + batch_size].view(-1, 1))[:, 0])
    return torch.cat(outputs)


def perturbation_curves(
    model: PreTrainedModel,
    pixel_values: torch.Tensor,
    maps: np.ndarray,
    target: int | list[int],
    mode: str = "deletion",
    steps: int = 16,
) -> np.ndarray:
    """(B, steps + 1) probability of ``target`` as pixels are removed (deletion: replaced by 0, the
    normalised mean grey) or revealed on a blurred copy (insertion), most salient first."""
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got '{mode}'")
    model.eval()
    batch, _, height, width = pixel_values.shape
    targets = torch.as_tensor(target if isinstance(target, list) else [target] * batch)
    order = torch.from_numpy(np.argsort(-maps.reshape(batch, -1), axis=1, kind="stable").copy())
    if mode == "deletion":
        start, finish = pixel_values, torch.zeros_like(pixel_values)
    else:
        start, finish = gaussian_blur(pixel_values, kernel_size=[11, 11], sigma=[5.0, 5.0]), pixel_values
    stages = []
    for step in range(steps + 1):
        count = int(round(step / steps * height * width))
        chosen = torch.zeros(batch, height * width, dtype=torch.bool)
        chosen.scatter_(1, order[:, :count], True)
        chosen = chosen.view(batch, 1, height, width)
        stages.append(torch.where(chosen, finish, start))
    probabilities = _probabilities(model, torch.cat(stages), targets.repeat(steps + 1))
    return probabilities.view(steps + 1, batch).T.cpu().numpy()


def area_under_curve(curves: np.ndarray) -> np.ndarray:
    """Area under each curve over the removed/revealed fraction 0..1 (trapezoidal rule)."""
    return np.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), axis=1)


def central_share(maps: np.ndarray, area: float = 0.5) -> np.ndarray:
    """Share of each map's saliency inside the central square covering ``area`` of the image. A proxy for
    'object vs background' only: CIFAKE has no object masks, and objects are usually, not always, central."""
    _, height, width = maps.shape
    side_h, side_w = int(round(height * area**0.5)), int(round(width * area**0.5))
    top, left = (height - side_h) // 2, (width - side_w) // 2
    centre = maps[:, top : top + side_h, left : left + side_w].sum(axis=(1, 2))
    total = maps.sum(axis=(1, 2))
    return np.divide(centre, total, out=np.full(len(maps), np.nan), where=total > 0)
