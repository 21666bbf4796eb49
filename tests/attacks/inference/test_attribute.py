"""Attribute inference against a model-free baseline, on models that do and do not leak."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.inference import AttributeInference
from aisec.data.builtin import load_builtin
from aisec.data.dataset import Dataset
from aisec.data.splits import Splits
from aisec.errors import ParameterError
from aisec.records import Severity, Status
from aisec.records.privacy import AttributeOutcome
from aisec.targets.base import InputSpec
from aisec.targets.sklearn import SklearnClassifier

SPEC = InputSpec((4,), 2)


def _records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # the sensitive feature (column 0) is independent of the others; the label depends on it
    # weakly, so the label alone says little about it and the model's score says a lot
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 4))
    logit = 6 * (x[:, 0] - 0.5) + 2 * (x[:, 1] - 0.5) + rng.normal(0, 2.5, n)
    return x.astype(np.float32), (logit > 0).astype(np.int64)


def _model(uses_feature: bool) -> SklearnClassifier:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    x, y = _records(3000, 0)
    # without the feature the model drops column 0: its answers carry nothing of it
    keep = [0, 1, 2, 3] if uses_feature else [1, 2, 3]
    est = Pipeline(
        [
            ("columns", ColumnTransformer([("keep", "passthrough", keep)])),
            ("logreg", LogisticRegression(C=10.0)),
        ]
    ).fit(x, y)
    return SklearnClassifier(est, SPEC, name="logreg")


def _data() -> Splits:
    x, y = _records(1200, 1)
    return Splits(
        {"train": Dataset(x[:600], y[:600], "tr"), "test": Dataset(x[600:], y[600:], "te")}
    )


def test_answers_that_depend_on_the_feature_leak_it() -> None:
    result = AttributeInference(feature=0, bins=4).run(_model(True), _data())
    o = result.outcome
    assert isinstance(o, AttributeOutcome)
    assert o.baseline_accuracy < 0.45  # label and other features say little (chance 0.25)
    assert o.leakage > 0.1 and o.leakage_ci[0] > 0.05
    assert result.findings[0].rule == "ATT-001"
    assert result.findings[0].severity.rank >= Severity.MEDIUM.rank


@pytest.mark.parametrize("method", ["black-box", "inversion"])
def test_answers_independent_of_the_feature_add_nothing(method: str) -> None:
    o = AttributeInference(feature=0, bins=4, method=method).run(_model(False), _data()).outcome
    assert abs(o.leakage) < 0.02 and abs(o.leakage_non_members) < 0.02


def test_inversion_recovers_more_from_a_memorising_model_on_its_members() -> None:
    from sklearn.ensemble import RandomForestClassifier

    data = _data()
    train = data["train"]
    est = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=1).fit(train.x, train.y)
    model = SklearnClassifier(est, SPEC, name="forest")
    o = AttributeInference(feature=0, bins=4, method="inversion").run(model, data).outcome
    assert o.attack_accuracy > o.baseline_accuracy
    assert o.leakage > o.leakage_non_members


def test_the_builtin_tabular_target_is_measured_against_its_baseline() -> None:
    from aisec.targets.builtin import load_builtin_target

    target = load_builtin_target("cancer-mlp")
    data = Splits({"train": load_builtin("cancer:train"), "test": load_builtin("cancer:test")})
    result = AttributeInference().run(target, data)
    assert result.status is Status.OK
    o = result.outcome
    assert isinstance(o, AttributeOutcome)
    assert o.feature.startswith(("mean", "worst", "radius", "area")) or " " in o.feature
    # the other features already reveal the chosen feature; the model adds no significant gain
    assert o.baseline_accuracy > 0.6
    assert o.leakage_ci[0] < 0.05


def test_image_inputs_and_bad_indices_are_refused() -> None:
    data = _data()
    with pytest.raises(ParameterError, match="below 4"):
        AttributeInference(feature=9).run(_model(True), data)
