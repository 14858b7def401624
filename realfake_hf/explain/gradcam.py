"""Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018) through pytorch-grad-cam."""

from __future__ import annotations

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from transformers import PreTrainedModel

from .layers import LogitsOnly, gradcam_target_layer, token_reshape_transform


def _cam(method, model: PreTrainedModel, pixel_values: torch.Tensor, target: int | list[int]) -> np.ndarray:
    height, width = pixel_values.shape[-2:]
    targets = [ClassifierOutputTarget(t) for t in (target if isinstance(target, list) else [target] * len(pixel_values))]
    with method(
        model=LogitsOnly(model).eval(),
        target_layers=[gradcam_target_layer(model)],
        reshape_transform=token_reshape_transform(model, height, width),
    ) as cam:
        return cam(input_tensor=pixel_values, targets=targets).astype(np.float32)


def grad_cam(model: PreTrainedModel, pixel_values: torch.Tensor, target: int | list[int]) -> np.ndarray:
    return _cam(GradCAM, model, pixel_values, target)


def grad_cam_plus_plus(model: PreTrainedModel, pixel_values: torch.Tensor, target: int | list[int]) -> np.ndarray:
    return _cam(GradCAMPlusPlus, model, pixel_values, target)
