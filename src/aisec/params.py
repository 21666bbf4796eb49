"""Declared parameter constraints, checked all at once with readable errors.

A test declares each parameter once, default and constraint together::

    parameters = declare(steps=Param(40, Interval(int, 1, 100_000), "Gradient steps per restart."))

Subclasses inherit their bases' declarations and may add or override entries. The base class
rejects unknown or misspelt names at construction (with a suggestion), checks every value, and
reports every problem in one :class:`ParameterError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aisec.errors import ParameterError


class Constraint:
    """A rule a parameter value must satisfy."""

    def check(self, name: str, value: Any) -> str | None:
        """Return a problem description, or None when the value is fine."""
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number of the given type within (low, high); ``closed`` says which ends are included."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    """One of ``both``, ``left``, ``right``, ``neither``."""
    hint: str = ""

    def check(self, name: str, value: Any) -> str | None:
        numeric = (int, float) if self.kind is float else (int,)
        if isinstance(value, bool) or not isinstance(value, numeric):
            return f"`{name}` must be {self._describe()}; got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"`{name}` must be finite; got {value!r}"
        lo_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        hi_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        if lo_ok and hi_ok:
            return None
        msg = f"`{name}` must be {self._describe()}; got {value!r}"
        return f"{msg}. {self.hint}" if self.hint else msg

    def _describe(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return kind
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        lo = "-inf" if self.low is None else self._bound(self.low)
        hi = "inf" if self.high is None else self._bound(self.high)
        return f"{kind} in {left}{lo}, {hi}{right}"

    def _bound(self, v: float) -> str:
        """An end of the interval as written: integers in full (10000000, not 1e+07)."""
        return str(int(v)) if self.kind is int and float(v).is_integer() else f"{v:g}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values."""

    allowed: Collection[Any]

    def check(self, name: str, value: Any) -> str | None:
        if value in self.allowed:
            return None
        shown = ", ".join(repr(a) for a in sorted(self.allowed, key=str))
        return f"`{name}` must be one of {shown}; got {value!r}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False."""

    def check(self, name: str, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"`{name}` must be true or false; got {value!r}"


@dataclass(frozen=True)
class OptionalOf(Constraint):
    """None, or a value satisfying the inner constraint."""

    inner: Constraint

    def check(self, name: str, value: Any) -> str | None:
        return None if value is None else self.inner.check(name, value)


@dataclass(frozen=True)
class ListOf(Constraint):
    """A non-empty list whose items each satisfy the inner constraint (at most ``max_len``)."""

    inner: Constraint
    max_len: int | None = None
    """Most items the list may hold (None: no cap)."""
    hint: str = ""
    """How to shorten a list that is too long, appended to the message."""

    def check(self, name: str, value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or not value:
            return f"`{name}` must be a non-empty list; got {value!r}"
        if self.max_len is not None and len(value) > self.max_len:
            msg = f"`{name}` has {len(value)} values; at most {self.max_len} are allowed"
            return f"{msg}: {self.hint}" if self.hint else msg
        for i, item in enumerate(value):
            problem = self.inner.check(f"{name}[{i}]", item)
            if problem:
                return problem
        return None


@dataclass(frozen=True)
class SubsetOf(Constraint):
    """A list, possibly empty, of distinct values from a fixed set (options to switch on)."""

    allowed: tuple[Any, ...]

    def check(self, name: str, value: Any) -> str | None:
        shown = ", ".join(repr(a) for a in self.allowed)
        if not isinstance(value, (list, tuple)):
            return f"`{name}` must be a list of some of {shown}; got {value!r}"
        bad = [v for v in value if v not in self.allowed]
        if bad:
            return f"`{name}` may hold only {shown}; got {bad[0]!r}"
        if len(set(value)) != len(value):
            return f"`{name}` names a value twice; got {list(value)}"
        return None


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string."""

    def check(self, name: str, value: Any) -> str | None:
        """None for a non-empty string, else a one-line problem."""
        if isinstance(value, str) and value.strip():
            return None
        return f"`{name}` must be a non-empty string; got {value!r}"


@dataclass(frozen=True)
class AnyValue(Constraint):
    """No constraint beyond being given (free-form values, e.g. paths)."""

    def check(self, name: str, value: Any) -> str | None:
        return None


REQUIRED: Any = object()
"""Marker default of a parameter the user must give."""


@dataclass(frozen=True)
class Param:
    """One declared parameter: its default, its constraint and what it means."""

    default: Any
    """Value used when the parameter is not given (:data:`REQUIRED` when it must be given)."""
    constraint: Constraint
    """Rule every value must satisfy."""
    doc: str = ""
    """One line on what the parameter does, shown by ``aisec list``."""


def declare(**params: Param) -> Mapping[str, Param]:
    """A class's parameter declarations, read-only: ``parameters = declare(eps=Param(...))``."""
    return MappingProxyType(dict(params))


def collect_parameters(bases: list[Mapping[str, Param]]) -> dict[str, Param]:
    """Merge declarations from the most basic class to the most derived (later ones win)."""
    merged: dict[str, Param] = {}
    for declared in bases:
        merged.update(declared)
    return merged


def check_params(
    owner: str, params: Mapping[str, Any], declared: Mapping[str, Param]
) -> dict[str, Any]:
    """Merge ``params`` over the declared defaults and check them all.

    Unknown names get a suggestion (``did you mean `eps`?``); every problem is gathered into
    one :class:`ParameterError`.
    """
    problems: list[str] = []
    for name in sorted(set(params) - set(declared)):
        close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        allowed = ", ".join(sorted(declared)) or "none"
        problems.append(f"unknown parameter `{name}`{hint} (allowed: {allowed})")
    merged: dict[str, Any] = {}
    for name, param in declared.items():
        value = params.get(name, param.default)
        if value is REQUIRED:
            problems.append(f"`{name}` is required ({param.doc or 'no default'})")
            continue
        problem = param.constraint.check(name, value)
        if problem:
            problems.append(problem)
        merged[name] = value
    if problems:
        raise ParameterError(owner, problems)
    return merged
