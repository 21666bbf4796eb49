"""The local executor: every unit in this process, one after the other."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aisec import progress as inner_progress
from aisec.assessment.executors import Executor, RunWork, UnitEvents
from aisec.assessment.plan import Unit
from aisec.assessment.units import run_unit
from aisec.records import Result


class LocalExecutor(Executor):
    """Runs each unit in this process on the targets and data the driver loaded."""

    name = "local"

    def __init__(self) -> None:
        self._work: RunWork | None = None

    def open(self, work: RunWork) -> None:
        """Keep the driver's targets and data for the units."""
        self._work = work

    def map(self, units: Iterable[Unit], events: UnitEvents) -> Iterator[tuple[Unit, Result]]:
        """Run each unit as it is taken, showing its inner progress."""
        work = self._work
        if work is None:
            raise RuntimeError("LocalExecutor.map called before open")
        for unit in units:
            events.started(unit)
            with inner_progress.listening(lambda text, u=unit: events.note(u, text)):
                result = run_unit(unit, work.targets[unit.target], work.datasets[unit.target])
            yield unit, result
