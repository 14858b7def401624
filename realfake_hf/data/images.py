"""How any image file becomes an RGB picture, and how an RGB picture becomes a model's input.

One documented conversion for every dataset and every entry point (training, evaluation, prediction):

1. ``to_rgb``: palette and alpha images are composited on white (a transparent area has no colour of its
   own; white is what a viewer shows), 16-bit and float greyscale are scaled to 8 bits, everything else
   (L, CMYK, YCbCr, LAB, ...) goes through Pillow's own ``convert("RGB")``. EXIF orientation is applied first.
2. ``resize_to_square``: the whole image, never a crop, is resized to ``size`` x ``size`` with bicubic
   resampling (Pillow anti-aliases when it shrinks). CIFAKE's own images were made this way from larger
   pictures, so a detector sees other datasets the way it saw its training data.
3. The model's image processor rescales to [0, 1] and normalises (see ``realfake_hf.models.image_processing``).

For images that are not CIFAKE's squares, ``policy_views`` offers two other preprocessing policies, compared
side by side in the cross-dataset report: ``center_crop`` (the largest centred square, so nothing is squashed)
and ``multi_crop`` (five squares of 80% of the short side, at the corners and the centre, whose logits are
averaged: more of the picture seen at a higher effective resolution).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

RESAMPLE = Image.Resampling.BICUBIC


class ImageDecodeError(ValueError):
    """An image file that Pillow cannot fully decode (corrupt, truncated or not an image)."""


def to_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # Pillow's convert("RGB") clips these to 0..255 instead of scaling them.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        array = np.clip(array / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(array, mode="L").convert("RGB")
    return image.convert("RGB")


def resize_to_square(image: Image.Image, size: int) -> Image.Image:
    if image.size == (size, size):
        return image
    return image.resize((size, size), RESAMPLE)


PREPROCESSING_POLICIES = ("resize", "center_crop", "multi_crop")
MULTI_CROP_SHARE = 0.8


def _square(image: Image.Image, side: int, left: int, top: int) -> Image.Image:
    return image.crop((left, top, left + side, top + side))


def policy_views(image: Image.Image, policy: str = "resize") -> list[Image.Image]:
    """The picture(s) a model sees of ``image`` under ``policy`` (each still to be resized to the input size)."""
    width, height = image.size
    if policy == "resize":
        return [image]
    if policy == "center_crop":
        side = min(width, height)
        return [_square(image, side, (width - side) // 2, (height - side) // 2)]
    if policy == "multi_crop":
        side = max(1, round(MULTI_CROP_SHARE * min(width, height)))
        corners = [(0, 0), (width - side, 0), (0, height - side), (width - side, height - side)]
        return [_square(image, side, (width - side) // 2, (height - side) // 2)] + [
            _square(image, side, left, top) for left, top in corners
        ]
    raise ValueError(f"unknown preprocessing policy {policy!r}; choose one of {PREPROCESSING_POLICIES}")


@dataclass(frozen=True)
class DecodedImage:
    rgb: Image.Image
    mode: str
    width: int
    height: int

    @property
    def pixel_sha1(self) -> str:
        """Hash of the decoded RGB pixels: equal for the same picture saved twice, whatever the file bytes."""
        digest = hashlib.sha1(self.rgb.tobytes())
        digest.update(f"{self.width}x{self.height}".encode())
        return digest.hexdigest()


def decode_image(data: bytes, name: str) -> DecodedImage:
    """Fully decode ``data`` (so truncation is caught now, not in the middle of training)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode, (width, height) = image.mode, image.size
            rgb = to_rgb(image)
    except UnidentifiedImageError as error:
        raise ImageDecodeError(f"{name}: not an image Pillow can read ({error})") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({error})") from error
    if width == 0 or height == 0:
        raise ImageDecodeError(f"{name}: image has no pixels ({width}x{height})")
    return DecodedImage(rgb=rgb, mode=mode, width=width, height=height)


def pixels_for_model(data: bytes, size: int, name: str = "<image>") -> bytes:
    """Decode, convert and resize one image file; returns ``size*size*3`` uint8 bytes (HWC)."""
    return resize_to_square(decode_image(data, name).rgb, size).tobytes()
