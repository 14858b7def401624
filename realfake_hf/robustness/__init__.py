"""Robustness of real/fake detectors: everyday perturbations (``perturbations``), white-box attacks and their
transfer between models (``attacks``), and the report that runs both over a dataset split (``report``;
``python -m realfake_hf.robustness``)."""

from __future__ import annotations

from .perturbations import PERTURBATIONS, Perturbation, perturb

__all__ = ["PERTURBATIONS", "Perturbation", "perturb"]
