"""One exception tree for everything aisec raises on purpose.

::

    AisecError                      base: a problem the user can fix; the CLI prints it on one line, exit 2
    ├── ConfigError                 an assessment config or system profile is invalid (lists every problem)
    ├── ParameterError              an attack or test parameter violates its declared constraint
    ├── DataError                   a data set is missing, malformed, has NaNs, wrong shapes or labels
    ├── TargetError                 a model cannot be wrapped or queried as declared
    │   └── CapabilityError         the target lacks a capability the test needs (e.g. gradients)
    ├── ModelLoadError              a model file cannot be loaded safely
    │   └── UnsafeModelError        the file has scan findings and was not explicitly trusted
    ├── ScanError                   a path given to the scanner cannot be read at all
    ├── StoreError                  the results store is missing, corrupt or lacks a run
    ├── ExecutorError               units cannot run where asked (a Ray cluster or its workers)
    └── MissingExtraError           an optional dependency is not installed (names the extra)

Every message says what is wrong and how to fix it, in one line.
"""

from __future__ import annotations

from collections.abc import Iterable


class AisecError(Exception):
    """Base of every error aisec raises for a problem the user can fix."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AisecError):
    """An assessment config or profile is invalid; ``problems`` lists every one found."""

    def __init__(self, problems: Iterable[str], source: str = "config") -> None:
        self.problems = list(problems)
        self.source = source
        joined = "; ".join(self.problems)
        super().__init__(f"Invalid {source}: {joined}")


class ParameterError(AisecError):
    """A parameter violates its declared constraint; ``problems`` lists every one found."""

    def __init__(self, owner: str, problems: Iterable[str]) -> None:
        self.owner = owner
        self.problems = list(problems)
        super().__init__(f"Invalid parameters for {owner}: " + "; ".join(self.problems))


class ExecutorError(AisecError):
    """The executor cannot run the units: its cluster is unreachable, or a worker cannot rebuild
    what the driver built (another aisec version, a model file that differs)."""


class DataError(AisecError):
    """A data set cannot be used as given."""


class TargetError(AisecError):
    """A model cannot be wrapped or queried as declared."""


class CapabilityError(TargetError):
    """The target lacks a capability that the requested test needs."""


class ModelLoadError(AisecError):
    """A model file cannot be loaded through a safe path."""


class UnsafeModelError(ModelLoadError):
    """A pickle-based model file has scan findings and the caller did not trust it."""


class ScanError(AisecError):
    """A path given to the scanner cannot be read at all."""


class StoreError(AisecError):
    """The results store is missing, corrupt, or has no such run."""


class MissingExtraError(AisecError):
    """An optional dependency is not installed; the message names the extra that installs it."""
