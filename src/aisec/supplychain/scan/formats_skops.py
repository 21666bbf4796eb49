"""skops files: a zip whose ``schema.json`` names every type and function to rebuild.

skops refuses types it does not trust unless the user lists them; the scanner reads the schema
(JSON, never executed) and classifies every ``__module__``/``__class__`` pair and every
function reference with the same policy as pickle imports.
"""

from __future__ import annotations

import json
from typing import Any

from aisec.supplychain.scan.policy import Verdict, classify
from aisec.supplychain.scan.rules import Collector

_MAX_NODES = 200_000


def scan_skops_schema(data: bytes, col: Collector) -> None:
    """Flag dangerous (SCN-078) and untrusted (SCN-079) types and functions of a skops schema."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        col.add("SCN-079", f"skops schema is not valid JSON: {str(exc)[:80]}", "schema")
        return
    seen: dict[str, Verdict] = {}
    for module, name in _references(doc):
        full = f"{module}.{name}"
        if full not in seen:
            seen[full] = classify(module, name)
    for full, verdict in sorted(seen.items()):
        if verdict is Verdict.DANGEROUS:
            col.add("SCN-078", f"skops file rebuilds dangerous callable {full}", "schema")
        elif verdict is Verdict.UNKNOWN:
            col.add(
                "SCN-079",
                f"skops file needs type or function {full}, which is not trusted",
                "schema",
            )


def _references(doc: Any) -> list[tuple[str, str]]:
    """Every (module, name) a schema rebuilds: objects' classes and referenced functions."""
    out: list[tuple[str, str]] = []
    stack = [doc]
    visited = 0
    while stack and visited < _MAX_NODES:
        node = stack.pop()
        visited += 1
        if isinstance(node, dict):
            module, cls = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(cls, str):
                out.append((module, cls))
            content = node.get("content")
            if isinstance(content, dict):
                mod, fn = content.get("module_path"), content.get("function")
                if isinstance(mod, str) and isinstance(fn, str):
                    out.append((mod, fn))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out
