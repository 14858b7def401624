"""The CIFAKE paper's CNN as a transformers ``PreTrainedModel``."""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutput

from .configuration_paper_cnn import PaperCNNConfig


class RealFakePreTrainedModel(PreTrainedModel):
    """Shared base of this project's own models: image input, PyTorch's default init for conv/linear.

    transformers' generic init draws conv and linear weights from N(0, 0.02), which is too small for a
    shallow ReLU network without normalisation; Kaiming-uniform (PyTorch's own default) trains as Keras' does.
    """

    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
            init.ones_(module.weight)
            init.zeros_(module.bias)

    @staticmethod
    def classification_output(logits: torch.Tensor, labels: torch.Tensor | None) -> ImageClassifierOutput:
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return ImageClassifierOutput(loss=loss, logits=logits)


class PaperCNNForImageClassification(RealFakePreTrainedModel):
    config_class = PaperCNNConfig
    base_model_prefix = "paper_cnn"

    def __init__(self, config: PaperCNNConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        channels = config.num_channels
        for width in config.conv_channels:
            layers += [
                nn.Conv2d(channels, width, config.kernel_size, padding="same"),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        side = config.image_size // 2 ** len(config.conv_channels)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * side * side, config.dense_units),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.dense_units, config.num_labels),
        )
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs) -> ImageClassifierOutput:
        return self.classification_output(self.classifier(self.features(pixel_values)), labels)
