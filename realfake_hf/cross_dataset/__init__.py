"""Cross-dataset generalisation, confidence and bias analysis (``python -m realfake_hf.cross_dataset``)."""

from .report import cross_dataset_report, policy_logits, write_comparison

__all__ = ["cross_dataset_report", "policy_logits", "write_comparison"]
