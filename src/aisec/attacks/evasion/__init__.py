"""Evasion attacks: white-box, black-box and physical-world.

Importing this package registers every built-in evasion attack.
"""

from aisec.attacks.evasion.apgd import APGDCE, APGDDLR, APGDT
from aisec.attacks.evasion.base import EvasionAttack, Perturbation
from aisec.attacks.evasion.corruptions import Corruptions
from aisec.attacks.evasion.cw import CarliniWagnerL2
from aisec.attacks.evasion.deepfool import DeepFool
from aisec.attacks.evasion.ensemble import Ensemble
from aisec.attacks.evasion.fab import FAB
from aisec.attacks.evasion.fgsm import FGSM
from aisec.attacks.evasion.hsj import HopSkipJump
from aisec.attacks.evasion.patch import AdversarialPatch
from aisec.attacks.evasion.pgd import PGD
from aisec.attacks.evasion.sanity import GradientMaskingSanity
from aisec.attacks.evasion.square import Square

__all__ = [
    "APGDCE",
    "APGDDLR",
    "APGDT",
    "FAB",
    "FGSM",
    "PGD",
    "AdversarialPatch",
    "CarliniWagnerL2",
    "Corruptions",
    "DeepFool",
    "Ensemble",
    "EvasionAttack",
    "GradientMaskingSanity",
    "HopSkipJump",
    "Perturbation",
    "Square",
]
