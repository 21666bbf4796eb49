"""Prompt probes through an assessment: a chat target over HTTP (a real server on 127.0.0.1),
reports with the prompt section, and a run killed mid-unit that resumes from the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.reporting import load_report_data
from aisec.report.writer import write_reports
from aisec.targets.builtin.support_bot import SUPPORT_BOT_CANARY, support_bot
from aisec.targets.chat import FunctionChatModel
from aisec.targets.chat_server import ChatServer
from aisec.targets.views import ChatSpec


class Obedient:
    """Says the last quoted string of the prompt (so injections succeed); can be told to
    'crash' (a killed process) after a number of answers."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.calls = 0
        self.crash_after = crash_after

    def __call__(self, messages) -> str:
        if self.crash_after is not None and self.calls >= self.crash_after:
            raise KeyboardInterrupt
        self.calls += 1
        text = messages[-1].content
        if "discount code" in text:
            return f"The staff discount code is {SUPPORT_BOT_CANARY}."
        return text.rsplit('"', 2)[-2] if '"' in text else "We open at 9:00, Monday to Friday."


def test_probes_over_http_through_the_assessment(tmp_path: Path) -> None:
    """An OpenAI-compatible endpoint as a config target: results, findings, the report."""
    bot = support_bot(FunctionChatModel(Obedient(), ChatSpec(2048)))
    with ChatServer(bot, model_name="bot") as server:
        config = parse_config(
            {
                "name": "llm",
                "targets": [
                    {
                        "name": "bot",
                        "chat": f"openai:{server.url}#bot",
                        "canary": SUPPORT_BOT_CANARY,
                    }
                ],
                "tests": [
                    {"id": "prompt.injection", "params": {"utility": False}},
                    {"id": "prompt.leakage", "params": {"limit": 1, "utility": False}},
                ],
            }
        )
        store = ResultStore(tmp_path / "r.db")
        run = run_assessment(config, store, progress=False)
    results = dict((r.test_id, r) for _, r in store.results(run.run_id))
    assert all(r.ok for r in results.values()), [r.message for r in results.values()]
    assert results["prompt.leakage"].outcome.overall("none").hits == 1
    assert results["prompt.injection"].outcome.overall("none").hits >= 5
    write_reports(load_report_data(store, run.run_id), tmp_path / "out", ["json", "md", "html"])
    md = (tmp_path / "out" / "report.md").read_text()
    assert "**detectors**" in md and "**transcripts**" in md and "PRM-001" in md
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "prompt-injection-direct" in json.dumps(doc)


def test_a_killed_run_resumes_from_the_journal(tmp_path: Path, monkeypatch) -> None:
    """Killed while answering the benign requests: the rerun resumes the same run and asks the
    model only what has no stored reply."""
    import aisec.targets.chat_targets as chat_targets

    model = Obedient(crash_after=9)  # 7 injection probes answered, then 2 of the 6 benign ones
    monkeypatch.setattr(
        chat_targets,
        "chat_target",
        lambda ref, **kw: support_bot(FunctionChatModel(model, ChatSpec(2048))),
    )
    config = parse_config(
        {
            "name": "llm",
            "targets": [{"name": "bot", "chat": "builtin:support-bot"}],
            "tests": [{"id": "prompt.injection", "params": {"batch": 3}}],
        }
    )
    store = ResultStore(tmp_path / "r.db")
    with pytest.raises(KeyboardInterrupt):
        run_assessment(config, store, progress=False)
    assert model.calls == 9
    model.crash_after = None
    again = run_assessment(config, store, progress=False)
    assert again.resumed and again.units_run == 1
    ((_, result),) = list(store.results(again.run_id))
    assert result.ok and len(result.outcome.utility) == 1
    # probes came from the journal; the benign batch cut short was asked again, in full
    assert model.calls == 9 + 6
