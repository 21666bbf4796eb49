"""aisec: cybersecurity of AI systems, from threat model to attacks, metrics and reports."""

__version__ = "0.1.0"

from aisec.supplychain.loading import load_model

__all__ = ["__version__", "load_model"]
