"""``python -m realfake_hf.explain --model DIR [--dataset cifake --split test --max_samples 2000]``"""

from __future__ import annotations

import argparse
import logging

from .report import explain_split


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.explain", description=__doc__)
    parser.add_argument("--model", required=True, help="folder written by train.py")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--dataset", default="cifake")
    parser.add_argument("--split", default="test")
    parser.add_argument("--dataset_path", default=None)
    parser.add_argument("--max_samples", type=int, default=2000, help="seeded random subset; 0 = the whole split")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=16, help="deletion/insertion steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report_to_wandb", action="store_true",
                        help="also log summaries, figures and a gallery table to W&B (offline unless WANDB_MODE=online)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    explain_split(args.model, args.output_dir, args.dataset, args.split, args.dataset_path,
                  args.max_samples or None, args.batch_size, args.steps, args.seed,
                  report_to_wandb=args.report_to_wandb)


if __name__ == "__main__":
    main()
