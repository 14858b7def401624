"""The numbers of the cross-dataset report, as pure functions of labels, scores and logits.

Labels are dataset labels (0 = real, 1 = fake); ``p_fake`` is the model's probability of 'fake'.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import log_loss, roc_curve

from ..calibration import abstain_report, p_fake_at_temperature
from ..data import CIFAR10_CLASSES
from ..metrics import accuracy_interval, detection_metrics, error_rates, expected_calibration_error

NO_OVERLAP = "no image of this set shows a CIFAR-10 class under the content map"
NOTHING_OUTSIDE = "every image of this set shows a CIFAR-10 class under the content map"


def best_accuracy_threshold(labels: np.ndarray, p_fake: np.ndarray) -> float:
    """The decision threshold on ``p_fake`` with the highest accuracy on these labels (an oracle on a test set)."""
    labels, p_fake = np.asarray(labels, dtype=int), np.asarray(p_fake, dtype=float)
    if len(np.unique(labels)) < 2:
        return 0.5
    false_positive_rate, true_positive_rate, thresholds = roc_curve(labels, p_fake)
    positives, negatives = labels.sum(), (1 - labels).sum()
    accuracy = (true_positive_rate * positives + (1 - false_positive_rate) * negatives) / len(labels)
    return float(min(thresholds[int(np.argmax(accuracy))], 1.0))


def decisions_at(labels: np.ndarray, p_fake: np.ndarray, threshold: float, seed: int = 0) -> dict:
    labels = np.asarray(labels, dtype=int)
    predicted = (np.asarray(p_fake) >= threshold).astype(int)
    correct = predicted == labels
    return {"threshold": float(threshold), "n": int(len(labels)), "accuracy": float(correct.mean()),
            "accuracy_ci95": list(accuracy_interval(correct, seed=seed)), **error_rates(labels, predicted)}


def validate_content_map(content_map: dict[str, str | None], content_names: list[str]) -> dict[str, str | None]:
    """Each of this set's content categories -> a CIFAR-10 class or None; unknown names are clear errors."""
    unknown_categories = set(content_map) - set(content_names)
    if unknown_categories:
        raise ValueError(f"content_map names categories {sorted(unknown_categories)} that the dataset does not "
                         f"have; its categories are {content_names}")
    bad_targets = {k: v for k, v in content_map.items() if v is not None and v not in CIFAR10_CLASSES}
    if bad_targets:
        raise ValueError(f"content_map targets must be CIFAR-10 classes {CIFAR10_CLASSES} or null; got {bad_targets}")
    return {name: content_map.get(name) for name in content_names}


def overlap_metrics(labels: np.ndarray, p_fake: np.ndarray, contents: list[str], content_map: dict[str, str | None],
                    threshold: float = 0.5) -> dict:
    """Metrics on images whose content CIFAKE also shows (a failure there is a model limit) and on the rest
    (a failure there may be dataset bias: CIFAKE never showed such content)."""
    labels, p_fake = np.asarray(labels, dtype=int), np.asarray(p_fake, dtype=float)
    overlapping = np.array([content_map.get(content) is not None for content in contents], dtype=bool)
    result = {}
    for name, members, empty_note in (("overlapping", overlapping, NO_OVERLAP),
                                      ("non_overlapping", ~overlapping, NOTHING_OUTSIDE)):
        if not members.any():
            result[name] = {"n": 0, "note": empty_note}
            continue
        metrics = detection_metrics(labels[members], p_fake[members], threshold=threshold)
        result[name] = {key: metrics[key] for key in ("n", "accuracy", "accuracy_ci95", "roc_auc", "ece_15",
                                                      "false_positive_rate", "false_negative_rate")}
        result[name]["categories"] = sorted({c for c, m in zip(contents, members) if m})
    return result


def to_class_indices(labels: np.ndarray, fake_index: int) -> np.ndarray:
    """Dataset labels (1 = fake) -> the model's class indices, whose order its config decides."""
    labels = np.asarray(labels, dtype=int)
    return np.where(labels == 1, fake_index, 1 - fake_index)


def calibration_effect(logits: np.ndarray, labels: np.ndarray, temperature: float, fake_index: int,
                       real_below: float = 0.3, fake_above: float = 0.7) -> dict:
    """ECE, log loss and the abstain band before and after dividing the logits by ``temperature``."""
    labels = np.asarray(labels, dtype=int)
    result = {"n": int(len(labels))}
    for name, scale in (("before", 1.0), ("after", temperature)):
        p_fake = p_fake_at_temperature(logits, scale, fake_index)
        result[name] = {
            "ece_15": expected_calibration_error(labels, p_fake),
            "log_loss": float(log_loss(labels, np.clip(p_fake, 1e-7, 1 - 1e-7), labels=[0, 1])),
            "abstain": abstain_report(labels, p_fake, real_below, fake_above),
        }
    return result


def most_confident_errors(labels: np.ndarray, p_fake: np.ndarray, count: int, threshold: float = 0.5) -> dict:
    """Row indices of the false positives (real judged fake) with the highest p_fake and of the false negatives
    with the lowest, most confident first."""
    labels, p_fake = np.asarray(labels, dtype=int), np.asarray(p_fake, dtype=float)
    false_positives = np.flatnonzero((labels == 0) & (p_fake >= threshold))
    false_negatives = np.flatnonzero((labels == 1) & (p_fake < threshold))
    return {
        "false_positives": false_positives[np.argsort(-p_fake[false_positives], kind="stable")][:count].tolist(),
        "false_negatives": false_negatives[np.argsort(p_fake[false_negatives], kind="stable")][:count].tolist(),
    }


def real_flagged_as_fake(labels: np.ndarray, p_fake: np.ndarray, contents: list[str], threshold: float = 0.5,
                         confident: float = 0.9) -> dict:
    """Per content category, who pays for false positives: the share of its real images flagged as fake, the
    share flagged with p_fake >= ``confident``, and the median p_fake of the flagged ones."""
    labels, p_fake, contents = np.asarray(labels, dtype=int), np.asarray(p_fake, dtype=float), np.asarray(contents)
    result = {}
    for content in sorted(set(contents[labels == 0].tolist())):
        scores = p_fake[(labels == 0) & (contents == content)]
        flagged = scores[scores >= threshold]
        result[content] = {
            "n_real": int(len(scores)),
            "flagged_share": float(len(flagged) / len(scores)),
            "confidently_flagged_share": float((scores >= confident).mean()),
            "median_p_fake_of_flagged": float(np.median(flagged)) if len(flagged) else None,
        }
    return result
