"""Parameters: declared once (default and constraint), inherited, checked at construction and
against the target."""

from __future__ import annotations

import pytest

from aisec.attacks.evasion import FAB, PGD, CarliniWagnerL2, Ensemble
from aisec.attacks.evasion.base import EvasionAttack, MinimumNormAttack
from aisec.errors import ParameterError
from aisec.params import Interval, ListOf
from aisec.records.evasion import MAX_CURVE_POINTS
from aisec.registry import available_tests


def test_a_misspelt_parameter_fails_at_construction_with_a_suggestion() -> None:
    with pytest.raises(ParameterError, match=r"unknown parameter `epss`; did you mean `eps`\?"):
        PGD(epss=0.1)
    with pytest.raises(
        ParameterError, match="`steps` must be an integer in \\[1, 100000\\]; got 0"
    ):
        PGD(steps=0)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ParameterError) as err:
        PGD(steps=0, restarts=-1, epss=1)
    assert len(err.value.problems) == 3


def test_eps_beyond_the_input_range_names_the_fix(digits_cnn, digits_small) -> None:
    with pytest.raises(ParameterError, match=r"got 8\. Did you mean 8/255 \(0\.03137\)\?"):
        PGD(eps=8).run(digits_cnn, digits_small)
    with pytest.raises(ParameterError, match="`curve` must be at most 1"):
        PGD(eps=0.1, curve=[0.05, 3.0]).run(digits_cnn, digits_small)
    # an L2 budget may exceed 1: the largest is the range times sqrt(64)
    with pytest.raises(ParameterError, match="`eps` must be at most 8 for l2"):
        PGD(eps=9.0, norm="l2").run(digits_cnn, digits_small)
    assert PGD(eps=7.9, norm="l2", steps=2).run(digits_cnn, digits_small).ok


def test_parameters_are_inherited_and_overridden_once() -> None:
    assert set(EvasionAttack.declared) <= set(PGD.declared)
    assert PGD.defaults["eps"] == 0.1 and PGD.defaults["steps"] == 40
    assert FAB.defaults["eps"] is None  # minimum-norm attacks search without a budget
    assert CarliniWagnerL2.defaults["norm"] == "l2"
    assert issubclass(FAB, MinimumNormAttack) and not issubclass(PGD, MinimumNormAttack)
    assert Ensemble.declared["preset"].default == "standard"


@pytest.mark.parametrize("test_id", sorted(available_tests()))
def test_every_parameter_is_documented(test_id: str) -> None:
    cls = available_tests()[test_id]
    undocumented = [n for n, p in cls.declared.items() if not p.doc]
    assert not undocumented, f"{test_id}: {undocumented}"


def test_a_list_may_cap_its_length() -> None:
    capped = ListOf(Interval(float, 0), max_len=3, hint="thin the list")
    assert capped.check("curve", [0.1, 0.1, 0.2]) is None
    assert (
        capped.check("curve", [0.1] * 4)
        == "`curve` has 4 values; at most 3 are allowed: thin the list"
    )
    assert ListOf(Interval(float, 0)).check("curve", [0.1] * 1000) is None


def test_the_curve_holds_at_most_the_documented_number_of_budgets() -> None:
    assert MAX_CURVE_POINTS == 64
    PGD(curve=[i / 1000 for i in range(MAX_CURVE_POINTS)])
    with pytest.raises(ParameterError, match="`curve` has 65 values; at most 64 are allowed"):
        PGD(curve=[i / 1000 for i in range(MAX_CURVE_POINTS + 1)])


def test_integer_ranges_are_written_in_full() -> None:
    assert "[1, 10000000]" in str(Interval(int, 1, 10_000_000).check("queries", 0))
