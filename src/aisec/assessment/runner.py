"""Run an assessment: plan → units → results store → findings → report data.

Every unit's result is committed to the store the moment it completes; running the same config
again (or ``resume=RUN_ID``) skips finished units, so nothing computed is ever lost.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aisec import __version__
from aisec.assessment.config import AssessmentConfig, TargetConfig, run_identity
from aisec.assessment.content import (
    ContentDigest,
    digest_chat_target,
    digest_target,
    what_changed,
)
from aisec.assessment.executors import Executor, RunWork, make_executor
from aisec.assessment.plan import Unit, config_hash, expand
from aisec.assessment.resources import build_data, build_target, build_train_data, unit_data
from aisec.assessment.store import ResultStore, RunInfo, utc_now
from aisec.data import Dataset
from aisec.data.splits import Splits
from aisec.errors import AisecError, StoreError
from aisec.records import Finding, Result, Severity
from aisec.registry import get_test
from aisec.targets.base import Target


@dataclass(frozen=True)
class RunOutcome:
    """What :func:`run_assessment` did."""

    run_id: str
    resumed: bool
    units_total: int
    units_run: int
    """Units this process computed (not those another process computed meanwhile)."""
    units_skipped_as_done: int
    """Units already stored when the run started."""


def new_run_id(config: AssessmentConfig, digest: str) -> str:
    """``<name>-<UTC timestamp>-<config hash prefix>``."""
    slug = re.sub(r"[^a-z0-9]+", "-", config.name.lower()).strip("-")[:32] or "run"
    stamp = utc_now().replace("-", "").replace(":", "").replace("+0000", "")[:15]
    return f"{slug}-{stamp}-{digest[:6]}"


def run_assessment(
    config: AssessmentConfig,
    store: ResultStore,
    *,
    resume: str | None = None,
    console: Console | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> RunOutcome:
    """Execute (or resume) the assessment and store every result as it completes.

    Targets and data are loaded first, so a config that cannot start leaves no run behind, and
    their content digests bind the run: a model, data or listed file that changed since an
    unfinished run starts a new run (and says so) instead of resuming. Two processes on one
    store never compute the same unit: each claims a unit before running it, and a process
    that finds a unit claimed by a live process waits for its result.

    ``executor`` runs the units (default: the one the config's ``executor:`` names); whichever
    it is, this process alone writes the store, storing each result as it comes back.
    """
    console = console or Console(stderr=True)
    chosen = executor or make_executor(config.executor)  # a missing extra fails before loading
    with chosen:
        chosen.start()
        return _run(config, store, chosen, resume, console, progress=progress)


def _run(
    config: AssessmentConfig,
    store: ResultStore,
    ex: Executor,
    resume: str | None,
    console: Console,
    *,
    progress: bool,
) -> RunOutcome:
    """The body of :func:`run_assessment`, with the executor started."""
    targets: dict[str, Target] = {}
    datasets: dict[str, Dataset | Splits | None] = {}
    content: dict[str, ContentDigest] = {}
    for tc in config.targets:
        targets[tc.name] = build_target(tc)
        if tc.chat:  # chat targets read the probes' own prompts, not a data set
            datasets[tc.name] = None
            content[tc.name] = digest_chat_target(tc, targets[tc.name])
            continue
        test = build_data(tc, config.seed)
        train = build_train_data(tc)
        datasets[tc.name] = unit_data(test, train)
        content[tc.name] = digest_target(tc, targets[tc.name], test, train)
    units = expand(config, {name: c.combined for name, c in content.items()})
    digest = config_hash(config)
    stored_content = {name: c.to_dict() for name, c in content.items()}
    run_id, resumed = _open_run(config, store, digest, content, units, resume, console)
    info = store.run(run_id)
    context = info.context
    if "targets" not in context or "content" not in context:
        context["targets"] = [
            {**targets[tc.name].describe(), "data": _described(datasets[tc.name])}
            for tc in config.targets
        ]
        context["content"] = stored_content
        store.set_context(run_id, context)
    done = store.done_keys(run_id)
    pending = [u for u in units if u.key not in done]
    if resumed:
        console.print(
            f"Resuming run [bold]{run_id}[/]: {len(done)} of {len(units)} units already stored."
        )

    work = RunWork(config, targets, datasets, content, _journal_path(store, config, run_id))
    from aisec.attacks.prompt.journal import journal_at

    with _progress(console, enabled=progress) as bar, journal_at(work.journal):
        if pending:
            ex.open(work)
        events = _Events(bar, len(units), len(units) - len(pending), ex.name)
        waiting: list[Unit] = []

        def results() -> Iterator[tuple[Unit, Result]]:
            yield from ex.map(_claimed(store, run_id, pending, waiting), events)
            # then the units another process had claimed and left undone
            yield from ex.map(_await_others(store, run_id, waiting, console), events)

        computed = 0
        for unit, result in results():
            store.save_result(run_id, unit.key, unit.position, result)
            events.finished(unit, result)
            computed += 1
        events.done(len(store.done_keys(run_id)))
    if len(store.done_keys(run_id)) >= len(units):
        store.finish_run(run_id)
    return RunOutcome(run_id, resumed, len(units), computed, len(units) - len(pending))


def _open_run(
    config: AssessmentConfig,
    store: ResultStore,
    digest: str,
    content: dict[str, ContentDigest],
    units: list[Unit],
    resume: str | None,
    console: Console,
) -> tuple[str, bool]:
    """The run to continue (same config, same content, with work stored) or a new one."""
    by_name = {t.name: t for t in config.targets}
    if resume:
        info = store.run(resume)
        if info.config_hash != digest:
            raise StoreError(
                f"run {resume!r} was made with a different config; run without --resume"
            )
        changed = _changed_since(info, content, by_name)
        if changed:
            raise StoreError(
                f"{', '.join(changed)} changed since run {resume}; run without --resume to "
                "start a new run"
            )
        return resume, True
    with store.exclusive():
        for info in store.runs():
            if info.config_hash != digest or info.finished is not None:
                continue
            stored = info.units_done > 0 or replies_path(store, info.run_id).is_file()
            if not stored and not store.live_claims(info.run_id):
                continue  # a run that stored nothing (a failed start) is not resumed
            changed = _changed_since(info, content, by_name)
            if changed:
                console.print(
                    f"{', '.join(changed)} changed since run {info.run_id}; starting a new run."
                )
                break
            return info.run_id, stored
        run_id = new_run_id(config, digest)
        taken = {r.run_id for r in store.runs()}
        base, n = run_id, 1
        while run_id in taken:  # two runs of one config within a second
            n += 1
            run_id = f"{base}-{n}"
        store.create_run(run_id, config.name, digest, run_identity(config), __version__, len(units))
    return run_id, False


def _changed_since(
    info: RunInfo, content: dict[str, ContentDigest], by_name: dict[str, TargetConfig]
) -> list[str]:
    """What differs between a stored run's content digests and the content now."""
    stored = info.context.get("content")
    if not isinstance(stored, dict):
        return [f"the content of run {info.run_id} (stored without digests)"]
    changed: list[str] = []
    for name, now in content.items():
        if name not in stored:
            changed.append(f"target {name!r}")
            continue
        changed += what_changed(by_name[name], ContentDigest.from_dict(stored[name]), now)
    return changed


def _claimed(
    store: ResultStore, run_id: str, units: list[Unit], waiting: list[Unit]
) -> Iterator[Unit]:
    """The units this process claims, one at a time as the executor asks for them (so two
    processes on one store share the work); those claimed elsewhere go to ``waiting``."""
    for unit in units:
        if store.claim(run_id, unit.key):
            yield unit
        else:
            waiting.append(unit)


def _await_others(
    store: ResultStore, run_id: str, units: list[Unit], console: Console
) -> list[Unit]:
    """Wait for units another live process is computing; return those it left undone."""
    left: list[Unit] = []
    announced = False
    todo = list(units)
    while todo:
        done = store.done_keys(run_id)
        still = []
        for unit in todo:
            if unit.key in done:
                continue
            if store.claimant(run_id, unit.key) is None and store.claim(run_id, unit.key):
                left.append(unit)  # its claimant died: compute it here
                continue
            still.append(unit)
        todo = still
        if todo:
            if not announced:
                console.print(f"Waiting for {len(todo)} unit(s) another process is computing.")
                announced = True
            time.sleep(0.5)
    return left


def _journal_path(store: ResultStore, config: AssessmentConfig, run_id: str) -> Path | None:
    """The reply journal of this run's chat probes, beside the store: a resumed run continues
    mid-unit without asking the model again, and a new run never reuses an old run's replies
    (the model behind an endpoint may have changed)."""
    if not any(tc.chat for tc in config.targets) or str(store.path) == ":memory:":
        return None
    return replies_path(store, run_id)


def replies_path(store: ResultStore, run_id: str) -> Path:
    """The reply journal of a run's chat probes, beside the store (``STORE.RUN.replies``)."""
    return store.path.with_name(f"{store.path.name}.{run_id}.replies")


def _described(data: Dataset | Splits | None) -> dict[str, Any]:
    if data is None:
        return {"name": "the probes' own prompts"}
    return _evaluated(data).describe()


def _evaluated(data: Dataset | Splits) -> Dataset:
    from aisec.data.splits import TEST

    return data[TEST] if isinstance(data, Splits) else data


def collect_findings(results: list[Result]) -> list[Finding]:
    """The findings stored with every result, most severe first.

    Results stored before findings were stored with them get their findings from the rules
    of the installed version (the report says so).
    """
    findings: list[Finding] = []
    for r in results:
        if r.findings_stored:
            findings.extend(r.findings)
        else:
            findings.extend(_rederived(r))
        if r.status.value == "error":
            findings.append(
                Finding(
                    id=f"RUN-001:{r.target}:{r.test_id}:{_short(r.params)}",
                    rule="RUN-001",
                    title=f"{r.test_id} could not run on {r.target}: the evidence it should give is missing",
                    severity=Severity.LOW,
                    target=r.target,
                    test_id=r.test_id,
                    evidence={"message": r.message},
                    recommendation="Fix the cause named in the message and re-run the assessment.",
                    unit=r.unit,
                )
            )
    findings.sort(key=lambda f: (-f.severity.rank, f.target, f.id))
    return findings


def _rederived(result: Result) -> list[Finding]:
    try:
        cls = get_test(result.test_id)
        return [replace(f, unit=result.unit) for f in cls(**result.params).findings(result)]
    except AisecError:  # a test this installation no longer has, or parameters it rejects
        return []


def _short(params: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:8]


class _Events:
    """The progress bar's view of the units: done of total, and what is running now."""

    def __init__(self, bar: Progress, total: int, done: int, executor: str) -> None:
        self._bar = bar
        self._task = bar.add_task("assessment", total=total, completed=done, what="")
        self._cluster = executor != "local"
        self._failed = 0
        self._running = 0
        self._queued = 0

    def started(self, unit: Unit) -> None:
        """Show which unit runs (here) or how many (on a cluster)."""
        if not self._cluster:
            self._bar.update(self._task, what=f"{unit.test_id} on {unit.target}")

    def note(self, unit: Unit, text: str) -> None:
        """Progress inside the unit running here."""
        self._bar.update(self._task, what=f"{unit.test_id} on {unit.target} · {text}")

    def cluster(self, running: int, queued: int) -> None:
        """Units running on the cluster and waiting for a worker."""
        self._running, self._queued = running, queued
        self._show()

    def finished(self, unit: Unit, result: Result) -> None:
        """One more unit stored."""
        if result.status.value == "error":
            self._failed += 1
        self._bar.advance(self._task)
        if self._cluster:
            self._running = max(0, self._running - 1)
            self._show()

    def done(self, stored: int) -> None:
        """The final count, units other processes stored included."""
        what = f"{self._failed} failed" if self._failed else ""
        self._bar.update(self._task, completed=stored, what=what)

    def _show(self) -> None:
        parts = [f"{self._running} running"]
        if self._queued:
            parts.append(f"{self._queued} queued")
        if self._failed:
            parts.append(f"{self._failed} failed")
        self._bar.update(self._task, what=" · ".join(parts))


class _progress:
    """A Rich progress bar on stderr (a no-op when disabled)."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[what]}"),
            console=console,
            disable=not enabled,
            transient=False,
        )

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self._bar

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)  # type: ignore[arg-type]
