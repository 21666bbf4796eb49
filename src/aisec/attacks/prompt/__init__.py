"""Probes of LLM applications: direct and indirect prompt injection, leakage and jailbreaks.

Importing the package registers the four probe families (``prompt.injection``,
``prompt.indirect-injection``, ``prompt.leakage``, ``prompt.jailbreak``).
"""

from aisec.attacks.prompt import family as family

__all__ = ["family"]
