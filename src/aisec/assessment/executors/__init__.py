"""Where an assessment's units run: in this process, or as tasks on a Ray cluster.

The runner owns the results store. It hands an executor the units it has claimed, one at a
time as the executor asks for them, and stores each result the executor gives back, as soon
as it comes back; so the store's guarantees (nothing computed is lost, a killed driver
resumes, stored units are never sent again) hold whatever the executor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aisec.assessment.config import AssessmentConfig, ExecutorConfig
from aisec.assessment.content import ContentDigest
from aisec.assessment.plan import Unit
from aisec.data import Dataset
from aisec.data.splits import Splits
from aisec.records import Result
from aisec.targets.base import Target


@dataclass(frozen=True)
class RunWork:
    """What the units of one run read, as the driver built and digested it."""

    config: AssessmentConfig
    targets: Mapping[str, Target]
    """Targets by name, loaded in the driver."""
    datasets: Mapping[str, Dataset | Splits | None]
    """Each target's data as the units see it (``None`` for chat targets)."""
    content: Mapping[str, ContentDigest]
    """Each target's content digests: a worker checks that it rebuilt the same thing."""
    journal: Path | None
    """The run's reply journal for chat probes, if it keeps one."""


class UnitEvents(Protocol):
    """What an executor tells the runner's progress display while it works."""

    def started(self, unit: Unit) -> None:
        """``unit`` was handed to a worker (or began here)."""

    def note(self, unit: Unit, text: str) -> None:
        """Progress inside a unit (only the local executor sees it)."""

    def cluster(self, running: int, queued: int) -> None:
        """Units running on the cluster's workers and waiting for a free one."""


class Executor(ABC):
    """Runs units and gives back their results as they complete (in any order)."""

    name: str = ""
    """``local`` or ``ray``."""

    def start(self) -> None:  # noqa: B027 - the local executor has nothing to reach
        """Reach where the units will run (before anything is loaded, so a cluster that
        cannot be reached leaves no run behind)."""

    @abstractmethod
    def open(self, work: RunWork) -> None:
        """Get ready to run the units of ``work`` (ship the files they read)."""

    @abstractmethod
    def map(self, units: Iterable[Unit], events: UnitEvents) -> Iterator[tuple[Unit, Result]]:
        """Run ``units``, taking each from the iterable only when it can start soon, and yield
        ``(unit, result)`` as each completes. A unit that fails is an error result."""

    def close(self) -> None:  # noqa: B027 - most executors hold nothing to release
        """Stop what is still running and release what :meth:`open` took."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(config: ExecutorConfig) -> Executor:
    """The executor a config's ``executor:`` section asks for (Ray needs the ``ray`` extra)."""
    if config.kind == "ray":
        from aisec.assessment.executors.ray_cluster import RayExecutor

        return RayExecutor(config)
    from aisec.assessment.executors.local import LocalExecutor

    return LocalExecutor()


__all__ = ["Executor", "RunWork", "UnitEvents", "make_executor"]
