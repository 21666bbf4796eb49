"""Model extraction: substitutes trained from a target's answers. Importing registers them."""

from aisec.attacks.extraction.knockoff import Knockoff

__all__ = ["Knockoff"]
