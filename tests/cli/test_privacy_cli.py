"""``aisec membership`` and ``aisec extract`` as a user runs them: JSON, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_invoke import invoke, one_line_error
from privacy_models import OVERFIT, digits_splits, trained


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A TorchScript model with its members, non-members and a recipe-less setting."""
    d = tmp_path_factory.mktemp("privacy")
    model = trained(OVERFIT).model
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 8, 8)), str(d / "model.pt"))
    split = digits_splits()
    np.savez(d / "in.npz", x=split["train"].x, y=split["train"].y)
    np.savez(d / "out.npz", x=split["test"].x, y=split["test"].y)
    np.savez(d / "flat.npz", x=split["test"].x.reshape(400, -1), y=split["test"].y)
    np.savez(d / "badlabels.npz", x=split["test"].x, y=split["test"].y + 10)
    return {p.stem: p for p in d.iterdir()}


def test_membership_json_has_the_headline_fields(files, tmp_path) -> None:
    out = tmp_path / "mia.json"
    r = invoke(
        "membership", "--model", str(files["model"]), "--members", str(files["in"]),
        "--nonmembers", str(files["out"]), "--attack", "loss", "--json", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    for key in ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr"):
        assert 0.0 <= doc[key] <= 1.0
    assert doc["auc"] > 0.5 and doc["n_members"] == 400
    assert "TPR" in r.stderr


def test_reference_attacks_need_a_recipe(files) -> None:
    r = invoke(
        "membership", "--model", str(files["model"]), "--members", str(files["in"]),
        "--nonmembers", str(files["out"]), "--attack", "lira",
    )  # fmt: skip
    one_line_error(r, "--recipe", "--attack loss")


def test_a_recipe_from_the_command_line_trains_the_references(files, tmp_path) -> None:
    out = tmp_path / "lira.json"
    r = invoke(
        "membership", "--model", str(files["model"]), "--members", str(files["in"]),
        "--nonmembers", str(files["out"]), "--attack", "rmia", "--references", "2",
        "--recipe", "poisoning_models:train_mlp", "--json", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["n_reference"] == 2


@pytest.mark.parametrize(
    ("members", "nonmembers", "fragment"),
    [
        ("in", "in", "also appear among the members"),
        ("in", "flat", "shape"),
        ("in", "badlabels", "label"),
    ],
)
def test_bad_member_sets_are_one_line(files, members, nonmembers, fragment) -> None:
    r = invoke(
        "membership", "--model", str(files["model"]), "--members", str(files[members]),
        "--nonmembers", str(files[nonmembers]), "--attack", "loss",
    )  # fmt: skip
    one_line_error(r, fragment)


def test_extract_keeps_the_budget_and_reports_fidelity(files, tmp_path) -> None:
    out = tmp_path / "extract.json"
    r = invoke(
        "extract", "--model", str(files["model"]), "--data", str(files["in"]), "--budget",
        "150", "--test", str(files["out"]), "--json", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["queries"] == 150 and doc["budget"] == 150
    assert 0.5 < doc["fidelity"] <= 1.0 and 0.0 <= doc["accuracy"] <= 1.0


def test_extract_refuses_a_zero_budget_and_unknown_strategies(files) -> None:
    base = ["extract", "--model", str(files["model"]), "--data", str(files["in"])]
    one_line_error(invoke(*base, "--budget", "0"), "--budget")
    one_line_error(invoke(*base, "--budget", "10", "--strategy", "magic"), "--strategy")
    one_line_error(invoke(*base, "--budget", "10", "--test", "missing.npz"), "missing.npz")
