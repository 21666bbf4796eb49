"""A journal of replies, written as each batch of probes completes, so an interrupted run
resumes without asking the model again.

A reply is keyed by a digest of the application (its description: model, decoding, defence) and
the request. Errored replies are not kept: a resumed run tries them again. The journal is a
SQLite file (WAL), opened by whoever runs the probes: the assessment runner beside its results
store, ``aisec probe`` in its output folder.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from aisec.targets.views import ChatReply

_ACTIVE: ContextVar[ReplyJournal | None] = ContextVar("aisec_reply_journal", default=None)


class ReplyJournal:
    """Replies by key, in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)"
        )
        self._conn.commit()
        self.reused = 0
        """Replies served from the journal since it was opened."""

    def get(self, key: str) -> ChatReply | None:
        """The reply stored under ``key``, if any."""
        with self._lock:
            row = self._conn.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.reused += 1
        return ChatReply(**json.loads(row[0]))

    def put_many(self, items: list[tuple[str, ChatReply]]) -> None:
        """Store replies (errored ones are skipped) in one transaction."""
        rows = [
            (k, json.dumps(r.__dict__, ensure_ascii=False))
            for k, r in items
            if r.status != "errored"
        ]
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO replies VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._conn.close()


@contextmanager
def journal(path: str | Path) -> Iterator[ReplyJournal]:
    """Make a journal at ``path`` the active one for the probes run inside the block."""
    j = ReplyJournal(path)
    token = _ACTIVE.set(j)
    try:
        yield j
    finally:
        _ACTIVE.reset(token)
        j.close()


@contextmanager
def journal_at(path: str | Path | None) -> Iterator[ReplyJournal | None]:
    """:func:`journal` at ``path``; nothing is journalled when ``path`` is ``None``."""
    if path is None:
        yield None
        return
    with journal(path) as j:
        yield j


def active_journal() -> ReplyJournal | None:
    """The journal of the enclosing :func:`journal` block, if any."""
    return _ACTIVE.get()


def reply_key(application: dict[str, Any], request: Any, seed: int) -> str:
    """Digest of what determines a reply: the application's description, request and seed."""
    blob = json.dumps([application, request, seed], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
