"""Questions about a model someone else made: is it backdoored (and which class is the target)?

Importing :mod:`aisec.forensics.test` registers ``forensics.backdoor-scan``.
"""

from aisec.forensics.backdoor_scan import MIN_SCAN_SAMPLES, scan_model
from aisec.forensics.neural_cleanse import anomaly_indices, reverse_engineer

__all__ = ["MIN_SCAN_SAMPLES", "anomaly_indices", "reverse_engineer", "scan_model"]
