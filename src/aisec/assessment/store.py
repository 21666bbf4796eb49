"""The SQLite results store: every unit's result is committed the moment it completes.

Tables: ``runs`` (one row per assessment run) and ``units`` (one row per finished unit, keyed by
run and unit key). Results are JSON, with their typed outcome's kind and the findings computed
when the unit ran, plus the aisec version that ran it; artefacts are an ``.npz`` blob (no
pickling). Stores written by earlier versions still load: their results get typed outcomes
from the registered tests and findings re-derived by the installed rules. The database
uses WAL journaling, so a process killed mid-run loses at most the unit it was working on.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from aisec.errors import StoreError
from aisec.records import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    config_json TEXT NOT NULL,
    created TEXT NOT NULL,
    finished TEXT,
    aisec_version TEXT NOT NULL,
    units_total INTEGER NOT NULL,
    context_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS units (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    unit_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    test_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    result_json TEXT NOT NULL,
    artifacts BLOB,
    finished TEXT NOT NULL,
    aisec_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, unit_key)
);
CREATE TABLE IF NOT EXISTS claims (
    run_id TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed TEXT NOT NULL,
    PRIMARY KEY (run_id, unit_key)
);
"""
_UNIT_COLUMNS_ADDED = {"aisec_version": "TEXT NOT NULL DEFAULT ''"}
"""Columns added to ``units`` since the first schema (added to older stores when opened)."""


def utc_now() -> str:
    """Current UTC time, ISO-8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunInfo:
    """One row of the ``runs`` table."""

    run_id: str
    name: str
    config_hash: str
    config: dict[str, Any]
    created: str
    finished: str | None
    aisec_version: str
    units_total: int
    units_done: int
    context: dict[str, Any]


class ResultStore:
    """A results database at ``path`` (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=60)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"results store {str(self.path)!r} is not a usable SQLite database ({exc}); "
                "point --store at a new file"
            ) from None

    def _migrate(self) -> None:
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(units)")}
        for name, decl in _UNIT_COLUMNS_ADDED.items():
            if name not in have:
                with self._conn:
                    self._conn.execute(f"ALTER TABLE units ADD COLUMN {name} {decl}")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once, so check-then-write steps of two processes on
        one store cannot interleave."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"results store {str(self.path)!r} failed: {exc}") from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._conn:
                yield self._conn
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"results store {str(self.path)!r} failed: {exc}") from None

    # -- runs ----------------------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        name: str,
        config_hash: str,
        config: dict[str, Any],
        aisec_version: str,
        units_total: int,
    ) -> None:
        """Record a new run."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO runs (run_id, name, config_hash, config_json, created, aisec_version, units_total)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    name,
                    config_hash,
                    json.dumps(config, sort_keys=True),
                    utc_now(),
                    aisec_version,
                    units_total,
                ),
            )

    def set_context(self, run_id: str, context: dict[str, Any]) -> None:
        """Store run-level context (target descriptions, threat model) as JSON."""
        with self._tx() as c:
            c.execute(
                "UPDATE runs SET context_json = ? WHERE run_id = ?", (json.dumps(context), run_id)
            )

    def finish_run(self, run_id: str) -> None:
        """Mark a run finished (every unit stored)."""
        with self._tx() as c:
            c.execute("UPDATE runs SET finished = ? WHERE run_id = ?", (utc_now(), run_id))

    def run(self, run_id: str) -> RunInfo:
        """One run, or a StoreError listing recent ones."""
        row = self._conn.execute(
            "SELECT run_id, name, config_hash, config_json, created, finished, aisec_version, units_total,"
            " context_json, (SELECT COUNT(*) FROM units u WHERE u.run_id = r.run_id) FROM runs r WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            recent = ", ".join(r.run_id for r in self.runs()[:5]) or "none"
            raise StoreError(f"no run {run_id!r} in {str(self.path)!r} (recent runs: {recent})")
        return _run_info(row)

    def runs(self) -> list[RunInfo]:
        """All runs, newest first."""
        rows = self._conn.execute(
            "SELECT run_id, name, config_hash, config_json, created, finished, aisec_version, units_total,"
            " context_json, (SELECT COUNT(*) FROM units u WHERE u.run_id = r.run_id) FROM runs r"
            " ORDER BY created DESC, rowid DESC"
        ).fetchall()
        return [_run_info(r) for r in rows]

    def latest_unfinished(self, config_hash: str) -> RunInfo | None:
        """The newest unfinished run of the same config, to resume."""
        for info in self.runs():
            if info.config_hash == config_hash and info.finished is None:
                return info
        return None

    # -- claims: which process computes which unit ------------------------------------------
    def claim(self, run_id: str, unit_key: str) -> bool:
        """Take ``unit_key`` for this process; False when it is stored or a live process on
        this host holds it (a claim of a process that died is taken over)."""
        me = (socket.gethostname(), os.getpid())
        with self._immediate() as c:
            if c.execute(
                "SELECT 1 FROM units WHERE run_id = ? AND unit_key = ?", (run_id, unit_key)
            ).fetchone():
                return False
            row = c.execute(
                "SELECT host, pid FROM claims WHERE run_id = ? AND unit_key = ?", (run_id, unit_key)
            ).fetchone()
            if row is not None and tuple(row) != me and _alive(row[0], int(row[1])):
                return False
            c.execute(
                "INSERT OR REPLACE INTO claims (run_id, unit_key, host, pid, claimed)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, unit_key, me[0], me[1], utc_now()),
            )
            return True

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the store's write lock (to find-or-create a run without a race)."""
        with self._immediate():
            yield

    def live_claims(self, run_id: str) -> int:
        """Units of ``run_id`` that a live process is computing now."""
        rows = self._conn.execute(
            "SELECT c.host, c.pid FROM claims c WHERE c.run_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM units u WHERE u.run_id = c.run_id AND u.unit_key = c.unit_key)",
            (run_id,),
        ).fetchall()
        return sum(1 for host, pid in rows if _alive(host, int(pid)))

    def claimant(self, run_id: str, unit_key: str) -> tuple[str, int] | None:
        """Host and pid of the live process that holds ``unit_key``, if any."""
        row = self._conn.execute(
            "SELECT host, pid FROM claims WHERE run_id = ? AND unit_key = ?", (run_id, unit_key)
        ).fetchone()
        if row is None or not _alive(row[0], int(row[1])):
            return None
        return str(row[0]), int(row[1])

    # -- units ---------------------------------------------------------------------------------
    def done_keys(self, run_id: str) -> set[str]:
        """Keys of the units already stored for a run."""
        rows = self._conn.execute(
            "SELECT unit_key FROM units WHERE run_id = ?", (run_id,)
        ).fetchall()
        return {r[0] for r in rows}

    def save_result(self, run_id: str, unit_key: str, position: int, result: Result) -> None:
        """Commit one unit's result and its findings (durable when this returns)."""
        from aisec import __version__

        js, blob = encode_result(result.with_unit(unit_key))
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO units (run_id, unit_key, position, test_id, target, status,"
                " result_json, artifacts, finished, aisec_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    unit_key,
                    position,
                    result.test_id,
                    result.target,
                    result.status.value,
                    js,
                    blob,
                    utc_now(),
                    __version__,
                ),
            )

    def results(self, run_id: str) -> list[tuple[str, Result]]:
        """Stored results of a run in plan order, as ``(unit_key, result)``."""
        rows = self._conn.execute(
            "SELECT unit_key, result_json, artifacts FROM units WHERE run_id = ? ORDER BY position",
            (run_id,),
        ).fetchall()
        out = []
        for key, js, blob in rows:
            try:
                out.append((key, decode_result(js, blob).with_unit(key)))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(
                    f"stored result {key} of run {run_id} is corrupt ({exc}); re-run it"
                ) from None
        return out


def encode_result(result: Result) -> tuple[str, bytes | None]:
    """A result as the store keeps it: JSON (NaN refused) and its artefacts as ``.npz`` bytes.

    Results computed elsewhere (a Ray worker) travel in this form too, so what the driver stores
    is exactly what a local run stores.
    """
    return json.dumps(result.to_dict(), allow_nan=False), _pack_arrays(result.artifacts)


def decode_result(js: str, blob: bytes | None) -> Result:
    """Inverse of :func:`encode_result`, with the typed outcome its test returns."""
    return _typed(Result.from_dict(json.loads(js), _unpack_arrays(blob)))


def _alive(host: str, pid: int) -> bool:
    """Whether a claim's process still runs (claims of other hosts are trusted)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _typed(result: Result) -> Result:
    """A result stored without its outcome's kind, given the outcome its test returns."""
    if result.outcome is not None or not result.ok or not result.metrics:
        return result
    from aisec.errors import AisecError
    from aisec.registry import get_test

    try:
        record = get_test(result.test_id).outcome_type
    except AisecError:
        return result
    if record is None:
        return result
    try:
        return replace(result, outcome=record.from_dict(result.metrics))
    except (ValueError, TypeError, KeyError):  # free-form metrics: shown by the generic view
        return result


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    return RunInfo(
        run_id=row[0],
        name=row[1],
        config_hash=row[2],
        config=json.loads(row[3]),
        created=row[4],
        finished=row[5],
        aisec_version=row[6],
        units_total=int(row[7]),
        context=json.loads(row[8] or "{}"),
        units_done=int(row[9]),
    )


def _pack_arrays(arrays: dict[str, np.ndarray] | Any) -> bytes | None:
    if not arrays:
        return None
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def _unpack_arrays(blob: bytes | None) -> dict[str, np.ndarray]:
    if not blob:
        return {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}
