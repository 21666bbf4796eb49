"""Attacks say where they are inside a long unit, and say nothing when nobody listens."""

from __future__ import annotations

import pytest

from aisec import progress
from aisec.registry import get_test


@pytest.fixture
def every_note(monkeypatch):
    monkeypatch.setattr(progress, "MIN_INTERVAL", 0.0)
    heard: list[str] = []
    return heard


def test_the_ensemble_names_its_stages_and_their_inner_steps(
    digits_cnn, digits_small, every_note
) -> None:
    data = digits_small.subset(24, seed=1)
    with progress.listening(every_note.append):
        get_test("evasion.ensemble")(eps=0.05, preset="fast").run(digits_cnn, data, seed=0)
    stages = [n for n in every_note if " › " not in n]
    assert stages == ["apgd-ce (1/3)", "apgd-t (2/3)", "square (3/3)"]
    assert any(n.startswith("apgd-t (2/3) › run ") and n.endswith("/3") for n in every_note)
    assert any(n.startswith("square (3/3) › query ") for n in every_note)


def test_curves_and_restarts_are_counted(digits_cnn, digits_small, every_note) -> None:
    with progress.listening(every_note.append):
        get_test("evasion.pgd")(eps=0.05, curve=[0.02, 0.1], restarts=2, steps=5).run(
            digits_cnn, digits_small, seed=0
        )
    assert {"budget 1/3", "budget 2/3", "budget 3/3"} <= set(every_note)
    assert "restart 2/2" in every_note


def test_notes_are_throttled(digits_cnn, digits_small) -> None:
    heard: list[str] = []
    with progress.listening(heard.append):
        get_test("evasion.square")(eps=0.05, queries=300).run(digits_cnn, digits_small, seed=0)
    assert len(heard) < 300


def test_stages_nest_and_do_not_leak_between_listeners(every_note) -> None:
    with progress.stage("nobody"):
        progress.note("hears this")
    with progress.listening(every_note.append):
        with progress.stage("outer"), progress.stage("inner"):
            progress.count("step", 2, 5)
        progress.note("after")
    assert every_note == ["outer", "outer › inner", "outer › inner › step 2/5", "after"]
