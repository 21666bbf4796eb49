"""Reading a results store back as the executor tests compare it: every unit, timing aside."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def stored_without_timings(db: Path) -> dict[str, dict[str, Any]]:
    """Each stored unit's result JSON without its ``seconds``, with its artefact blob."""
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT unit_key, result_json, artifacts FROM units").fetchall()
    out = {}
    for key, js, blob in rows:
        record = json.loads(js)
        record.pop("seconds")
        out[key] = {"result": record, "artifacts": blob}
    return out
