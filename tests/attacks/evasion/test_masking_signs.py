"""Gradient attacks watch their own gradients and say when their robust accuracy is unreliable.

Three deliberately masked versions of the real digits CNN: logits multiplied by 1000 (the
softmax saturates, cross-entropy gradients are exactly zero), inputs rounded to the data's
1/16 grid (zero input gradients), and a square root in front (infinite gradients at the many
zero pixels). Plain cross-entropy attacks report high robust accuracy on each; they must say
so themselves (EVA-002), and PGD's automatic margin loss must see through the saturation.
"""

from __future__ import annotations

import json

import pytest
from masked_models import Quantised, Saturated, SquareRoot, wrap

from aisec.records import Severity
from aisec.records.evasion import EvasionOutcome
from aisec.records.outcome import encode
from aisec.registry import get_test

EPS = 0.15


def _eva002(test, result):
    return [f for f in test.findings(result) if f.rule == "EVA-002"]


@pytest.mark.parametrize("test_id", ["evasion.pgd", "evasion.apgd-ce", "evasion.fgsm"])
def test_no_sign_on_the_real_cnn(digits_cnn, digits_small, test_id) -> None:
    test = get_test(test_id)(eps=EPS)
    result = test.run(digits_cnn, digits_small, seed=0)
    signs = result.outcome.gradient_signs
    assert signs is not None and signs.unbroken > 0
    assert signs.flagged == 0
    assert _eva002(test, result) == []


@pytest.mark.parametrize(
    ("module", "sign", "advice"),
    [
        (Saturated, "saturated softmax", "evasion.apgd-dlr"),
        (Quantised, "zero gradients", "evasion.square"),
        (SquareRoot, "non-finite values", "evasion.square"),
    ],
)
@pytest.mark.parametrize("test_id", ["evasion.pgd", "evasion.apgd-ce"])
def test_masked_models_make_the_attack_flag_its_own_result(
    digits_cnn, digits_small, module, sign, advice, test_id
) -> None:
    params = {"loss": "ce"} if test_id == "evasion.pgd" else {}
    test = get_test(test_id)(eps=EPS, **params)
    result = test.run(wrap(digits_cnn, module), digits_small, seed=0)
    signs = result.outcome.gradient_signs
    assert signs.main_sign == sign
    assert signs.flagged_fraction >= 0.5
    (finding,) = _eva002(test, result)
    assert finding.severity is Severity.HIGH
    assert sign in finding.title
    assert advice in finding.recommendation
    assert finding.threats == ("evasion-digital",)


def test_pgd_switches_to_the_margin_loss_where_the_softmax_saturates(
    digits_cnn, digits_small
) -> None:
    plain = get_test("evasion.pgd")(eps=EPS).run(digits_cnn, digits_small, seed=0).outcome
    dlr = get_test("evasion.pgd")(eps=EPS, loss="dlr").run(digits_cnn, digits_small, seed=0)
    masked = wrap(digits_cnn, Saturated)
    ce = get_test("evasion.pgd")(eps=EPS, loss="ce").run(masked, digits_small, seed=0).outcome
    test = get_test("evasion.pgd")(eps=EPS)
    result = test.run(masked, digits_small, seed=0)
    auto = result.outcome
    assert ce.robust_accuracy > plain.robust_accuracy + 0.3
    # DLR does not change when the logits are scaled: the same attack as on the plain model
    assert auto.robust_accuracy == pytest.approx(dlr.outcome.robust_accuracy, abs=0.02)
    assert auto.gradient_signs.switched_to_margin > 0 or auto.gradient_signs.unbroken == 0
    assert auto.gradient_signs.flagged == 0
    assert _eva002(test, result) == []


def test_the_signs_survive_the_store_round_trip(digits_cnn, digits_small) -> None:
    result = get_test("evasion.apgd-ce")(eps=EPS).run(
        wrap(digits_cnn, Quantised), digits_small, seed=0
    )
    stored = json.loads(json.dumps(encode(result.outcome)))
    assert EvasionOutcome.from_dict(stored) == result.outcome
    assert stored["gradient_signs"]["zero_gradient"] > 0


@pytest.mark.parametrize(
    ("test_id", "params"),
    [("evasion.deepfool", {}), ("evasion.fab", {"norm": "l2", "steps": 30})],
)
def test_minimum_norm_attacks_check_the_clean_gradients(
    digits_cnn, digits_small, test_id, params
) -> None:
    data = digits_small.subset(40, seed=0)
    sound = get_test(test_id)(**params)
    clean = sound.run(digits_cnn, data, seed=0)
    assert clean.outcome.gradient_signs.flagged == 0 and _eva002(sound, clean) == []
    # logit differences do not saturate: scaled logits are no sign for these attacks
    scaled = sound.run(wrap(digits_cnn, Saturated), data, seed=0)
    assert scaled.outcome.gradient_signs.saturated == 0
    masked = get_test(test_id)(**params)
    result = masked.run(wrap(digits_cnn, Quantised), data, seed=0)
    signs = result.outcome.gradient_signs
    assert signs.unbounded and signs.not_found == signs.attacked > 0
    assert signs.main_sign == "zero gradients"
    (finding,) = _eva002(masked, result)
    assert finding.severity is Severity.HIGH and "attacked points" in finding.title


def test_attacks_that_follow_infinite_gradients_fail_cleanly(digits_cnn, digits_small) -> None:
    data = digits_small.subset(40, seed=0)
    test = get_test("evasion.deepfool")()
    result = test.run(wrap(digits_cnn, SquareRoot), data, seed=0)
    assert result.ok, result.message
    assert result.outcome.gradient_signs.non_finite > 0
    assert any(f.rule == "EVA-002" for f in test.findings(result))
