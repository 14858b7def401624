"""From a dataset's ``image`` column to ``pixel_values`` tensors, decoding each image file once.

``with_model_inputs`` converts every image (``images.to_rgb`` + ``images.resize_to_square``) once with a
cached ``Dataset.map`` into raw ``uint8`` bytes; the per-batch transform then only joins bytes into one
tensor, normalises and (for training) flips, shifts and erases. Raw bytes, not an ``Array3D`` column:
``set_transform`` hands batches over as Python objects, and one ``bytes`` per image is cheap where nested lists
are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from datasets import Dataset, Features, Image, Value
from torchvision.transforms.v2 import RandomErasing

from .images import pixels_for_model

PIXELS = "pixels"


def _convert_batch(batch: dict, size: int) -> dict:
    return {PIXELS: [pixels_for_model(image["bytes"], size, name) for image, name in zip(batch["image"], batch["file_name"])]}


def with_model_inputs(dataset: Dataset, image_size: int, train: bool = False, hflip_probability: float = 0.5,
                      mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.5, 0.5, 0.5),
                      max_shift: int = 0, random_erasing_probability: float = 0.0,
                      num_proc: int | None = None) -> Dataset:
    """``dataset`` with ``pixel_values`` (float, normalised) and ``labels``, in the same row order; ``num_proc``
    processes decode the images (one when None)."""
    converted = dataset.cast_column("image", Image(decode=False)).map(
        _convert_batch,
        batched=True,
        batch_size=500,
        num_proc=num_proc,
        fn_kwargs={"size": image_size},
        remove_columns=[c for c in dataset.column_names if c != "label"],
        features=Features({"label": dataset.features["label"], PIXELS: Value("binary")}),
        desc=f"decoding images to {image_size}x{image_size}",
    )
    converted.set_transform(PixelTransform(image_size, train, hflip_probability, tuple(mean), tuple(std), max_shift,
                                           random_erasing_probability))
    return converted


@dataclass(frozen=True)
class PixelTransform:
    """Batch of raw ``uint8`` HWC bytes -> normalised NCHW float tensor; in training, random horizontal flips
    and random shifts of up to ``max_shift`` pixels (reflect-padded, then cropped back: the CIFAR recipe, with
    mirrored rather than black borders so that no synthetic flat edge appears that a detector could learn),
    and random erasing (Zhong et al. 2020): with ``random_erasing_probability``, a random rectangle of 2-33% of
    the image is set to the normalisation mean, the same flat grey for real and fake images, so that the
    detector cannot lean on any one region."""

    image_size: int
    train: bool = False
    hflip_probability: float = 0.5
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    max_shift: int = 0
    random_erasing_probability: float = 0.0

    def __call__(self, batch: dict) -> dict:
        size = self.image_size
        raw = np.frombuffer(b"".join(batch[PIXELS]), dtype=np.uint8).reshape(-1, size, size, 3)
        pixels = torch.from_numpy(raw.copy()).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        pixels = (pixels - mean) / std
        if self.train and self.hflip_probability > 0:
            flip = torch.rand(len(pixels)) < self.hflip_probability
            pixels[flip] = pixels[flip].flip(-1)
        if self.train and self.max_shift > 0:
            pixels = random_shift(pixels, self.max_shift)
        if self.train and self.random_erasing_probability > 0:
            erase = RandomErasing(p=self.random_erasing_probability, value=0.0)
            pixels = torch.stack([erase(image) for image in pixels])
        output = {"pixel_values": pixels}
        if "label" in batch:
            output["labels"] = torch.as_tensor(batch["label"])
        return output


def random_shift(pixels: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each NCHW image moved by its own random (dy, dx) in [-max_shift, max_shift], borders reflected."""
    height, width = pixels.shape[-2:]
    padded = torch.nn.functional.pad(pixels, (max_shift,) * 4, mode="reflect")
    offsets = torch.randint(0, 2 * max_shift + 1, (len(pixels), 2), generator=generator)
    return torch.stack([padded[i, :, y : y + height, x : x + width] for i, (y, x) in enumerate(offsets.tolist())])


def collate_pixels(examples: list[dict]) -> dict:
    """Stack a batch in channels-last layout: the paper CNN trained faster with it on CPU than with PyTorch's
    default layout in alternating A/B rounds (``results/benchmarks.md``, "memory layout")."""
    pixels = torch.stack([example["pixel_values"] for example in examples])
    batch = {"pixel_values": pixels.contiguous(memory_format=torch.channels_last)}
    if "labels" in examples[0]:
        batch["labels"] = torch.stack([torch.as_tensor(example["labels"]) for example in examples])
    return batch
