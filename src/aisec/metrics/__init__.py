"""Metrics for AI cybersecurity: pure functions over arrays, no I/O."""

from aisec.metrics.robustness import (
    accuracy,
    attack_success_rate,
    norm_summary,
    perturbation_norms,
    robust_accuracy,
    wilson_interval,
)

__all__ = [
    "accuracy",
    "attack_success_rate",
    "norm_summary",
    "perturbation_norms",
    "robust_accuracy",
    "wilson_interval",
]
