"""Progress inside a long unit: what an attack is doing now, for whoever shows it.

Attacks say where they are (``with progress.stage("apgd-t"):``, ``progress.note("target
3/9")``) without knowing who listens; the runner and ``aisec evade`` install a listener with
:func:`listening` and show the text beside their progress bar. Without a listener every call
is a no-op, so library users and tests pay nothing. Notes are throttled: a listener hears at
most one every :data:`MIN_INTERVAL` seconds, except when a stage starts or ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MIN_INTERVAL = 0.25
"""Seconds between two notes a listener hears (stage changes are always heard)."""

Listener = Callable[[str], None]

_listener: ContextVar[Listener | None] = ContextVar("aisec_progress_listener", default=None)
_stages: ContextVar[tuple[str, ...]] = ContextVar("aisec_progress_stages", default=())
_last: ContextVar[float] = ContextVar("aisec_progress_last", default=0.0)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every note made inside the block to ``listener`` (one line of text)."""
    token = _listener.set(listener)
    stages = _stages.set(())
    try:
        yield
    finally:
        _stages.reset(stages)
        _listener.reset(token)


@contextmanager
def stage(label: str) -> Iterator[None]:
    """A named part of the work (an ensemble stage, a check, an epsilon of a curve)."""
    if _listener.get() is None:
        yield
        return
    token = _stages.set((*_stages.get(), label))
    _emit("", force=True)
    try:
        yield
    finally:
        _stages.reset(token)


def note(text: str) -> None:
    """Where the current stage is (e.g. ``target 3/9``, ``query 1200/5000``)."""
    if _listener.get() is not None:
        _emit(text, force=False)


def count(what: str, done: int, total: int) -> None:
    """Shorthand for ``note(f"{what} {done}/{total}")``."""
    if _listener.get() is not None:
        _emit(f"{what} {done}/{total}", force=False)


def _emit(text: str, *, force: bool) -> None:
    listener = _listener.get()
    if listener is None:
        return
    now = time.monotonic()
    if not force and now - _last.get() < MIN_INTERVAL:
        return
    _last.set(now)
    parts = [*_stages.get(), text] if text else list(_stages.get())
    listener(" › ".join(parts))
