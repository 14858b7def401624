"""How much two saliency maps of the same image agree (e.g. Grad-CAM vs attention rollout)."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def top_fraction_mask(saliency: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the ``fraction`` most salient pixels (ties broken by position, so exactly k pixels)."""
    flat = saliency.ravel()
    k = max(1, int(round(fraction * flat.size)))
    mask = np.zeros(flat.size, dtype=bool)
    mask[np.argsort(-flat, kind="stable")[:k]] = True
    return mask.reshape(saliency.shape)


def top_k_iou(first: np.ndarray, second: np.ndarray, fraction: float) -> float:
    a, b = top_fraction_mask(first, fraction), top_fraction_mask(second, fraction)
    return float((a & b).sum() / (a | b).sum())


def rank_correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rho over pixels; NaN when a map is constant (no ranking to compare)."""
    if np.ptp(first) == 0 or np.ptp(second) == 0:
        return float("nan")
    return float(spearmanr(first.ravel(), second.ravel()).statistic)


def pointing_hit(first: np.ndarray, second: np.ndarray, fraction: float = 0.2) -> bool:
    """Does ``first``'s most salient pixel fall in ``second``'s top ``fraction``? (No object masks exist for
    CIFAKE, so the other map plays the role of the ground-truth region.)"""
    row, column = np.unravel_index(np.argmax(first), first.shape)
    return bool(top_fraction_mask(second, fraction)[row, column])


def agreement(first: np.ndarray, second: np.ndarray, fractions: tuple[float, ...] = (0.1, 0.2)) -> dict:
    return {
        **{f"iou_top{int(round(100 * f))}": top_k_iou(first, second, f) for f in fractions},
        "spearman": rank_correlation(first, second),
        "pointing_hit": pointing_hit(first, second),
    }
