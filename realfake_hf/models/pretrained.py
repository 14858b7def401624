"""Pretrained backbones (transformers and timm) with a fresh real/fake head, optionally frozen (linear probe).

Weights are looked up like datasets: an explicit ``pretrained_path``, ``$REALFAKE_MODELS_DIR/NAME``,
``models/NAME`` in the checkout, ``../shared/models/NAME``; when none exists the Hub id is used (needs the
network, e.g. ``facebook/dinov2-small`` or ``timm/tf_efficientnet_lite0.in1k``).
"""

from __future__ import annotations

import logging

from transformers import AutoModelForImageClassification, PreTrainedModel

from ..data.locate import candidate_dirs
from .configuration_paper_cnn import with_real_fake_labels

logger = logging.getLogger(__name__)

MODELS_DIR_ENV = "REALFAKE_MODELS_DIR"
HEAD_NAMES = ("classifier", "head", "fc")


def locate_pretrained(folder: str, hub_id: str, explicit: str | None = None) -> str:
    for path in candidate_dirs(folder, explicit, env=MODELS_DIR_ENV, local="models", mirror="models"):
        if (path / "config.json").exists():
            return str(path.resolve())
    if explicit:
        raise FileNotFoundError(f"pretrained_path {explicit} has no config.json (a transformers or timm model folder).")
    logger.warning("no local copy of %s found; loading %s from the Hugging Face Hub", folder, hub_id)
    return hub_id


def freeze_all_but_head(model: PreTrainedModel) -> PreTrainedModel:
    """Linear probe (UnivFD, Ojha et al. 2023): only the classification head stays trainable."""
    for parameter in model.parameters():
        parameter.requires_grad = False
    heads = [module for name, module in model.named_modules() if name.split(".")[-1] in HEAD_NAMES]
    if not heads:
        raise ValueError(f"{type(model).__name__}: no classification head named one of {HEAD_NAMES}")
    for parameter in heads[-1].parameters():
        parameter.requires_grad = True
    return model


def pretrained_classifier(location: str, freeze_backbone: bool = False, **config_overrides) -> PreTrainedModel:
    """Any transformers image-classification checkpoint (timm folders load through ``TimmWrapper``)."""
    model = AutoModelForImageClassification.from_pretrained(
        location,
        num_labels=2,
        ignore_mismatched_sizes=True,  # the 1000-class ImageNet head (if any) is replaced
        **with_real_fake_labels(config_overrides),
    )
    return freeze_all_but_head(model) if freeze_backbone else model
