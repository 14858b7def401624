"""Stochastic weight averaging (Izmailov et al. 2018) as one option of the one trainer.

``torch.optim.swa_utils`` does the averaging and the batch-norm update; the ``Trainer`` has no such option, so
this callback only connects the two: at every checkpoint from ``start_epoch`` on (``save_strategy`` and
``save_steps`` set how often) it adds the weights to the average and saves the average into that checkpoint, so
a resumed run goes on averaging exactly where its checkpoint stopped; at the end it puts the average into the
model, whose batch-norm statistics are then recomputed for the averaged weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, update_bn
from torch.utils.data import DataLoader
from transformers import TrainerCallback, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .data import collate_pixels

logger = logging.getLogger(__name__)

AVERAGE_FILE = "averaged_weights.safetensors"
# The Trainer's epoch counter is a float that may land just below a whole epoch.
EPOCH_TOLERANCE = 1e-6


class WeightAveragingCallback(TrainerCallback):
    def __init__(self, model: torch.nn.Module, start_epoch: float):
        self.start_epoch = start_epoch
        self.average = AveragedModel(model)

    @property
    def checkpoints_averaged(self) -> int:
        return int(self.average.n_averaged)

    def on_save(self, args, state, control, model=None, **kwargs):
        if state.epoch < self.start_epoch - EPOCH_TOLERANCE:
            return
        self.average.update_parameters(model)
        checkpoint = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if state.is_world_process_zero and checkpoint.is_dir():
            save_file({name: tensor.contiguous() for name, tensor in self.average.state_dict().items()},
                      checkpoint / AVERAGE_FILE)

    def resume(self, checkpoint: str | Path) -> None:
        """The average as ``checkpoint`` saved it; a checkpoint from before ``start_epoch`` holds none yet."""
        saved = Path(checkpoint) / AVERAGE_FILE
        if saved.exists():
            self.average.load_state_dict(load_file(saved))
            logger.info("weight averaging resumed from %s (%d checkpoints averaged)", saved, self.checkpoints_averaged)
            return
        # The average is written just after the Trainer's own files, so a kill in between leaves a checkpoint that
        # looks complete; resuming from it would silently restart the average.
        epoch = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME)).epoch
        if epoch is not None and epoch >= self.start_epoch - EPOCH_TOLERANCE:
            raise FileNotFoundError(
                f"{checkpoint} was saved at epoch {epoch:g}, after weight averaging began (epoch {self.start_epoch:g}), "
                f"but holds no {AVERAGE_FILE} (the run was probably killed while saving it): delete that checkpoint "
                "to resume from the one before."
            )

    def apply_to(self, model: torch.nn.Module, bn_pixels, batch_size: int) -> None:
        """Replace ``model``'s weights by the average, then recompute its batch-norm statistics on ``bn_pixels``
        (a dataset from ``with_model_inputs``): statistics gathered under the last weights do not fit the
        average (Izmailov et al., section 3.2)."""
        if self.checkpoints_averaged == 0:
            raise ValueError(f"no weights were averaged: no checkpoint was saved from epoch {self.start_epoch} on")
        parameters = dict(self.average.module.named_parameters())
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                parameter.copy_(parameters[name])
        device = next(model.parameters()).device
        loader = DataLoader(bn_pixels, batch_size=batch_size, collate_fn=collate_pixels)
        update_bn((batch["pixel_values"] for batch in loader), model, device=device)
        model.eval()
        logger.info("model weights replaced by the average of %d checkpoints; batch-norm statistics recomputed on %d images",
                    self.checkpoints_averaged, len(bn_pixels))
