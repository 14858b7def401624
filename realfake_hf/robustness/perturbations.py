"""Everyday image perturbations, each at a few strengths from mild to severe, as pure functions.

Every perturbation takes an RGB picture at its own stored size (CIFAKE: 32x32), a strength and a
``numpy.random.Generator`` (the only source of randomness, so a seed fixes the result), and returns an RGB
picture of the same size. They run *before* the model's own conversion (``realfake_hf.data.images``), the way
an image is re-saved, blurred or cropped on its way to a detector. ``perturb`` accepts a PIL image or an
``(H, W, 3)`` uint8 array and returns the same kind.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ..data.images import RESAMPLE

PerturbFunction = Callable[[Image.Image, float, np.random.Generator], Image.Image]


def jpeg(image: Image.Image, quality: float, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality))
    with Image.open(buffer) as compressed:
        return compressed.convert("RGB")


def gaussian_blur(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius=sigma))  # Pillow's radius is the kernel's standard deviation


def down_up_resize(image: Image.Image, scale: float, rng: np.random.Generator) -> Image.Image:
    """Shrunk to ``scale`` of each side and enlarged back, as a thumbnail later viewed full size."""
    small = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if small == image.size:
        return image.copy()
    return image.resize(small, RESAMPLE).resize(image.size, RESAMPLE)


def gaussian_noise(image: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Additive noise of standard deviation ``sigma`` in 8-bit levels, rounded and clipped back to 8 bits."""
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0.0, sigma, (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))


def crop(image: Image.Image, kept_side: float, rng: np.random.Generator) -> Image.Image:
    """A window of ``kept_side`` of each side at a random place, enlarged back to the full size."""
    width, height = max(1, round(image.width * kept_side)), max(1, round(image.height * kept_side))
    left = int(rng.integers(0, image.width - width + 1))
    top = int(rng.integers(0, image.height - height + 1))
    return image.resize(image.size, RESAMPLE, box=(left, top, left + width, top + height))


def shift(image: Image.Image, pixels: float, rng: np.random.Generator) -> Image.Image:
    """Moved by ``pixels`` along each axis in a random diagonal direction, borders mirrored.

    Mirrored rather than black borders (as the training shifts), so that what is measured is the move of
    the pixel grid (e.g. against the 8x8 JPEG block grid), not a new flat edge.
    """
    step = int(pixels)
    if step == 0:
        return image.copy()
    dy, dx = rng.choice([-step, step], size=2)
    padded = np.pad(np.asarray(image), ((step, step), (step, step), (0, 0)), mode="reflect")
    moved = padded[step + dy : step + dy + image.height, step + dx : step + dx + image.width]
    return Image.fromarray(np.ascontiguousarray(moved))


def colour_jitter(image: Image.Image, amount: float, rng: np.random.Generator) -> Image.Image:
    """Brightness, contrast and saturation each scaled by a random factor in [1 - amount, 1 + amount].

    No hue shift: Pillow's HSV round trip alone changes pixels, so it would not be the identity at 0.
    """
    for enhancer, factor in zip((ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color),
                                rng.uniform(1 - amount, 1 + amount, size=3)):
        image = enhancer(image).enhance(float(factor))
    return image


@dataclass(frozen=True)
class Perturbation:
    name: str
    apply: PerturbFunction
    strengths: tuple[float, ...]  # mild to severe
    strength_name: str
    removes_high_frequencies: bool  # low-pass: what a detector of fine pixel statistics should fear most


PERTURBATIONS: dict[str, Perturbation] = {
    entry.name: entry
    for entry in (
        Perturbation("jpeg", jpeg, (95, 75, 50, 30), "JPEG quality", True),
        Perturbation("gaussian_blur", gaussian_blur, (0.5, 1.0, 1.5, 2.0), "blur sigma (pixels)", True),
        Perturbation("down_up_resize", down_up_resize, (0.75, 0.5, 0.375, 0.25), "downscale factor", True),
        Perturbation("gaussian_noise", gaussian_noise, (2, 4, 8, 16), "noise sigma (8-bit levels)", False),
        Perturbation("crop", crop, (0.95, 0.9, 0.8, 0.7), "kept side of the crop", False),
        Perturbation("shift", shift, (1, 2, 4), "shift (pixels)", False),
        Perturbation("colour_jitter", colour_jitter, (0.1, 0.2, 0.3, 0.4), "jitter amount", False),
    )
}


def perturb(image: Image.Image | np.ndarray, name: str, strength: float, rng: np.random.Generator):
    """``image`` (PIL RGB or ``(H, W, 3)`` uint8) perturbed by ``PERTURBATIONS[name]``; the same kind back."""
    if name not in PERTURBATIONS:
        raise KeyError(f"unknown perturbation '{name}'; known: {list(PERTURBATIONS)}")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 array, got {image.shape} {image.dtype}")
        return np.asarray(PERTURBATIONS[name].apply(Image.fromarray(image), strength, rng))
    if image.mode != "RGB":
        raise ValueError(f"perturbations work on RGB images, got mode {image.mode}")
    return PERTURBATIONS[name].apply(image, strength, rng)
