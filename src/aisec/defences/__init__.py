"""Defences that guard a data set or change a model: detection, filtering and mitigation.

* :mod:`~aisec.defences.activation_clustering` and :mod:`~aisec.defences.spectral` flag
  poisoned training samples from a model's learned features;
* :mod:`~aisec.defences.integrity` checks a third-party data set before training;
* :mod:`~aisec.defences.strip` detects triggered inputs at run time;
* :mod:`~aisec.defences.fine_pruning` removes a backdoor from a trained model.
"""

from aisec.defences.activation_clustering import activation_clustering
from aisec.defences.fine_pruning import FinePruned, fine_prune
from aisec.defences.integrity import check_dataset
from aisec.defences.scores import detection_scores
from aisec.defences.spectral import spectral_signatures
from aisec.defences.strip import Strip

__all__ = [
    "FinePruned",
    "Strip",
    "activation_clustering",
    "check_dataset",
    "detection_scores",
    "fine_prune",
    "spectral_signatures",
]
