"""Evaluate a trained detector: ``python evaluate.py --model DIR --dataset cifake --split test``.

Writes metrics.json, predictions.csv, confusion_matrix.png and reliability_diagram.png to --output_dir.
"""

import dataclasses
import logging

from realfake_hf.arguments import parse_evaluation_arguments
from realfake_hf.evaluation import evaluate_model

if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    metrics = evaluate_model(**dataclasses.asdict(parse_evaluation_arguments()))
    print(f"accuracy {metrics['accuracy']:.4f} {metrics['accuracy_ci95']}, ROC-AUC {metrics['roc_auc']}")
