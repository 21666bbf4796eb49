"""aisec: cybersecurity of AI systems, from threat model to attacks, metrics and reports."""

__version__ = "0.1.0"
