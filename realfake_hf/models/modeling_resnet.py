"""A CIFAR-style pre-activation ResNet as a transformers ``PreTrainedModel``."""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import ImageClassifierOutput

from .configuration_resnet import CifarResNetConfig
from .modeling_paper_cnn import RealFakePreTrainedModel


class PreActBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = torch.relu(self.norm1(x))
        residual = self.shortcut(activated) if self.shortcut is not None else x
        out = self.conv1(activated)
        out = self.conv2(torch.relu(self.norm2(out)))
        return out + residual


class CifarResNetForImageClassification(RealFakePreTrainedModel):
    config_class = CifarResNetConfig
    base_model_prefix = "resnet"

    def __init__(self, config: CifarResNetConfig):
        super().__init__(config)
        widths = config.widths
        self.stem = nn.Conv2d(config.num_channels, widths[0], 3, padding=1, bias=False)
        blocks, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for index in range(config.blocks_per_stage):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(PreActBlock(channels, width, stride))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.final_norm = nn.BatchNorm2d(channels)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(channels, config.num_labels)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs) -> ImageClassifierOutput:
        features = torch.relu(self.final_norm(self.blocks(self.stem(pixel_values))))
        pooled = features.mean(dim=(2, 3))
        return self.classification_output(self.classifier(self.dropout(pooled)), labels)
