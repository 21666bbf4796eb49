"""Evasion attacks: white-box, black-box and physical-world.

Importing this package registers every built-in evasion attack.
"""

from aisec.attacks.evasion.base import EvasionAttack, Perturbation
from aisec.attacks.evasion.fgsm import FGSM
from aisec.attacks.evasion.pgd import PGD

__all__ = ["FGSM", "PGD", "EvasionAttack", "Perturbation"]
