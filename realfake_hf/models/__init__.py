"""Model registry: ``create_model(name, **overrides)`` builds any detector a config can name.

Every model is a transformers ``PreTrainedModel`` registered with the Auto classes at import, so
``AutoModelForImageClassification.from_pretrained(DIR)`` and ``pipeline("image-classification", model=DIR)``
work on any folder ``train.py`` writes (after ``import realfake_hf``).
"""

from __future__ import annotations

from collections.abc import Callable

from transformers import AutoConfig, AutoModelForImageClassification, PreTrainedModel

from .configuration_paper_cnn import REAL_FAKE_ID2LABEL, PaperCNNConfig
from .image_processing import make_image_processor
from .modeling_paper_cnn import PaperCNNForImageClassification

AutoConfig.register(PaperCNNConfig.model_type, PaperCNNConfig)
AutoModelForImageClassification.register(PaperCNNConfig, PaperCNNForImageClassification)

_REGISTRY: dict[str, Callable[..., PreTrainedModel]] = {}


def register_model(name: str):
    def decorator(factory: Callable[..., PreTrainedModel]):
        _REGISTRY[name] = factory
        return factory

    return decorator


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, image_size: int = 32, **config_overrides) -> PreTrainedModel:
    """A freshly initialised (or pretrained, for backbone models) detector, by registered name."""
    if name not in _REGISTRY:
        raise KeyError(f"Unknown model '{name}'. Registered models: {', '.join(list_models())}")
    return _REGISTRY[name](image_size=image_size, **config_overrides)


@register_model("paper_cnn")
def paper_cnn(image_size: int = 32, **config_overrides) -> PaperCNNForImageClassification:
    return PaperCNNForImageClassification(PaperCNNConfig(image_size=image_size, **config_overrides))


__all__ = [
    "REAL_FAKE_ID2LABEL", "PaperCNNConfig", "PaperCNNForImageClassification", "create_model", "list_models",
    "make_image_processor", "register_model",
]
