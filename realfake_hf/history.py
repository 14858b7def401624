"""Per-epoch learning progress: ``history.csv`` and ``learning_curve.png`` rewritten after every evaluation.

Rebuilt from ``TrainerState.log_history`` (saved in every checkpoint) so a resumed run keeps its earlier epochs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from transformers import TrainerCallback

from .plots import plot_learning_curve

HISTORY_FILE = "history.csv"
CURVE_FILE = "learning_curve.png"


def history_from_log(log_history: list[dict]) -> pd.DataFrame:
    """One row per evaluation: epoch, step, mean train loss since the previous evaluation, eval metrics."""
    rows, pending_losses = [], []
    for entry in log_history:
        if "loss" in entry:
            pending_losses.append(entry["loss"])
        if "eval_loss" in entry:
            rows.append(
                {
                    "epoch": round(entry["epoch"], 3),
                    "step": entry["step"],
                    "train_loss": sum(pending_losses) / len(pending_losses) if pending_losses else float("nan"),
                    "eval_loss": entry["eval_loss"],
                    "eval_accuracy": entry.get("eval_accuracy"),
                }
            )
            pending_losses = []
    return pd.DataFrame(rows, columns=["epoch", "step", "train_loss", "eval_loss", "eval_accuracy"])


def write_history(log_history: list[dict], output_dir: str | Path, title: str = "") -> pd.DataFrame:
    output_dir = Path(output_dir)
    history = history_from_log(log_history)
    output_dir.mkdir(parents=True, exist_ok=True)
    history.to_csv(output_dir / HISTORY_FILE, index=False)
    if len(history):
        plot_learning_curve(history, output_dir / CURVE_FILE, title)
    return history


class HistoryCallback(TrainerCallback):
    def __init__(self, title: str = ""):
        self.title = title

    def on_evaluate(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            write_history(state.log_history, args.output_dir, self.title)
