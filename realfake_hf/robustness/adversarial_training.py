"""The project's ``Trainer``: the transformers ``Trainer`` whose training batches become adversarial examples
when ``--adversarial_training`` is set (``ffgsm`` or ``pgd``, crafted by torchattacks in pixel space within
``--adversarial_epsilon_255`` levels). Evaluation and everything else stay the Trainer's own."""

from __future__ import annotations

import torch
from transformers import Trainer

from .attacks import PixelSpaceDetector, make_attack


class DetectorTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training and self.args.adversarial_training != "none" and self.args.adversarial_epsilon_255 > 0:
            inputs = {**inputs, "pixel_values": self.adversarial_pixels(model, inputs)}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def adversarial_pixels(self, model, inputs) -> torch.Tensor:
        """The batch's normalised ``pixel_values`` replaced by adversarial ones for its ``labels`` (the
        dataset labels are the model's class indices during training)."""
        pixels = inputs["pixel_values"]
        # The unwrapped model: the attack needs input gradients only, not a distributed backward pass.
        detector = PixelSpaceDetector(self.accelerator.unwrap_model(model), self.processing_class).to(pixels.device)
        unit = (pixels * detector.std + detector.mean).clamp(0, 1)
        attack = make_attack(self.args.adversarial_training, detector, self.args.adversarial_epsilon_255 / 255,
                             self.args.adversarial_pgd_steps)
        adversarial = attack(unit, inputs["labels"])
        return ((adversarial - detector.mean) / detector.std).detach().contiguous(memory_format=torch.channels_last)
