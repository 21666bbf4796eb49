"""The :class:`Attack` base: a :class:`~aisec.base.SecurityTest` that plays an adversary."""

from __future__ import annotations

from aisec.base import SecurityTest


class Attack(SecurityTest):
    """An adversarial test. Metadata (id, family, requires, threats, references) is declared
    as class attributes; subclasses implement one private method."""
