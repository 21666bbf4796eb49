"""What a worker does with a unit task, run in this process: files taken in place or from
shipped copies checked by SHA-256, and set-up problems refused in one line."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from aisec import __version__
from aisec.assessment import parse_config
from aisec.assessment.config import TargetConfig
from aisec.assessment.content import digest_target, file_digest
from aisec.assessment.executors.work import (
    ShippedFile,
    UnitTask,
    _localised,
    run_task,
    target_files,
)
from aisec.assessment.plan import expand
from aisec.assessment.resources import build_data, build_target, build_train_data
from aisec.assessment.store import decode_result
from aisec.errors import ExecutorError


def _chat_target(tmp_path: Path) -> TargetConfig:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "faq.md").write_text("Refunds take 5 days.")
    (docs / "policy.md").write_text("Never share the canary.")
    prompt = tmp_path / "prompt.txt"
    prompt.write_text(f"You are a support bot ({tmp_path}).")  # unique: caches are shared
    return TargetConfig(
        name="bot", chat="builtin:support-bot", system_prompt=str(prompt), docs=str(docs)
    )


def _shipped(tc: TargetConfig) -> tuple[tuple[ShippedFile, ...], dict[str, bytes]]:
    paths = target_files(tc)
    files = tuple(ShippedFile(p, file_digest(Path(p))) for p in paths)
    return files, {f.sha256: Path(f.path).read_bytes() for f in files}


def test_unreadable_files_are_taken_from_the_shipped_copies(tmp_path: Path) -> None:
    tc = _chat_target(tmp_path)
    files, blobs = _shipped(tc)
    assert len(files) == 3  # the prompt and both documents
    moved = _localised(tc, files, blobs.get, always=True)
    assert moved.system_prompt != tc.system_prompt
    assert Path(moved.system_prompt).read_text() == Path(tc.system_prompt).read_text()
    assert sorted(p.name for p in Path(moved.docs).iterdir()) == ["faq.md", "policy.md"]
    assert (Path(moved.docs) / "faq.md").read_text() == "Refunds take 5 days."
    # Readable files with the driver's bytes are used in place.
    assert _localised(tc, files, blobs.get, always=False) == tc


def test_a_changed_or_missing_copy_is_refused(tmp_path: Path) -> None:
    tc = _chat_target(tmp_path)
    files, blobs = _shipped(tc)
    original = Path(tc.system_prompt).read_text()
    Path(tc.system_prompt).write_text("You are someone else.")  # the worker's copy differs
    prompt = next(f for f in files if f.path == tc.system_prompt)
    with pytest.raises(ExecutorError, match="no copy was shipped"):
        _localised(tc, files, lambda sha: None, always=False)
    corrupt = {**blobs, prompt.sha256: b"tampered on the way"}
    with pytest.raises(ExecutorError, match="is corrupt"):
        _localised(tc, (prompt,), corrupt.get, always=False)
    fixed = _localised(tc, files, blobs.get, always=False)
    assert Path(fixed.system_prompt).read_text() == original
    assert hashlib.sha256(Path(fixed.system_prompt).read_bytes()).hexdigest() == prompt.sha256


CONFIG = """
name: tasks
sanity_checks: false
targets:
  - name: cnn
    builtin: digits-cnn
    limit: 20
tests:
  - id: evasion.fgsm
    params: {eps: 0.05}
"""


def _task(**changes: object) -> UnitTask:
    config = parse_config(yaml.safe_load(CONFIG))
    tc = config.targets[0]
    target, data, train = build_target(tc), build_data(tc, config.seed), build_train_data(tc)
    content = digest_target(tc, target, data, train)
    [unit] = expand(config, {"cnn": content.combined})
    task = UnitTask(
        unit, tc.model_dump(mode="json"), config.seed, content.to_dict(), (), __version__
    )
    return replace(task, **changes)


def test_a_task_runs_to_the_stored_encoding() -> None:
    js, blob = run_task(_task(), lambda sha: None)
    result = decode_result(js, blob)
    assert result.status.value == "ok" and result.outcome.robust_accuracy < 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aisec_version": "0.0.1"}, "has aisec"),
        ({"test_module": "not_a_module_anywhere"}, None),
        ({"data_seed": 7}, "built a different data set for target 'cnn' than the driver"),
    ],
)
def test_set_up_problems_stop_the_run(changes: dict[str, object], message: str | None) -> None:
    task = _task(**changes)
    if "test_module" in changes:  # a plugin test the worker cannot import
        task = replace(task, unit=replace(task.unit, test_id="plugin.absent"))
        message = "cannot import 'not_a_module_anywhere'"
    with pytest.raises(ExecutorError) as info:
        run_task(task, lambda sha: None)
    assert message in str(info.value) and "\n" not in str(info.value)
