"""Configuration of the CIFAKE paper's CNN (Bird & Lotfi 2024)."""

from __future__ import annotations

from transformers import PreTrainedConfig

REAL_FAKE_ID2LABEL = {0: "real", 1: "fake"}


def with_real_fake_labels(kwargs: dict) -> dict:
    """Config kwargs with ``id2label``/``label2id`` defaulting to this project's {0: real, 1: fake}."""
    kwargs.setdefault("id2label", dict(REAL_FAKE_ID2LABEL))
    kwargs.setdefault("label2id", {label: index for index, label in REAL_FAKE_ID2LABEL.items()})
    return kwargs


class PaperCNNConfig(PreTrainedConfig):
    """Two 3x3 conv layers of ``conv_channels`` filters ('same' padding), each followed by ReLU and 2x2
    max-pooling, a dense layer of ``dense_units`` and a 2-way output: about 0.14M parameters by default,
    the topology public re-implementations of the paper use (the paper's abstract does not give it).
    The paper's single sigmoid unit is written as two logits so every model here shares one head and loss."""

    model_type = "realfake-paper-cnn"

    def __init__(
        self,
        num_channels: int = 3,
        image_size: int = 32,
        conv_channels: list[int] | tuple[int, ...] = (32, 32),
        kernel_size: int = 3,
        dense_units: int = 64,
        dropout: float = 0.0,
        **kwargs,
    ):
        self.num_channels = num_channels
        self.image_size = image_size
        self.conv_channels = list(conv_channels)
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.dropout = dropout
        super().__init__(**with_real_fake_labels(kwargs))
