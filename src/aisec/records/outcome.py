"""The :class:`Outcome` base: a family's typed, frozen result record, and its JSON form.

Each family declares one outcome dataclass per kind of measurement (``kind`` names it in the
store). :meth:`Outcome.to_dict` gives the JSON form that the store keeps and generic tables
show; :meth:`Outcome.from_dict` rebuilds the typed record from it, nested records and tuples
included, so results stored by this or an earlier version load as typed outcomes again.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import math
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, Union

OutcomeT = TypeVar("OutcomeT", bound="Outcome")

OMIT_EMPTY = {"omit": "empty"}
"""Field metadata: leave the field out of the JSON form when it is None, False or empty."""
OMIT_NONE = {"omit": "none"}
"""Field metadata: leave the field out of the JSON form when it is None."""

_KINDS: dict[str, type[Outcome]] = {}

FAMILY_MODULES = (
    "aisec.records.evasion",
    "aisec.records.supplychain",
    "aisec.records.poisoning",
    "aisec.records.privacy",
    "aisec.records.defences",
    "aisec.records.prompt",
)
"""The modules of the families' outcome records, imported (so registered) on the first lookup;
importing :mod:`aisec.records` alone stays light (the scanner needs only findings)."""


class Outcome:
    """Base of every outcome record (subclasses are frozen dataclasses)."""

    kind: ClassVar[str]
    """Name of the outcome kind in the store and the report views, e.g. ``evasion``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            existing = _KINDS.get(kind)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise ValueError(f"outcome kind {kind!r} is declared twice ({existing}, {cls})")
            _KINDS[kind] = cls

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (NaN becomes None; empty optional fields are left out)."""
        return _encode_record(self)

    @classmethod
    def from_dict(cls: type[OutcomeT], data: Mapping[str, Any]) -> OutcomeT:
        """Rebuild the record from its JSON form; unknown keys are ignored."""
        decoded = _decode_record(cls, data)
        assert isinstance(decoded, cls)
        return decoded


def _load_families() -> None:
    for name in FAMILY_MODULES:
        if name not in sys.modules:
            importlib.import_module(name)


def outcome_kinds() -> dict[str, type[Outcome]]:
    """Every declared outcome kind."""
    _load_families()
    return dict(_KINDS)


def outcome_class(kind: str) -> type[Outcome] | None:
    """The record class of ``kind``, or None when this installation does not know it."""
    if kind not in _KINDS:
        _load_families()
    return _KINDS.get(kind)


def encode(value: Any) -> Any:
    """Plain JSON value of a record field (nested records, tuples, numpy values, enums)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_record(value)
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    np = sys.modules.get("numpy")  # no numpy value exists before NumPy is imported
    if np is not None and isinstance(value, np.ndarray):
        return encode(value.tolist())
    if np is not None and isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _encode_record(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        omit = f.metadata.get("omit")
        if omit and (value is None or (omit == "empty" and (value is False or value in ((), {})))):
            continue
        out[f.name] = encode(value)
    return out


def _decode_record(cls: type, data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} must be an object; got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__} lacks the field {f.name!r}")
    return cls(**kwargs)


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _decode(args[0], value) if len(args) == 1 else value
    if value is None:
        return math.nan if tp is float else None
    if dataclasses.is_dataclass(tp):
        return _decode_record(tp, value)
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if origin in (dict, Mapping):
        args = typing.get_args(tp)
        item = args[1] if len(args) == 2 else Any
        return {k: _decode(item, v) for k, v in dict(value).items()}
    if tp is float:
        return float(value)
    if tp is int and not isinstance(value, bool):
        return int(value)
    return value
