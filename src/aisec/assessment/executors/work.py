"""One unit as it travels to a worker, and what the worker does with it.

A task carries configs and file references, never a loaded model: the worker rebuilds the
target and its data through the same safe loading paths as the driver, from files it can read
at the same path or from copies shipped by the driver (each checked by SHA-256), and then checks
that what it built has the driver's content digests. Built targets stay in the worker's memory
for the next units of the same target (so does a membership test's reference-model sweep, kept
by :mod:`aisec.attacks.inference.references`); built-in models come from the worker's own
cache. The result goes back in the store's own encoding (JSON and ``.npz``), so the driver
stores exactly what a local run stores.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import socket
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisec.assessment.config import TargetConfig
from aisec.assessment.content import ContentDigest, digest_chat_target, digest_target, file_digest
from aisec.assessment.plan import Unit
from aisec.assessment.resources import build_data, build_target, build_train_data, unit_data
from aisec.assessment.store import encode_result
from aisec.assessment.units import run_unit
from aisec.data import Dataset
from aisec.data.splits import Splits
from aisec.errors import AisecError, ConfigError, ExecutorError
from aisec.records import Result
from aisec.targets.base import Target

_PATH_FIELDS = ("torchscript", "weights", "data", "train_data", "system_prompt")
_BUILT: OrderedDict[str, tuple[Target, Dataset | Splits | None]] = OrderedDict()
_BUILT_SIZE = 4
"""Targets a worker keeps built (an LLM is large: a few, not all)."""


@dataclass(frozen=True)
class ShippedFile:
    """A file a target reads, as the driver saw it."""

    path: str
    """Absolute path on the driver."""
    sha256: str
    """Its SHA-256 on the driver; the worker uses a file only if it has this digest."""


@dataclass(frozen=True)
class UnitTask:
    """Everything a worker needs to compute one unit."""

    unit: Unit
    target: dict[str, Any]
    """The target's config entry (JSON form)."""
    data_seed: int
    """The seed the driver drew the evaluation subset with."""
    content: dict[str, Any]
    """The target's content digests on the driver (:class:`ContentDigest` JSON form)."""
    files: tuple[ShippedFile, ...]
    """Every file the target reads."""
    aisec_version: str
    """The driver's version: a worker with another one refuses the task."""
    test_module: str | None = None
    """The module that registers the unit's test when it is not part of aisec (a plugin)."""
    journal: str | None = None
    """The run's reply journal, used when the worker sees its folder (same host or shared)."""
    ship_always: bool = False
    """Use the shipped copies even where the driver's path is readable (tests, odd mounts)."""


def target_files(tc: TargetConfig) -> list[str]:
    """Every local file a target entry reads: model, data, prompt, documents, listed files."""
    paths = [getattr(tc, f) for f in _PATH_FIELDS]
    found = [p for p in paths if p and not p.startswith("builtin:")]
    if tc.docs:
        found += [str(p) for p in sorted(Path(tc.docs).glob("*")) if p.is_file()]
    return [*dict.fromkeys([*found, *tc.files])]


def run_task(task: UnitTask, fetch: Callable[[str], bytes | None]) -> tuple[str, bytes | None]:
    """Compute one unit on this worker; return its result as the store encodes it.

    ``fetch(sha256)`` returns the bytes of a shipped file (``None``: not shipped, because the
    driver saw a cluster of its own machine only). A problem of the worker's set-up (its
    aisec version, a file it cannot get, a model that differs from the driver's) raises
    :class:`ExecutorError`, which stops the run instead of storing a result that says nothing
    about the model; a problem of the unit itself is an error result, as in a local run.
    """
    from aisec import __version__

    unit = task.unit
    if task.aisec_version != __version__:
        raise ExecutorError(
            f"worker {socket.gethostname()} has aisec {__version__}, the driver "
            f"{task.aisec_version}: install the same version on every worker"
        )
    _ensure_test(unit.test_id, task.test_module)
    target, data = _inputs(task, fetch)
    from aisec.attacks.prompt.journal import journal_at

    seen = task.journal if task.journal and Path(task.journal).parent.is_dir() else None
    with journal_at(seen):  # the run's journal, where this worker sees the store's folder
        result = run_unit(unit, target, data)
    return encode_result(result.with_unit(unit.key))


def worker_died(unit: Unit, attempts: int, reason: str) -> Result:
    """The error result of a unit whose worker died on every attempt."""
    return Result.error(
        unit.test_id,
        unit.target,
        f"the worker running this unit died {attempts} time(s) ({reason}); give the unit more "
        "memory (resources.memory_gb) or check the worker's logs, then run again",
        params=unit.params,
        seed=unit.seed,
        unit=unit.key,
    )


def _ensure_test(test_id: str, module: str | None) -> None:
    from aisec.registry import get_test

    try:
        get_test(test_id)
        return
    except ConfigError:
        if module is None:
            raise ExecutorError(
                f"worker {socket.gethostname()} has no test {test_id!r}: install the same "
                "aisec extras and plugins on every worker"
            ) from None
    try:
        importlib.import_module(module)
        get_test(test_id)
    except (ImportError, ConfigError) as exc:
        raise ExecutorError(
            f"worker {socket.gethostname()} cannot import {module!r}, which registers test "
            f"{test_id!r} ({exc}): install it on every worker or add it to their PYTHONPATH"
        ) from None


def _inputs(
    task: UnitTask, fetch: Callable[[str], bytes | None]
) -> tuple[Target, Dataset | Splits | None]:
    """The unit's target and data, built once per worker and target."""
    key = hashlib.sha256(
        json.dumps([task.target, task.data_seed, task.content], sort_keys=True).encode()
    ).hexdigest()
    if key in _BUILT:
        _BUILT.move_to_end(key)
        return _BUILT[key]
    tc = TargetConfig.model_validate(task.target)
    tc = _localised(tc, task.files, fetch, always=task.ship_always)
    try:
        target = build_target(tc)
        if tc.chat:
            data: Dataset | Splits | None = None
            built = digest_chat_target(tc, target)
        else:
            test, train = build_data(tc, task.data_seed), build_train_data(tc)
            data = unit_data(test, train)
            built = digest_target(tc, target, test, train)
    except AisecError as exc:
        raise ExecutorError(
            f"worker {socket.gethostname()} cannot rebuild target {tc.name!r}: {exc}"
        ) from None
    _check_same(tc, ContentDigest.from_dict(task.content), built)
    _BUILT[key] = (target, data)
    while len(_BUILT) > _BUILT_SIZE:
        _BUILT.popitem(last=False)
    return target, data


def _check_same(tc: TargetConfig, driver: ContentDigest, worker: ContentDigest) -> None:
    """The worker built the model and data the driver digested (files are checked on arrival)."""
    what = []
    if driver.model != worker.model:
        what.append("model")
    if driver.data != worker.data:
        what.append("data set")
    if not what:
        return
    hint = (
        "copy the driver's model cache ($AISEC_CACHE_DIR) to the workers or share it"
        if tc.builtin
        else "install the same aisec version and libraries on every worker"
    )
    raise ExecutorError(
        f"worker {socket.gethostname()} built a different {' and '.join(what)} for target "
        f"{tc.name!r} than the driver (SHA-256 differs): {hint}"
    )


def _localised(
    tc: TargetConfig,
    files: tuple[ShippedFile, ...],
    fetch: Callable[[str], bytes | None],
    *,
    always: bool,
) -> TargetConfig:
    """``tc`` with every file it reads at a path on this worker that holds the driver's bytes."""
    moved: dict[str, str] = {}
    for f in files:
        if not always and file_digest(Path(f.path)) == f.sha256:
            continue
        moved[f.path] = str(_materialise(f, fetch))
    if not moved:
        return tc
    update: dict[str, Any] = {
        name: moved.get(getattr(tc, name), getattr(tc, name)) for name in _PATH_FIELDS
    }
    update["files"] = [moved.get(p, p) for p in tc.files]
    if tc.docs:
        update["docs"] = str(_docs_folder(tc.docs, files, moved))
    return tc.model_copy(update=update)


def _materialise(f: ShippedFile, fetch: Callable[[str], bytes | None]) -> Path:
    """The shipped copy of ``f`` in the worker's cache, written once and verified."""
    from aisec.targets.builtin.cache import cache_dir

    dest = cache_dir() / "shipped" / f.sha256 / Path(f.path).name
    if file_digest(dest) == f.sha256:
        return dest
    blob = fetch(f.sha256)
    if blob is None:
        raise ExecutorError(
            f"worker {socket.gethostname()} cannot read {f.path} as the driver does (SHA-256 "
            f"{f.sha256[:12]}...), and no copy was shipped: give the workers the driver's access"
        )
    if hashlib.sha256(blob).hexdigest() != f.sha256:
        raise ExecutorError(
            f"the copy of {f.path} that reached worker {socket.gethostname()} is corrupt "
            "(SHA-256 differs); run again"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    part.write_bytes(blob)
    part.replace(dest)  # atomic: two workers writing the same file leave one whole copy
    return dest


def _docs_folder(docs: str, files: tuple[ShippedFile, ...], moved: Mapping[str, str]) -> Path:
    """A folder holding the documents of ``docs`` as the driver has them."""
    inside = [f for f in files if Path(f.path).parent == Path(docs)]
    if not any(f.path in moved for f in inside):
        return Path(docs)
    from aisec.targets.builtin.cache import cache_dir

    tag = hashlib.sha256("".join(f"{Path(f.path).name}{f.sha256}" for f in inside).encode())
    folder = cache_dir() / "shipped" / f"docs-{tag.hexdigest()[:20]}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in inside:
        shutil.copyfile(moved.get(f.path, f.path), folder / Path(f.path).name)
    return folder
