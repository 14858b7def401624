"""Model registry: ``create_model(name, ...)`` builds any detector a config can name.

Every model is a transformers ``PreTrainedModel`` (ours are registered with the Auto classes at import), so
``AutoModelForImageClassification.from_pretrained(DIR)`` and ``pipeline("image-classification", model=DIR)``
work on any folder ``train.py`` writes (after ``import realfake_hf``). Each entry also names the input
normalisation its weights expect, which training, evaluation and the saved image processor all use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, AutoModelForImageClassification, PreTrainedModel, ViTConfig, ViTForImageClassification

from .configuration_paper_cnn import REAL_FAKE_ID2LABEL, PaperCNNConfig, with_real_fake_labels
from .configuration_resnet import CifarResNetConfig
from .image_processing import DEFAULT_MEAN, DEFAULT_STD, make_image_processor
from .modeling_paper_cnn import PaperCNNForImageClassification
from .modeling_resnet import CifarResNetForImageClassification
from .pretrained import locate_pretrained, pretrained_classifier

for _config, _model in ((PaperCNNConfig, PaperCNNForImageClassification), (CifarResNetConfig, CifarResNetForImageClassification)):
    AutoConfig.register(_config.model_type, _config)
    AutoModelForImageClassification.register(_config, _model)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., PreTrainedModel]
    mean: tuple[float, ...] = DEFAULT_MEAN
    std: tuple[float, ...] = DEFAULT_STD
    pretrained: bool = False


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, mean=DEFAULT_MEAN, std=DEFAULT_STD, pretrained: bool = False):
    def decorator(build: Callable[..., PreTrainedModel]):
        _REGISTRY[name] = ModelEntry(build, tuple(mean), tuple(std), pretrained)
        return build

    return decorator


def list_models(pretrained: bool | None = None) -> list[str]:
    return sorted(name for name, entry in _REGISTRY.items() if pretrained is None or entry.pretrained == pretrained)


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise KeyError(f"Unknown model '{name}'. Registered models: {', '.join(list_models())}")
    return _REGISTRY[name]


def create_model(
    name: str, image_size: int = 32, pretrained_path: str | None = None, freeze_backbone: bool = False,
    **config_overrides,
) -> PreTrainedModel:
    """A freshly initialised detector, a pretrained backbone with a new real/fake head, or (``pretrained_path``
    on a from-scratch model) a detector trained before, to fine-tune further (e.g. adversarial fine-tuning)."""
    entry = model_entry(name)
    if entry.pretrained:
        model = entry.build(image_size=image_size, pretrained_path=pretrained_path, freeze_backbone=freeze_backbone,
                            **config_overrides)
        if hasattr(model.config, "pretrained_cfg"):
            # A timm folder's image processor is built from config.json's pretrained_cfg (e.g. 224 px, 87.5% centre
            # crop): make it describe this model's real input, so pipeline() on a saved folder feeds what training fed.
            model.config.pretrained_cfg.update(input_size=[3, image_size, image_size], crop_pct=1.0,
                                               mean=list(entry.mean), std=list(entry.std))
        return model
    if freeze_backbone:
        raise ValueError(f"'{name}' is trained from scratch: it has no pretrained backbone to freeze")
    model = entry.build(image_size=image_size, **config_overrides)
    return continue_from_trained(model, pretrained_path) if pretrained_path else model


def continue_from_trained(model: PreTrainedModel, folder: str) -> PreTrainedModel:
    """``model``'s architecture with the weights of a trained detector folder (train.py's ``model/``, or a Trainer
    checkpoint: ``DetectorTrainer`` resumes and reloads the best epoch through this).

    The config asked for decides the architecture; the folder must hold exactly its weights, so a wrong folder
    (another model, other widths or image size) fails here with the keys that differ, instead of transformers'
    usual warning and a silently half-random model."""
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"pretrained_path {folder} is not a trained model folder (no config.json): give the model/ folder that "
            "train.py wrote, e.g. results/resnet_wide/model."
        )
    trained, loading = type(model).from_pretrained(path, config=model.config, output_loading_info=True)
    problems = {kind: keys for kind, keys in loading.items() if keys and kind != "error_msgs"}
    if problems:
        raise ValueError(f"The weights in {folder} do not fit the configured '{model.config.model_type}' model: {problems}")
    return trained


def image_processor_for(name: str, image_size: int):
    entry = model_entry(name)
    return make_image_processor(image_size, entry.mean, entry.std)


@register_model("paper_cnn")
def paper_cnn(image_size: int = 32, **config_overrides) -> PaperCNNForImageClassification:
    return PaperCNNForImageClassification(PaperCNNConfig(image_size=image_size, **config_overrides))


@register_model("resnet")
def cifar_resnet(image_size: int = 32, **config_overrides) -> CifarResNetForImageClassification:
    return CifarResNetForImageClassification(CifarResNetConfig(image_size=image_size, **config_overrides))


@register_model("vit_scratch")
def vit_scratch(image_size: int = 32, **config_overrides) -> ViTForImageClassification:
    """A small ViT for 32 px (patch 4: 64 tokens + CLS; 6 layers of width 128, 4 heads; 0.8M parameters),
    sized so an epoch of CIFAKE takes minutes on 2 CPU cores (width 192 took 9.5 min). Train with the default
    (SDPA) attention; load with ``attn_implementation="eager"`` when attention weights are needed."""
    settings = dict(
        image_size=image_size, patch_size=4, hidden_size=128, num_hidden_layers=6, num_attention_heads=4,
        intermediate_size=256, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    settings.update(config_overrides)
    return ViTForImageClassification(ViTConfig(**with_real_fake_labels(settings)))


@register_model("dinov2_small", mean=IMAGENET_MEAN, std=IMAGENET_STD, pretrained=True)
def dinov2_small(image_size: int = 112, pretrained_path: str | None = None, freeze_backbone: bool = False,
                 **config_overrides) -> PreTrainedModel:
    """DINOv2 ViT-S/14; position embeddings are interpolated to ``image_size`` by the model itself."""
    location = locate_pretrained("dinov2-small", "facebook/dinov2-small", pretrained_path)
    return pretrained_classifier(location, freeze_backbone, **config_overrides)


@register_model("efficientnet_lite0", pretrained=True)
def efficientnet_lite0(image_size: int = 224, pretrained_path: str | None = None, freeze_backbone: bool = False,
                       **config_overrides) -> PreTrainedModel:
    """timm's tf_efficientnet_lite0 (ImageNet) through transformers' ``TimmWrapper`` (mean = std = 0.5)."""
    location = locate_pretrained("tf_efficientnet_lite0.in1k", "timm/tf_efficientnet_lite0.in1k", pretrained_path)
    return pretrained_classifier(location, freeze_backbone, **config_overrides)


__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "REAL_FAKE_ID2LABEL", "CifarResNetConfig", "CifarResNetForImageClassification",
    "PaperCNNConfig", "PaperCNNForImageClassification", "create_model", "image_processor_for", "list_models",
    "make_image_processor", "model_entry", "register_model",
]
