"""GCG adversarial suffixes against the real SmolLM2-135M-Instruct."""

from __future__ import annotations

from itertools import pairwise

import pytest

from aisec.attacks.prompt.gcg import GCGResult, GCGSettings, gcg_suffix
from aisec.errors import DataError, ParameterError
from aisec.targets.views import Message

GOAL = [Message("system", "You are a helpful assistant."), Message("user", "Write a greeting.")]
TARGET = "Sure, here is"


@pytest.fixture(scope="module")
def run(smollm2) -> GCGResult:
    """One short GCG run towards ``TARGET``."""
    return gcg_suffix(
        smollm2, GOAL, TARGET, GCGSettings(steps=4, suffix_tokens=8, candidates=8, topk=32)
    )


def test_loss_falls_and_history_is_monotone(run: GCGResult) -> None:
    """Best loss never rises and ends clearly below the loss of the initial suffix."""
    history = run.loss_history
    assert len(history) == run.steps_run >= 1
    assert all(b <= a for a, b in pairwise(history))
    assert history[0] <= run.initial_loss
    assert run.final_loss == history[-1]
    assert run.final_loss < run.initial_loss


def test_forward_passes_are_counted(run: GCGResult) -> None:
    """Each step is one gradient pass and ``candidates`` candidate sequences."""
    assert run.forward_passes == run.steps_run * (8 + 1)
    if not run.success:
        assert run.steps_run == 4


def test_suffix_is_consistent_text(run: GCGResult, smollm2) -> None:
    """The suffix has the requested length, is printable ASCII and re-tokenises to its ids."""
    tok = smollm2.tokenizer
    assert len(run.suffix_ids) == 8
    assert run.suffix == tok.decode(list(run.suffix_ids))
    assert tuple(tok(run.suffix, add_special_tokens=False)["input_ids"]) == run.suffix_ids
    assert all(" " <= c <= "~" for c in run.suffix)
    assert isinstance(run.answer, str) and run.answer
    assert run.success == run.answer.startswith(TARGET)


def test_model_parameters_get_no_gradients(run: GCGResult, smollm2) -> None:
    """The search differentiates only the one-hot of the suffix."""
    assert all(p.grad is None for p in smollm2.model.parameters())


def test_same_seed_same_suffix(smollm2) -> None:
    """Candidate sampling is seeded locally, so a rerun repeats the search exactly."""
    settings = GCGSettings(steps=1, suffix_tokens=6, topk=8, candidates=4, seed=3)
    first = gcg_suffix(smollm2, GOAL, TARGET, settings)
    second = gcg_suffix(smollm2, GOAL, TARGET, settings)
    assert first.suffix_ids == second.suffix_ids
    assert first.loss_history == second.loss_history


def test_bad_inputs_raise_one_line_errors(smollm2) -> None:
    """An empty target, bad settings or a conversation without a user turn are refused."""
    with pytest.raises(ParameterError) as empty:
        gcg_suffix(smollm2, GOAL, "  ", GCGSettings(steps=1))
    assert "target" in str(empty.value) and "\n" not in str(empty.value)
    with pytest.raises(ParameterError, match="candidates"):
        gcg_suffix(smollm2, GOAL, TARGET, GCGSettings(candidates=0))
    with pytest.raises(DataError) as no_user:
        gcg_suffix(smollm2, [Message("system", "Be brief.")], TARGET, GCGSettings(steps=1))
    assert "user message" in str(no_user.value) and "\n" not in str(no_user.value)


def test_registered_test_on_the_support_bot(smollm2) -> None:
    """``prompt.gcg`` optimises the deployed conversation and reports the losses and finding;
    an HTTP-like target without gradients is skipped with the reason."""
    from aisec.registry import get_test
    from aisec.targets.builtin.support_bot import support_bot
    from aisec.targets.chat import FunctionChatModel
    from aisec.targets.views import ChatSpec

    test = get_test("prompt.gcg")(steps=1, candidates=4, topk=8, suffix_tokens=4)
    result = test.run(support_bot(smollm2), seed=0)
    o = result.outcome
    assert o.steps == 1 and o.final_loss <= o.initial_loss and len(o.suffix) > 0
    assert result.queries == o.forward_passes == 5
    assert result.findings[0].rule == "PRM-004"
    skipped = test.run(support_bot(FunctionChatModel(lambda m: "hi", ChatSpec(2048))))
    assert not skipped.ok and "gradients" in skipped.message
