"""The transparency trade-off on one real model: what each output mode leaks and keeps."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.inference import OutputModes
from aisec.defences.output_hardening import HardenedOutputs, deploy_mode, parse_mode
from aisec.errors import ConfigError, ParameterError
from aisec.records.privacy import OutputModesOutcome
from aisec.targets.base import OutputMode
from privacy_models import OVERFIT, digits_splits, trained


@pytest.fixture(scope="module")
def modes() -> OutputModesOutcome:
    result = OutputModes(
        modes=["logits", "rounded-1", "label_only"], references=8, budget=200, n_augment=8
    ).run(trained(OVERFIT), digits_splits(), seed=0)
    assert isinstance(result.outcome, OutputModesOutcome)
    return result.outcome


def test_label_only_answers_leak_less_than_full_scores(modes) -> None:
    rows = {r.mode: r for r in modes.rows}
    assert rows["label_only"].auc < rows["logits"].auc - 0.03
    assert rows["label_only"].tpr_at_1pct_fpr < rows["logits"].tpr_at_1pct_fpr
    assert rows["rounded-1"].auc < rows["logits"].auc


def test_honest_users_keep_their_accuracy_and_extraction_is_measured(modes) -> None:
    rows = {r.mode: r for r in modes.rows}
    assert rows["logits"].honest_accuracy == rows["label_only"].honest_accuracy
    assert abs(rows["rounded-1"].honest_accuracy - rows["logits"].honest_accuracy) < 0.02
    assert all(r.fidelity is not None and r.fidelity > 0.5 for r in modes.rows)


def test_rounding_and_top_k_reveal_what_they_say() -> None:
    target = trained(OVERFIT)
    x = digits_splits()["test"].x[:20]
    full = target.with_output_mode("probabilities").predict(x)
    rounded = deploy_mode(target, "rounded-2").predict(x)
    assert np.allclose(rounded, np.round(full, 2))
    top2 = HardenedOutputs(target, top_k=2).predict(x)
    assert ((top2 > 0).sum(axis=1) <= 2).all()
    assert (top2.argmax(axis=1) == full.argmax(axis=1)).all()
    assert parse_mode("rounded-3") == (OutputMode.PROBABILITIES, 3)
    with pytest.raises(ConfigError, match="rounded-K"):
        parse_mode("rounded")


def test_unknown_modes_are_reported_together() -> None:
    with pytest.raises(ParameterError) as err:
        OutputModes(modes=["logits", "everything", "rounded-x"]).run(
            trained(OVERFIT), digits_splits()
        )
    assert "everything" in str(err.value) and "rounded-x" in str(err.value)
