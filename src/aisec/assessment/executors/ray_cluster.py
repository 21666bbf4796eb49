"""The Ray executor: each unit a Ray task, scheduled by the resources it declares.

The driver (the process running ``aisec assess``) keeps the results store; workers get
:class:`~aisec.assessment.executors.work.UnitTask` objects and give back encoded results. The
files the targets read travel through Ray's object store once per run (a worker that reads the
same bytes at the driver's path uses them in place). A task whose worker dies is re-run by Ray
up to ``max_retries`` times; after that the unit is stored as an error result.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from aisec.assessment.config import ExecutorConfig, UnitResources, ray_address_problem
from aisec.assessment.content import file_digest
from aisec.assessment.executors import Executor, RunWork, UnitEvents
from aisec.assessment.executors.work import (
    ShippedFile,
    UnitTask,
    run_task,
    target_files,
    worker_died,
)
from aisec.assessment.plan import Unit
from aisec.assessment.store import decode_result
from aisec.errors import AisecError, ExecutorError, MissingExtraError
from aisec.extras import install_hint, is_missing
from aisec.records import Result

_GIB = 1 << 30
_PROBE_S = 10.0
"""How long a Ray address may take to accept a connection."""
_POLL_S = 0.5
"""How often the progress display hears from the cluster while no unit completes."""


def _import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as exc:
        if not is_missing(exc, "ray"):
            raise
        raise MissingExtraError(f"the Ray executor needs Ray: {install_hint('ray')}") from None
    return ray


def _warm_up() -> int:
    """Import what units need (aisec, its tests, PyTorch) on a worker, while the driver loads
    its targets; returns the worker's process id."""
    import os

    from aisec.registry import available_tests

    available_tests()
    return os.getpid()


def _unit_task(task: UnitTask, shipped: dict[str, Any]) -> tuple[str, bytes | None]:
    """The Ray task: compute one unit; shipped files are fetched only if the worker needs them."""
    import ray

    return run_task(task, lambda sha: ray.get(shipped[sha]) if sha in shipped else None)


def _probe(address: str) -> None:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself retries for minutes)."""
    if address == "auto":
        return
    problem = ray_address_problem(address)
    if problem:
        raise ExecutorError(f"the Ray address {problem}: fix executor.address / --address")
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=_PROBE_S).close()
    except OSError as exc:
        raise ExecutorError(
            f"nothing answers at Ray address {address} ({exc.strerror or exc}): start the "
            "cluster with `ray start --head` or check executor.address / --address"
        ) from None


class RayExecutor(Executor):
    """Runs units as tasks on a Ray cluster (a local instance when no address is given)."""

    name = "ray"

    def __init__(self, config: ExecutorConfig, *, ship_always: bool = False) -> None:
        self._ray = _import_ray()
        self._config = config
        self._ship_always = ship_always
        self._started_here = False
        self._in_flight: dict[Any, Unit] = {}
        self._files: dict[str, tuple[ShippedFile, ...]] = {}
        self._shipped: dict[str, Any] = {}
        self._nodes: list[dict[str, float]] = []
        self._one_machine = False
        self._warming: list[Any] = []
        self._remote: Any = None
        self._work: RunWork | None = None

    # -- set-up ----------------------------------------------------------------------------
    def start(self) -> None:
        """Join the cluster (or start a local instance; a process that already runs Ray uses
        its instance), and have one worker per CPU slot import aisec while the driver loads
        its targets."""
        ray = self._ray
        if not ray.is_initialized():
            self._connect()
        alive = [n for n in ray.nodes() if n.get("Alive", n.get("alive", False))]
        self._nodes = [dict(n["Resources"]) for n in alive]
        here = ray.util.get_node_ip_address()
        self._one_machine = all(n.get("NodeManagerAddress") == here for n in alive)
        self._remote = ray.remote(_unit_task)
        warm = ray.remote(_warm_up).options(num_cpus=self._config.resources.cpus)
        self._warming = [warm.remote() for _ in range(self._slots(self._config.resources))]

    def open(self, work: RunWork) -> None:
        """Put every file the targets read into the object store, once per run (not when the
        cluster is this machine alone: its workers read the files in place)."""
        ray = self._ray
        self._work = work
        for tc in work.config.targets:
            files = []
            for path in target_files(tc):
                sha = file_digest(Path(path))
                if sha == "missing":
                    continue
                files.append(ShippedFile(path, sha))
                if sha not in self._shipped and (self._ship_always or not self._one_machine):
                    self._shipped[sha] = ray.put(Path(path).read_bytes())
            self._files[tc.name] = tuple(files)

    def _connect(self) -> None:
        ray, address = self._ray, self._config.address
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
        if address is None:
            ray.init(address="local", include_dashboard=False, **quiet)
            self._started_here = True
            return
        _probe(address)
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            text = str(exc).strip()
            if "ray[client]" in text:
                raise MissingExtraError(
                    f"a ray:// address needs Ray Client: {install_hint('ray')}"
                ) from None
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ExecutorError(
                f"cannot join the Ray cluster at {address} ({first}): check that it runs "
                "(`ray status`) and executor.address / --address; a cluster with token "
                "authentication also needs RAY_AUTH_MODE=token and its token here"
            ) from None

    # -- running ---------------------------------------------------------------------------
    def map(self, units: Iterable[Unit], events: UnitEvents) -> Iterator[tuple[Unit, Result]]:
        """Keep up to ``max_in_flight`` units on the cluster; yield each result as it lands."""
        ray = self._ray
        slots = self._slots(self._config.resources)
        window = self._config.max_in_flight or 2 * slots
        source = iter(units)
        exhausted = False
        while True:
            while not exhausted and len(self._in_flight) < window:
                unit = next(source, None)
                if unit is None:
                    exhausted = True
                    break
                self._in_flight[self._submit(unit)] = unit
                events.started(unit)
            if not self._in_flight:
                return
            events.cluster(min(len(self._in_flight), slots), max(0, len(self._in_flight) - slots))
            ready, _ = ray.wait(list(self._in_flight), num_returns=1, timeout=_POLL_S)
            for ref in ready:
                unit = self._in_flight.pop(ref)
                yield unit, self._collect(unit, ref)

    def _submit(self, unit: Unit) -> Any:
        work = self._work
        assert work is not None, "RayExecutor.map called before open"
        self._check_feasible(unit)
        res = unit.resources
        options: dict[str, Any] = {
            "num_cpus": res.cpus,
            "num_gpus": res.gpus,
            "max_retries": self._config.max_retries,
            "retry_exceptions": False,
        }
        if res.memory_gb:
            options["memory"] = int(res.memory_gb * _GIB)
        return self._remote.options(**options).remote(self._task(unit, work), self._shipped)

    def _task(self, unit: Unit, work: RunWork) -> UnitTask:
        from aisec import __version__
        from aisec.registry import get_test

        tc = next(t for t in work.config.targets if t.name == unit.target)
        module = get_test(unit.test_id).__module__
        return UnitTask(
            unit=unit,
            target=tc.model_dump(mode="json"),
            data_seed=work.config.seed,
            content=work.content[unit.target].to_dict(),
            files=self._files[unit.target],
            aisec_version=__version__,
            test_module=None if module.startswith("aisec.") else module,
            journal=str(work.journal) if work.journal else None,
            ship_always=self._ship_always,
        )

    def _collect(self, unit: Unit, ref: Any) -> Result:
        ray = self._ray
        try:
            js, blob = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, AisecError):
                raise ExecutorError(str(cause)) from None
            text = f"{type(cause).__name__}: {cause}" if cause else str(exc).splitlines()[0]
            return Result.error(
                unit.test_id,
                unit.target,
                f"the unit failed on its worker: {text}",
                params=unit.params,
                seed=unit.seed,
                unit=unit.key,
            )
        except ray.exceptions.TaskCancelledError:
            raise
        except ray.exceptions.RayError as exc:  # the worker or its node died on every attempt
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return worker_died(unit, 1 + self._config.max_retries, f"{type(exc).__name__}: {first}")
        return decode_result(js, blob)

    def _slots(self, res: UnitResources) -> int:
        """Units of ``res`` the cluster runs side by side."""
        return max(1, sum(int(n.get("CPU", 0) // res.cpus) for n in self._nodes))

    def _check_feasible(self, unit: Unit) -> None:
        res = unit.resources
        need = {"CPU": res.cpus, "GPU": res.gpus, "memory": (res.memory_gb or 0) * _GIB}
        if any(all(n.get(k, 0) >= v for k, v in need.items() if v) for n in self._nodes):
            return
        asks = f"{res.cpus:g} CPU, {res.gpus:g} GPU" + (
            f", {res.memory_gb:g} GiB" if res.memory_gb else ""
        )
        raise ExecutorError(
            f"{unit.test_id} on {unit.target} asks for {asks}, more than any node of the Ray "
            "cluster has: lower the test's resources or add a node that has them"
        )

    # -- tear-down -------------------------------------------------------------------------
    def close(self) -> None:
        """Cancel units still on the cluster; stop the local instance if this run started it."""
        ray = self._ray
        for ref in list(self._in_flight):
            with contextlib.suppress(Exception):  # a task that just finished cannot be cancelled
                ray.cancel(ref, force=True)
        self._in_flight.clear()
        self._shipped.clear()
        self._warming.clear()
        if self._started_here and ray.is_initialized():
            ray.shutdown()
            self._started_here = False
