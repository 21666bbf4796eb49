"""Test ids (``evasion.pgd``, ``supplychain.scan``, ...) mapped to the classes that run them.

Built-in tests register themselves with :func:`register`; third-party plugins expose classes
through the ``aisec.tests`` entry-point group and are loaded on first lookup.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeVar

from aisec.errors import ConfigError

if TYPE_CHECKING:
    from aisec.base import SecurityTest

T = TypeVar("T", bound="type[SecurityTest]")

_REGISTRY: dict[str, type[SecurityTest]] = {}
_LOADED = False

# Modules whose import registers the built-in tests.
_BUILTIN_MODULES = (
    "aisec.attacks.evasion",
    "aisec.supplychain.test",
)


def register(cls: T) -> T:
    """Class decorator: make a test available under its ``id``."""
    existing = _REGISTRY.get(cls.id)
    if existing is not None and existing is not cls:
        raise ValueError(f"test id {cls.id!r} is registered twice ({existing} and {cls})")
    _REGISTRY[cls.id] = cls
    return cls


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for name in _BUILTIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    for ep in entry_points(group="aisec.tests"):
        register(ep.load())


def get_test(test_id: str) -> type[SecurityTest]:
    """Return the class registered under ``test_id`` or raise a ConfigError naming the options."""
    _load_all()
    try:
        return _REGISTRY[test_id]
    except KeyError:
        allowed = ", ".join(sorted(_REGISTRY))
        raise ConfigError([f"unknown test id {test_id!r}; available: {allowed}"]) from None


def available_tests() -> dict[str, type[SecurityTest]]:
    """All registered tests, by id."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))
