"""Text data sets: prompts with metadata, for tests of chat models and LLM applications."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec.errors import DataError


@dataclass(frozen=True)
class Prompt:
    """One prompt and what is known about it."""

    text: str
    """The prompt as sent to the model."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """E.g. ``goal``, ``category``, the ``expected`` behaviour, the source of the prompt."""


@dataclass(frozen=True)
class TextDataset:
    """A non-empty sequence of prompts, validated once."""

    prompts: tuple[Prompt, ...]
    name: str = "prompts"
    """Human-readable name for reports."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Provenance: source path or built-in name."""

    def __post_init__(self) -> None:
        if not self.prompts:
            raise DataError(f"{self.name}: no prompts; give at least one")
        for i, p in enumerate(self.prompts):
            if not isinstance(p.text, str) or not p.text.strip():
                raise DataError(f"{self.name}: prompt {i} is empty or not text; remove or fill it")

    def __len__(self) -> int:
        return len(self.prompts)

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self.prompts)

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any] | str], name: str = "prompts"
    ) -> TextDataset:
        """Build from strings or mappings with a ``text`` key (other keys become metadata)."""
        prompts = []
        for i, rec in enumerate(records):
            if isinstance(rec, str):
                prompts.append(Prompt(rec))
                continue
            if not isinstance(rec, Mapping) or "text" not in rec:
                raise DataError(f"{name}: record {i} has no `text` field; give each prompt a text")
            prompts.append(Prompt(str(rec["text"]), {k: v for k, v in rec.items() if k != "text"}))
        return cls(tuple(prompts), name)

    @classmethod
    def load_jsonl(cls, path: str | Path) -> TextDataset:
        """Read one JSON object (or string) per line; blank lines are skipped."""
        path = Path(path)
        records: list[Any] = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}:{n} is not valid JSON ({exc.msg}); fix that line"
                ) from None
        data = cls.from_records(records, path.stem)
        return TextDataset(data.prompts, data.name, {"source": str(path)})

    def describe(self) -> dict[str, Any]:
        """Facts for reports."""
        return {"name": self.name, "n": len(self), "kind": "text", **self.meta}
