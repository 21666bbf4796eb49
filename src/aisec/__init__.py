"""aisec: cybersecurity of AI systems, from threat model to attacks, metrics and reports."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]

if TYPE_CHECKING:
    from aisec.supplychain.loading import load_model

# Public names and the module each comes from, imported on first use (PEP 562), so that
# ``import aisec`` stays light and never pulls in optional dependencies such as PyTorch.
_LAZY = {"load_model": "aisec.supplychain.loading"}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access."""
    source = _LAZY.get(name)
    if source is None:
        raise AttributeError(f"module 'aisec' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, including the public ones not imported yet."""
    return sorted({*globals(), *__all__})
