"""Model extraction on a real model: the budget is kept, fidelity rises, PRADA watches."""

from __future__ import annotations

import pytest

from aisec.attacks.extraction import Knockoff
from aisec.data.splits import TEST, Splits
from aisec.errors import ParameterError
from aisec.records import Status
from aisec.records.privacy import ExtractionOutcome
from privacy_models import OVERFIT, digits_splits, trained


def run(**params) -> ExtractionOutcome:
    result = Knockoff(epochs=30, **params).run(trained(OVERFIT), digits_splits(), seed=0)
    assert result.status is Status.OK, result.message
    assert isinstance(result.outcome, ExtractionOutcome)
    return result.outcome


@pytest.fixture(scope="module")
def adaptive() -> ExtractionOutcome:
    return run(strategy="adaptive", budget=400)


def test_fidelity_rises_with_the_budget_and_the_budget_holds(adaptive) -> None:
    natural = run(strategy="data", budget=400, curve=[0.05, 0.25, 1.0], transfer_eps=None)
    for o in (natural, adaptive):
        assert o.queries == o.budget == 400
        assert [p.queries for p in o.curve][-1] == 400
    first, last = natural.curve[0], natural.curve[-1]
    assert first.queries == 20 and last.fidelity > first.fidelity + 0.2
    assert last.fidelity > 0.85 and natural.transfer_rate is None


def test_natural_queries_beat_uniform_noise() -> None:
    noise = run(strategy="random", budget=200, curve=[1.0], transfer_eps=None, monitor=False)
    natural = run(strategy="data", budget=200, curve=[1.0], transfer_eps=None, monitor=False)
    assert natural.fidelity > noise.fidelity + 0.1


def test_prada_flags_the_jacobian_stream_and_not_benign_traffic(adaptive) -> None:
    assert adaptive.monitor is not None
    assert adaptive.monitor.flagged and adaptive.monitor.queries_to_flag is not None
    assert adaptive.monitor.queries_to_flag <= 400
    assert adaptive.monitor.false_alarm_rate == 0.0
    assert adaptive.transfer_rate is not None and 0.0 <= adaptive.transfer_rate <= 1.0


def test_label_only_answers_are_learnt_as_hard_labels() -> None:
    target = trained(OVERFIT).with_output_mode("label_only")
    result = Knockoff(budget=200, curve=[1.0], epochs=30, transfer_eps=None, monitor=False).run(
        target, Splits({TEST: digits_splits()[TEST]}), seed=0
    )
    o = result.outcome
    assert isinstance(o, ExtractionOutcome)
    assert o.output_mode == "label_only" and o.n_eval == 200  # half of test is the pool
    assert o.fidelity > 0.7


def test_a_zero_budget_is_refused() -> None:
    with pytest.raises(ParameterError, match="budget"):
        Knockoff(budget=0)
