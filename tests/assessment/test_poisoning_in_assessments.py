"""Poisoning in an assessment: training splits reach the units, a user recipe from the config
retrains, results are stored, and the report shows the family's figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.config import load_config
from aisec.assessment.reporting import load_report_data
from aisec.data import load_builtin
from aisec.report.writer import write_reports


def test_label_flip_and_data_check_on_a_builtin(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "poison",
            "targets": [{"name": "lr", "builtin": "digits-logreg", "limit": 200}],
            "tests": [
                {
                    "id": "poisoning.label-flip",
                    "params": {
                        "mode": "pair",
                        "source_class": 3,
                        "target_class": 8,
                        "rates": [0.05, 0.1],
                    },
                },
                {"id": "supplychain.data-check"},
            ],
        }
    )
    store = ResultStore(tmp_path / "r.db")
    run = run_assessment(config, store, progress=False)
    results = [r for _, r in store.results(run.run_id)]
    kinds = {r.test_id: r.outcome.kind for r in results if r.outcome is not None}
    assert kinds == {
        "poisoning.label-flip": "poisoning",
        "supplychain.data-check": "data-integrity",
    }
    flip = next(r for r in results if r.test_id == "poisoning.label-flip").outcome
    assert flip.n_train == len(load_builtin("digits:train"))  # the train split reached the unit
    assert flip.n_test == 200
    assert flip.attack_success_rate > flip.baseline_attack_success
    paths = write_reports(load_report_data(store, run.run_id), tmp_path / "out", ["html", "md"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Attack success and clean accuracy against the poisoning rate" in html
    assert "data:image/png" in html
    assert paths


def test_user_model_with_recipe_and_train_data(tmp_path: Path) -> None:
    import torch

    from poisoning_models import train_mlp

    train = load_builtin("digits:train")
    test = load_builtin("digits:test")
    model = train_mlp(train.x, train.y, 0)
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 8, 8)), str(tmp_path / "m.pt"))
    np.savez(tmp_path / "train.npz", x=train.x, y=train.y)
    np.savez(tmp_path / "test.npz", x=test.x, y=test.y)
    (tmp_path / "a.yaml").write_text(
        yaml.safe_dump(
            {
                "targets": [
                    {
                        "name": "mlp",
                        "torchscript": "m.pt",
                        "input_shape": [1, 8, 8],
                        "data": "test.npz",
                        "train_data": "train.npz",
                        "recipe": "poisoning_models:train_mlp",
                    }
                ],
                "tests": [{"id": "poisoning.backdoor", "params": {"rates": [0.05]}}],
            }
        )
    )
    config = load_config(tmp_path / "a.yaml")
    store = ResultStore(tmp_path / "r.db")
    run = run_assessment(config, store, progress=False)
    ((_, result),) = store.results(run.run_id)
    assert result.ok, result.message
    assert result.outcome.attack_success_rate > 0.8
