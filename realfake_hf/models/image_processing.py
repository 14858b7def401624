"""The image processor saved beside every model, so ``pipeline("image-classification")`` sees what training saw.

It is transformers' own ``ViTImageProcessor`` set to this project's conversion (``realfake_hf.data.images``):
RGB, the whole image resized to a square with bicubic resampling, rescaled to [0, 1], normalised.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image
from transformers import ViTImageProcessor

DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)


def make_image_processor(
    image_size: int, mean: Sequence[float] = DEFAULT_MEAN, std: Sequence[float] = DEFAULT_STD
) -> ViTImageProcessor:
    return ViTImageProcessor(
        do_convert_rgb=True,
        do_resize=True,
        size={"height": image_size, "width": image_size},
        resample=Image.Resampling.BICUBIC,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(mean),
        image_std=list(std),
    )
