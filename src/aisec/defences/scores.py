"""Precision and recall of a poison detector against the known poisons."""

from __future__ import annotations

import numpy as np


def detection_scores(flagged: np.ndarray, poisoned: np.ndarray) -> tuple[float, float]:
    """``(precision, recall)`` of boolean ``flagged`` against boolean ``poisoned``.

    Precision is 0 when nothing is flagged; recall is 1 when there is nothing to find.
    """
    flagged = np.asarray(flagged, bool)
    poisoned = np.asarray(poisoned, bool)
    hits = int(np.sum(flagged & poisoned))
    precision = hits / int(flagged.sum()) if flagged.any() else 0.0
    recall = hits / int(poisoned.sum()) if poisoned.any() else 1.0
    return float(precision), float(recall)
