"""The project's ``Trainer``: the transformers ``Trainer`` whose training batches become adversarial examples
when ``--adversarial_training`` is set (``ffgsm`` or ``pgd``, crafted by torchattacks in pixel space within
``--adversarial_epsilon_255`` levels), and whose checkpoints reload through ``from_pretrained``. Evaluation and
everything else stay the Trainer's own."""

from __future__ import annotations

import torch
from transformers import Trainer

from ..models import continue_from_trained
from .attacks import PixelSpaceDetector, make_attack


class DetectorTrainer(Trainer):
    # transformers 5.x saves ViT and DINOv2 weights under their Hub names (``attention.attention.query``) and
    # renames them on ``from_pretrained`` (``attention.q_proj``), but the Trainer's own checkpoint loading (resume,
    # ``load_best_model_at_end``) reads the file into ``load_state_dict(strict=False)`` without the renaming: 96
    # tensors (DINOv2-S's attention, all of our ViT's encoder layers) kept the values they had (pretrained ones on
    # resume) with only a warning. Loading through ``from_pretrained`` applies the renaming, and ``strict`` makes
    # any other mismatch an error.
    # DeepSpeed and FSDP shard the weights and keep their own loaders.
    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        load_checkpoint_weights(self.model if model is None else model, resume_from_checkpoint)

    def _load_best_model(self):
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return super()._load_best_model()
        load_checkpoint_weights(self.model, self.state.best_model_checkpoint)

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


def load_checkpoint_weights(model, checkpoint_dir) -> None:
    """Every weight of ``model`` from a ``save_pretrained`` folder (a Trainer checkpoint), names converted, copied
    into the model the optimizer holds."""
    model.load_state_dict(continue_from_trained(model, checkpoint_dir).state_dict(), strict=True)
