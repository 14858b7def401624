"""Confidence for decisions: temperature scaling (Guo et al. 2017) and the abstain band.

Temperature scaling is fitted here with SciPy's bounded scalar minimiser on the negative log-likelihood of
the validation logits: scikit-learn calibrates probabilities (Platt, isotonic) but has no temperature
scaling, which keeps the model's ranking and decisions and only rescales its confidence.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


def fit_temperature(logits: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The T > 0 minimising the NLL of softmax(logits / T) on (validation) ``labels``."""
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=int)

    def nll(temperature: float) -> float:
        return float(-log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=bounds, method="bounded").x)


def p_fake_at_temperature(logits: np.ndarray, temperature: float, fake_index: int = 1) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)[:, fake_index]


def abstain_report(labels: np.ndarray, p_fake: np.ndarray, real_below: float = 0.3, fake_above: float = 0.7) -> dict:
    """Coverage and error rates when p_fake in (real_below, fake_above) is 'uncertain' and not decided."""
    labels, p_fake = np.asarray(labels, dtype=int), np.asarray(p_fake, dtype=float)
    decided = (p_fake <= real_below) | (p_fake >= fake_above)
    predicted = (p_fake >= fake_above).astype(int)
    real, fake = labels == 0, labels == 1

    def rate(errors: np.ndarray, among: np.ndarray) -> float | None:
        return float(errors[among].mean()) if among.any() else None

    return {
        "real_below": real_below,
        "fake_above": fake_above,
        "coverage": float(decided.mean()),
        "coverage_real": rate(decided, real),
        "coverage_fake": rate(decided, fake),
        "accuracy_on_decided": rate(predicted == labels, decided),
        "false_positive_rate_on_decided": rate(predicted == 1, decided & real),
        "false_negative_rate_on_decided": rate(predicted == 0, decided & fake),
    }
