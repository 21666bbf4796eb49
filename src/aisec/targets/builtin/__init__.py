"""Built-in targets for the demo and the tests, trained on first use and cached.

Each built-in trains in seconds with a fixed seed, is cached under the user cache directory
(``AISEC_CACHE_DIR`` overrides it) as safetensors plus a SHA-256, and is retrained whenever the
cache is missing or does not verify. Each carries its training recipe.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from aisec.errors import MissingExtraError, TargetError
from aisec.extras import install_hint, is_missing
from aisec.targets.base import Target


@dataclass(frozen=True)
class BuiltinTarget:
    """A named, reproducible model: how to load (or train and cache) it, and its default data."""

    name: str
    description: str
    load: Callable[[], Target]
    dataset: str
    """Built-in data set it was trained on (``NAME``; use ``NAME:test`` to evaluate)."""
    modality: str = "image"
    """Input modality (a profile value): evidence on it stands in for systems of another."""


_TARGETS: dict[str, BuiltinTarget] = {}
# Modules whose import registers the built-in targets; every one needs PyTorch.
_MODULES = (
    "aisec.targets.builtin.digits",
    "aisec.targets.builtin.signs",
    "aisec.targets.builtin.mnist",
    "aisec.targets.builtin.tabular",
)
_NEEDS_TORCH = f"the built-in targets need PyTorch: {install_hint('torch')}"
_torch_missing = False


def register_target(entry: BuiltinTarget) -> BuiltinTarget:
    """Make a built-in target available by name."""
    _TARGETS[entry.name] = entry
    return entry


def _load_modules() -> None:
    global _torch_missing
    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not is_missing(exc, "torch"):
                raise
            _torch_missing = True
            return


def available_targets() -> dict[str, BuiltinTarget]:
    """Every built-in target, by name (none without PyTorch; see :func:`missing_extras`)."""
    _load_modules()
    return dict(sorted(_TARGETS.items()))


def missing_extras() -> list[str]:
    """One line naming the extra to install when the built-in targets are left out, else empty."""
    _load_modules()
    return [_NEEDS_TORCH] if _torch_missing else []


def builtin_entry(name: str) -> BuiltinTarget:
    """The registry entry for ``name`` or a TargetError naming the options (or the extra)."""
    _load_modules()
    if name not in _TARGETS:
        if _torch_missing:
            raise MissingExtraError(f"built-in target {name!r} is not available: {_NEEDS_TORCH}")
        raise TargetError(
            f"unknown built-in target {name!r}; available: {', '.join(sorted(_TARGETS))}"
        )
    return _TARGETS[name]


def load_builtin_target(name: str) -> Target:
    """Load (training and caching on first use) the built-in target ``name``."""
    return builtin_entry(name).load()
