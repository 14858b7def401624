"""Configuration of a CIFAR-style residual network for 32 px inputs (He et al. 2016, pre-activation)."""

from __future__ import annotations

from transformers import PreTrainedConfig

from .configuration_paper_cnn import with_real_fake_labels


class CifarResNetConfig(PreTrainedConfig):
    """A 3x3 stem, then one stage per entry of ``widths`` with ``blocks_per_stage`` pre-activation basic
    blocks (stages after the first halve the resolution), global average pooling and a linear head. The
    defaults (16/32/64 wide, 3 blocks each) are ResNet-20 of the paper's CIFAR section: 0.27M parameters."""

    model_type = "realfake-cifar-resnet"

    def __init__(
        self,
        num_channels: int = 3,
        image_size: int = 32,
        widths: list[int] | tuple[int, ...] = (16, 32, 64),
        blocks_per_stage: int = 3,
        dropout: float = 0.0,
        **kwargs,
    ):
        self.num_channels = num_channels
        self.image_size = image_size
        self.widths = list(widths)
        self.blocks_per_stage = blocks_per_stage
        self.dropout = dropout
        super().__init__(**with_real_fake_labels(kwargs))
