"""Built-in targets for the demo and the tests, trained on first use and cached.

Each built-in trains in seconds with a fixed seed, is cached under the user cache directory
(``AISEC_CACHE_DIR`` overrides it) as safetensors plus a SHA-256, and is retrained whenever the
cache is missing or does not verify. Each carries its training recipe.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from aisec.errors import TargetError
from aisec.targets.base import Target


@dataclass(frozen=True)
class BuiltinTarget:
    """A named, reproducible model: how to load (or train and cache) it, and its default data."""

    name: str
    description: str
    load: Callable[[], Target]
    dataset: str
    """Built-in data set it was trained on (``NAME``; use ``NAME:test`` to evaluate)."""


_TARGETS: dict[str, BuiltinTarget] = {}
_MODULES = (
    "aisec.targets.builtin.digits",
    "aisec.targets.builtin.signs",
    "aisec.targets.builtin.mnist",
)


def register_target(entry: BuiltinTarget) -> BuiltinTarget:
    """Make a built-in target available by name."""
    _TARGETS[entry.name] = entry
    return entry


def _load_modules() -> None:
    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def available_targets() -> dict[str, BuiltinTarget]:
    """Every built-in target, by name."""
    _load_modules()
    return dict(sorted(_TARGETS.items()))


def builtin_entry(name: str) -> BuiltinTarget:
    """The registry entry for ``name`` or a TargetError naming the options."""
    _load_modules()
    if name not in _TARGETS:
        raise TargetError(
            f"unknown built-in target {name!r}; available: {', '.join(sorted(_TARGETS))}"
        )
    return _TARGETS[name]


def load_builtin_target(name: str) -> Target:
    """Load (training and caching on first use) the built-in target ``name``."""
    return builtin_entry(name).load()
