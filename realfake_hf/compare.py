"""Compare two evaluated models on the same images: McNemar's test on their predictions.csv files.

``python -m realfake_hf.compare results/a/eval/test/predictions.csv results/b/eval/test/predictions.csv``
"""

from __future__ import annotations

import argparse
import json

import pandas as pd
from scipy.stats import binomtest, chi2


def mcnemar(first_correct, second_correct) -> dict:
    """Exact (binomial) McNemar test on paired right/wrong outcomes, with the chi-square version beside it."""
    first, second = pd.Series(first_correct, dtype=bool), pd.Series(second_correct, dtype=bool)
    only_first = int((first & ~second).sum())
    only_second = int((~first & second).sum())
    discordant = only_first + only_second
    exact = binomtest(only_first, discordant, 0.5).pvalue if discordant else 1.0
    statistic = (abs(only_first - only_second) - 1) ** 2 / discordant if discordant else 0.0
    return {
        "n": int(len(first)),
        "only_first_correct": only_first,
        "only_second_correct": only_second,
        "p_value_exact": float(exact),
        "chi2_continuity_corrected": float(statistic),
        "p_value_chi2": float(chi2.sf(statistic, 1)) if discordant else 1.0,
    }


def compare_predictions(first_csv: str, second_csv: str, threshold: float = 0.5) -> dict:
    first, second = pd.read_csv(first_csv), pd.read_csv(second_csv)
    merged = first.merge(second, on="file_name", suffixes=("_first", "_second"), validate="one_to_one")
    if len(merged) != len(first) or len(merged) != len(second):
        raise ValueError(f"{first_csv} and {second_csv} do not cover the same images ({len(first)}, {len(second)}, "
                         f"{len(merged)} shared)")
    truth = merged["label_first"] == "fake"
    correct = {side: (merged[f"p_fake_{side}"] >= threshold) == truth for side in ("first", "second")}
    return {
        "first": first_csv, "second": second_csv,
        "accuracy_first": float(correct["first"].mean()), "accuracy_second": float(correct["second"].mean()),
        **mcnemar(correct["first"], correct["second"]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m realfake_hf.compare", description=__doc__)
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    print(json.dumps(compare_predictions(args.first, args.second, args.threshold), indent=2))


if __name__ == "__main__":
    main()
