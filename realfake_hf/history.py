"""Per-epoch learning progress: ``history.csv`` and ``learning_curve.png`` rewritten after every evaluation.

Rebuilt from ``TrainerState.log_history`` (saved in every checkpoint) so a resumed run keeps its earlier epochs.
``python -m realfake_hf.history RUN_DIR ... --output FILE.png`` compares runs epoch for epoch (one figure and
the table beside it as ``FILE.csv``), e.g. one architecture at several input sizes, where runs stopped at
different epochs can still be compared at the epochs they all reached.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from transformers import TrainerCallback

from .plots import plot_learning_curve, plot_validation_by_epoch

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


def validation_by_epoch(run_dirs: list[str | Path]) -> pd.DataFrame:
    """Validation accuracy, rows = epoch, one column per run (named after its folder); NaN past a run's end."""
    columns = {}
    for run_dir in map(Path, run_dirs):
        if not (run_dir / HISTORY_FILE).exists():
            raise FileNotFoundError(f"{run_dir} has no {HISTORY_FILE}: pass run folders written by train.py")
        history = pd.read_csv(run_dir / HISTORY_FILE)
        columns[run_dir.name] = history.set_index("epoch")["eval_accuracy"]
    table = pd.DataFrame(columns)
    table.index.name = "epoch"
    return table


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.history", description="Compare runs epoch for epoch.")
    parser.add_argument("runs", nargs="+", help="run folders (results/NAME or an output_dir)")
    parser.add_argument("--output", required=True, help="figure path (.png); the table goes beside it as .csv")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    table = validation_by_epoch(args.runs)
    output = Path(args.output)
    plot_validation_by_epoch(table, output, args.title)
    table.to_csv(output.with_suffix(".csv"))
    print(table.to_string(float_format=lambda value: f"{value:.4f}"))
    return table


if __name__ == "__main__":
    main()
