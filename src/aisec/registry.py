"""Test ids (``evasion.pgd``, ``supplychain.scan``, ...) mapped to the classes that run them.

Built-in tests register themselves with :func:`register`; third-party plugins expose classes
through the ``aisec.tests`` entry-point group and are loaded on first lookup.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeVar

from aisec.errors import ConfigError
from aisec.extras import install_hint, is_missing

if TYPE_CHECKING:
    from aisec.base import SecurityTest

T = TypeVar("T", bound="type[SecurityTest]")

_REGISTRY: dict[str, type[SecurityTest]] = {}
_LOADED = False

# Modules whose import registers the built-in tests.
_BUILTIN_MODULES = (
    "aisec.supplychain.test",
    "aisec.supplychain.data_check",
    "aisec.attacks.prompt",
)
# Those that need an optional dependency: (module, dependency and extra, what is left out,
# prefix of the test ids the module registers).
_OPTIONAL_MODULES = (
    ("aisec.attacks.evasion", "torch", "the evasion tests need PyTorch", "evasion."),
    ("aisec.attacks.poisoning", "torch", "the poisoning tests need PyTorch", "poisoning."),
    ("aisec.forensics.test", "torch", "the backdoor scan needs PyTorch", "forensics."),
    ("aisec.attacks.inference", "torch", "the inference tests need PyTorch", "inference."),
    ("aisec.attacks.extraction", "torch", "the extraction tests need PyTorch", "extraction."),
    ("aisec.defences.dp_evaluation", "torch", "the DP-SGD test needs PyTorch", "defence."),
    ("aisec.attacks.prompt.suffix", "torch", "the GCG suffix test needs PyTorch", "prompt.gcg"),
    (
        "aisec.defences.evasion_evaluation",
        "torch",
        "the evasion-defence test needs PyTorch",
        "defence.",
    ),
)
_UNAVAILABLE: list[str] = []
_UNAVAILABLE_PREFIXES: dict[str, str] = {}


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
        importlib.import_module(name)
    for name, dependency, what, prefix in _OPTIONAL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not is_missing(exc, dependency):
                raise
            _UNAVAILABLE.append(f"{what}: {install_hint(dependency)}")
            _UNAVAILABLE_PREFIXES[prefix] = install_hint(dependency)
    for ep in entry_points(group="aisec.tests"):
        register(ep.load())


def get_test(test_id: str) -> type[SecurityTest]:
    """Return the class registered under ``test_id`` or raise a ConfigError naming the options."""
    _load_all()
    try:
        return _REGISTRY[test_id]
    except KeyError:
        allowed = ", ".join(sorted(_REGISTRY))
        problems = [f"unknown test id {test_id!r}; available: {allowed}", *missing_extras()]
        raise ConfigError(problems) from None


def available_tests() -> dict[str, type[SecurityTest]]:
    """All registered tests, by id."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def needs_extra(test_id: str) -> str | None:
    """How to install the optional dependency a built-in test needs, when it is missing here.

    None when the test is registered, or is not a built-in test of an optional group (a test
    aisec does not have yet).
    """
    _load_all()
    if test_id in _REGISTRY:
        return None
    for prefix, hint in _UNAVAILABLE_PREFIXES.items():
        if test_id.startswith(prefix):
            return hint
    return None


def missing_extras() -> list[str]:
    """One line per group of built-in tests left out for a missing optional dependency, naming
    the extra that installs it (e.g. ``the evasion tests need PyTorch: pip install ...``).

    Empty when every built-in test is registered.
    """
    _load_all()
    return list(_UNAVAILABLE)
