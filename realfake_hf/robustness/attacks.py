"""White-box L-infinity attacks (FGSM, PGD from torchattacks) on a detector, with budgets in 8-bit pixel units.

A detector is wrapped as a function of [0, 1] RGB images at its input size (``PixelSpaceDetector``), so an
attack budget ``eps`` = k/255 lets every pixel move by at most k of its 256 levels, whatever the model's
normalisation. Images reach the wrapper through the evaluation conversion (``realfake_hf.data.images``:
resize to the model's square input, 8 bits), and adversarial images leave it rounded back to 8 bits, as an
attacker must deliver them; an adversarial image can thus be given to any other model (transfer).

An attack "direction" is the true label attacked: ``fake_to_real`` (evasion: a generated image passed off as
a photograph, the case that matters most) or ``real_to_fake`` (a photograph discredited as generated).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torchattacks
from PIL import Image
from torch import nn

from ..data.images import resize_to_square
from ..data.pipeline import PIXELS, PixelTransform
from ..inference import fake_index, input_spec, load_detector
from ..metrics import FAKE

REAL = 0
EPSILONS_255 = (0, 1, 2, 4, 8)
METHODS = ("fgsm", "pgd")
DIRECTIONS = {"fake_to_real": FAKE, "real_to_fake": REAL}  # direction -> the true label of the attacked images
PGD_STEPS = 10
PGD_STEP_RATIO = 2.5  # step = 2.5 * eps / steps (Madry et al.): the budget's edge is reachable from a random start


def direction_title(direction: str) -> str:
    """``fake_to_real`` -> ``fake -> real``."""
    return direction.replace("_to_", " -> ")


def unit_pixels(images: Sequence[Image.Image], image_size: int) -> torch.Tensor:
    """NCHW floats in [0, 1]: the evaluation conversion (whole image resized to the square input) before normalising."""
    raw = [resize_to_square(image, image_size).tobytes() for image in images]
    return PixelTransform(image_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))({PIXELS: raw})["pixel_values"]


def to_images(pixels: torch.Tensor) -> list[Image.Image]:
    """[0, 1] NCHW floats rounded to 8-bit RGB pictures."""
    raw = pixels.detach().mul(255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(np.ascontiguousarray(array)) for array in raw]


class PixelSpaceDetector(nn.Module):
    """A Hugging Face detector as a function of [0, 1] RGB images: normalised with its processor's mean and
    std, returning logits, so that attack libraries see the pixel space an attacker controls."""

    def __init__(self, model: nn.Module, processor):
        super().__init__()
        if model.config.num_labels != 2:
            raise ValueError(f"expected a real/fake detector with 2 labels, got {model.config.id2label}")
        spec = input_spec(processor)
        self.model = model
        self.image_size = int(spec["image_size"])
        self.fake_column = fake_index(model)
        self.register_buffer("mean", torch.tensor(spec["mean"], dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(spec["std"], dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=(pixels - self.mean) / self.std).logits

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def class_indices(self, labels: Sequence[int]) -> torch.Tensor:
        """Dataset labels (real 0, fake 1) as this model's class indices."""
        labels = torch.as_tensor(np.asarray(labels), device=self.device)
        return torch.where(labels == FAKE, self.fake_column, 1 - self.fake_column)

    @torch.no_grad()
    def p_fake(self, images: Sequence[Image.Image], batch_size: int = 256) -> np.ndarray:
        """p(fake) of RGB pictures, each converted as evaluation converts it."""
        self.eval()
        outputs = []
        for start in range(0, len(images), batch_size):
            pixels = unit_pixels(images[start : start + batch_size], self.image_size).to(self.device)
            outputs.append(torch.softmax(self(pixels).float(), dim=-1)[:, self.fake_column].cpu().numpy())
        return np.concatenate(outputs) if outputs else np.zeros(0)


def load_pixel_space_detector(model_dir: str | Path, device: str | torch.device = "cpu") -> PixelSpaceDetector:
    model, processor = load_detector(model_dir)
    return PixelSpaceDetector(model, processor).to(device).eval()


FFGSM_STEP_RATIO = 1.25  # fast FGSM's step from a random start (Wong et al. 2020)


def make_attack(
    method: str, detector: PixelSpaceDetector, eps: float, pgd_steps: int = PGD_STEPS
) -> torchattacks.Attack:
    """``fgsm`` and ``pgd`` are the evaluated attacks; ``ffgsm`` (FGSM from a random start) is for training."""
    if method == "fgsm":
        return torchattacks.FGSM(detector, eps=eps)
    if method == "ffgsm":
        return torchattacks.FFGSM(detector, eps=eps, alpha=FFGSM_STEP_RATIO * eps)
    if method == "pgd":
        step = PGD_STEP_RATIO * eps / pgd_steps
        return torchattacks.PGD(detector, eps=eps, alpha=step, steps=pgd_steps, random_start=True)
    raise KeyError(f"unknown attack '{method}'; known: {list(METHODS)}")


def adversarial_images(
    detector: PixelSpaceDetector,
    images: Sequence[Image.Image],
    labels: Sequence[int],
    method: str,
    eps: float,
    seed: int = 0,
    pgd_steps: int = PGD_STEPS,
    batch_size: int = 128,
) -> list[Image.Image]:
    """``images`` changed, pixel by pixel within ``eps`` (0-1 scale), to make ``detector`` wrong about their true
    ``labels``; at the detector's input size, in 8 bits. ``seed`` fixes PGD's random start."""
    attack = make_attack(method, detector, eps, pgd_steps)
    adversarial = []
    with torch.random.fork_rng():  # seeds the random start without touching the caller's random state
        torch.manual_seed(seed)
        for start in range(0, len(images), batch_size):
            pixels = unit_pixels(images[start : start + batch_size], detector.image_size).to(detector.device)
            targets = detector.class_indices(labels[start : start + batch_size])
            adversarial += to_images(attack(pixels, targets))
    return adversarial


def attack_outcome(
    labels: Sequence[int], p_fake_clean: np.ndarray, p_fake_attacked: np.ndarray, threshold: float = 0.5
) -> dict:
    """Accuracy before and under attack, and the success rate: the share of the images judged right before the
    attack that are judged wrong after it."""
    labels = np.asarray(labels)
    correct_clean = (p_fake_clean >= threshold).astype(int) == labels
    correct = (p_fake_attacked >= threshold).astype(int) == labels
    return {
        "n": int(len(labels)),
        "accuracy_clean": float(correct_clean.mean()) if len(labels) else None,
        "accuracy": float(correct.mean()) if len(labels) else None,
        "n_correct_clean": int(correct_clean.sum()),
        "success_rate": float(1 - correct[correct_clean].mean()) if correct_clean.any() else None,
    }


def attack_and_transfer(
    detectors: dict[str, PixelSpaceDetector],
    images: Sequence[Image.Image],
    labels: Sequence[int],
    method: str,
    eps_255: int,
    clean_p_fake: dict[str, np.ndarray],
    seed: int = 0,
    pgd_steps: int = PGD_STEPS,
    batch_size: int = 128,
) -> tuple[list[dict], dict[str, list[Image.Image]]]:
    """Adversarial images crafted on each model (source) and judged by every model (target; source = target is
    the white-box attack). Returns one record per (source, target) and the adversarial images per source."""
    records, crafted = [], {}
    for source, detector in detectors.items():
        crafted[source] = adversarial_images(
            detector, images, labels, method, eps_255 / 255, seed, pgd_steps, batch_size)
        for target, judge in detectors.items():
            outcome = attack_outcome(labels, clean_p_fake[target], judge.p_fake(crafted[source], batch_size))
            records.append({"method": method, "eps_255": eps_255, "source_model": source, "target_model": target,
                            "white_box": source == target, **outcome})
    return records, crafted
