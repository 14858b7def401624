"""Detection metrics with fake (label 1) as the positive class. All offline: scikit-learn, SciPy, NumPy."""

from __future__ import annotations

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

FAKE = 1


def expected_calibration_error(labels: np.ndarray, p_fake: np.ndarray, n_bins: int = 15) -> float:
    """ECE of ``p_fake`` as a probability of 'fake': sum over equal-width bins of |frac_fake - mean p| x share.

    Written here because scikit-learn has no ECE (only ``calibration_curve``, which drops bin sizes).
    """
    labels, p_fake = np.asarray(labels, dtype=float), np.asarray(p_fake, dtype=float)
    bins = np.clip((p_fake * n_bins).astype(int), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            ece += members.mean() * abs(labels[members].mean() - p_fake[members].mean())
    return float(ece)


def accuracy_interval(correct: np.ndarray, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0):
    """Percentile bootstrap interval of the mean of ``correct`` (0/1 per image)."""
    correct = np.asarray(correct, dtype=float)
    if len(correct) < 2 or correct.min() == correct.max():
        return float(correct.mean()), float(correct.mean())
    result = bootstrap(
        (correct,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
        random_state=np.random.default_rng(seed), vectorized=True,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def error_rates(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """False-positive rate (real judged fake) and false-negative rate (fake judged real)."""
    real, fake = labels == 0, labels == FAKE
    return {
        "false_positive_rate": _rate(int((predicted[real] == FAKE).sum()), int(real.sum())),
        "false_negative_rate": _rate(int((predicted[fake] != FAKE).sum()), int(fake.sum())),
    }


def detection_metrics(
    labels, p_fake, contents=None, content_names: list[str] | None = None, threshold: float = 0.5, seed: int = 0
) -> dict:
    labels = np.asarray(labels, dtype=int)
    p_fake = np.asarray(p_fake, dtype=float)
    predicted = (p_fake >= threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    low, high = accuracy_interval(predicted == labels, seed=seed)
    metrics = {
        "n": int(len(labels)),
        "threshold": threshold,
        "accuracy": float(accuracy_score(labels, predicted)),
        "accuracy_ci95": [low, high],
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, p_fake)) if both_classes else None,
        "average_precision": float(average_precision_score(labels, p_fake)) if both_classes else None,
        "ece_15": expected_calibration_error(labels, p_fake, 15),
        "confusion_matrix": {
            "labels": ["real", "fake"],
            "rows_true_columns_predicted": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        },
        **error_rates(labels, predicted),
    }
    if contents is not None:
        contents = np.asarray(contents)
        per_content = {}
        for index in np.unique(contents):
            members = contents == index
            name = content_names[index] if content_names else str(index)
            correct = predicted[members] == labels[members]
            per_content[name] = {
                "n": int(members.sum()),
                "accuracy": float(correct.mean()),
                "accuracy_ci95": list(accuracy_interval(correct, seed=seed)),
                **error_rates(labels[members], predicted[members]),
            }
        metrics["per_content"] = per_content
    return metrics
