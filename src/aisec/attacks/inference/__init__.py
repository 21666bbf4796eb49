"""Inference attacks on what a model reveals about its training data: membership, attributes.

Importing this package registers them.
"""

from aisec.attacks.inference.attribute import AttributeInference
from aisec.attacks.inference.membership import MembershipInference
from aisec.attacks.inference.output_modes import OutputModes

__all__ = ["AttributeInference", "MembershipInference", "OutputModes"]
