"""Poisoning attacks on the training pipeline: label flipping, backdoors, clean-label backdoors.

Importing this package registers them (they need PyTorch only where the recipe does, and the
clean-label attack's PGD).
"""

from aisec.attacks.poisoning.backdoor import Backdoor
from aisec.attacks.poisoning.base import PoisoningAttack
from aisec.attacks.poisoning.clean_label import CleanLabel
from aisec.attacks.poisoning.label_flip import LabelFlip
from aisec.attacks.poisoning.triggers import Trigger, blend_trigger, patch_trigger

__all__ = [
    "Backdoor",
    "CleanLabel",
    "LabelFlip",
    "PoisoningAttack",
    "Trigger",
    "blend_trigger",
    "patch_trigger",
]
