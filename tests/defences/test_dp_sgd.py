"""DP-SGD through Opacus on a real model: the guarantee, the accuracy cost, the leakage removed."""

from __future__ import annotations

import pytest

from aisec.defences.dp_evaluation import DpTraining
from aisec.defences.dp_sgd import DpSettings, dp_train
from aisec.errors import TargetError
from aisec.records import Status
from aisec.records.privacy import DpTrainingOutcome
from aisec.targets.recipes import TrainingRecipe
from privacy_models import OVERFIT, digits_splits, trained

pytest.importorskip("opacus")


def test_dp_training_meets_its_epsilon_and_is_reproducible() -> None:
    train = digits_splits()["train"]
    settings = DpSettings(epsilon=2.0, epochs=5, lr=1e-2)
    a = dp_train(OVERFIT.recipe(), train.x, train.y, 0, settings)
    b = dp_train(OVERFIT.recipe(), train.x, train.y, 0, settings)
    assert 1.5 < a.epsilon <= 2.0 + 1e-6 and a.noise_multiplier > 0.5
    x = digits_splits()["test"].x
    assert (a.target.predict(x) == b.target.predict(x)).all()


def test_a_dp_trained_model_leaks_less_at_a_measured_accuracy_cost() -> None:
    result = DpTraining(epsilon=4.0, epochs=10, references=2).run(
        trained(OVERFIT), digits_splits(), seed=0
    )
    assert result.status is Status.OK, result.message
    o = result.outcome
    assert isinstance(o, DpTrainingOutcome)
    assert o.epsilon <= 4.0 + 1e-6
    assert o.accuracy_after < o.accuracy_before and o.accuracy_after > 0.6
    assert o.auc_after < o.auc_before - 0.03
    assert o.tpr_after < o.tpr_before
    assert result.findings[0].rule == "DPS-001"


def test_a_recipe_without_its_module_is_refused() -> None:
    bare = TrainingRecipe("opaque", lambda x, y, seed: None)
    with pytest.raises(TargetError, match="module"):
        dp_train(bare, digits_splits()["train"].x, digits_splits()["train"].y, 0, DpSettings())


def test_a_user_model_with_factory_and_recipe_trains_with_dp_in_an_assessment(tmp_path) -> None:
    import numpy as np
    from safetensors.torch import save_file

    from aisec.assessment import ResultStore, parse_config, run_assessment
    from poisoning_models import train_mlp

    split = digits_splits()
    np.savez(tmp_path / "train.npz", x=split["train"].x, y=split["train"].y)
    np.savez(tmp_path / "test.npz", x=split["test"].x, y=split["test"].y)
    model = train_mlp(split["train"].x, split["train"].y, 0)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "m.safetensors"
    )
    config = parse_config(
        {
            "name": "dp",
            "targets": [
                {
                    "name": "mine",
                    "factory": "poisoning_models:make_mlp",
                    "weights": str(tmp_path / "m.safetensors"),
                    "input_shape": [1, 8, 8],
                    "n_classes": 10,
                    "data": str(tmp_path / "test.npz"),
                    "train_data": str(tmp_path / "train.npz"),
                    "recipe": "poisoning_models:train_mlp",
                }
            ],
            "tests": [
                {"id": "defence.dp-sgd", "params": {"attack": "loss", "epochs": 3, "epsilon": 2.0}}
            ],
        }
    )
    store = ResultStore(tmp_path / "r.db")
    run = run_assessment(config, store, progress=False)
    ((_, result),) = list(store.results(run.run_id))
    assert result.status is Status.OK, result.message
    assert isinstance(result.outcome, DpTrainingOutcome)
    assert result.outcome.epsilon <= 2.0 + 1e-6
