"""Where each model family is explained: the Grad-CAM target layer and, for token models, the reshape of
token activations into a feature map (derived from the model's config, never hard-coded grid sizes)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from transformers import PreTrainedModel


class LogitsOnly(nn.Module):
    """pytorch-grad-cam expects ``model(x) -> logits``; transformers models return an output object."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


def is_token_model(model: PreTrainedModel) -> bool:
    return model.config.model_type in ("vit", "dinov2")


def patch_grid(model: PreTrainedModel, image_height: int, image_width: int) -> tuple[int, int]:
    patch = model.config.patch_size
    return image_height // patch, image_width // patch


def gradcam_target_layer(model: PreTrainedModel) -> nn.Module:
    """The last layer whose output is still a spatial map (CNNs) or a full token sequence (transformers)."""
    model_type = model.config.model_type
    if model_type == "realfake-paper-cnn":
        return model.features[-2]  # the ReLU after the last convolution, before its pooling
    if model_type == "realfake-cifar-resnet":
        return model.blocks[-1]
    if model_type == "vit":
        return model.vit.layers[-1].layernorm_before
    if model_type == "dinov2":
        return model.dinov2.encoder.layer[-1].norm1
    if model_type == "timm_wrapper":
        return model.timm_model.bn2
    raise ValueError(f"no Grad-CAM target layer known for model type '{model_type}'")


def token_reshape_transform(model: PreTrainedModel, image_height: int, image_width: int) -> Callable | None:
    """(B, 1 + H*W, C) tokens -> (B, C, H, W), dropping the CLS token; None for CNNs."""
    if not is_token_model(model):
        return None
    height, width = patch_grid(model, image_height, image_width)

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        patches = tokens[:, -height * width :, :]
        return patches.reshape(tokens.size(0), height, width, tokens.size(2)).permute(0, 3, 1, 2)

    return reshape
