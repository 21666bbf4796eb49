"""Targets: the thing under assessment, behind one protocol for every technology level."""

from aisec.targets.base import Capability, InputSpec, OutputMode, Target, require
from aisec.targets.builtin import available_targets, load_builtin_target
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.sklearn import SklearnClassifier
from aisec.targets.torch import TorchClassifier

__all__ = [
    "Capability",
    "InputSpec",
    "OutputMode",
    "SklearnClassifier",
    "Target",
    "TorchClassifier",
    "TrainingRecipe",
    "available_targets",
    "load_builtin_target",
    "require",
]
