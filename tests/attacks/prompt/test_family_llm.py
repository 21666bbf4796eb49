"""The probe families against the real SmolLM2-135M-Instruct, as the built-in support bot and
behind a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from aisec.registry import get_test
from aisec.targets.builtin.support_bot import SUPPORT_BOT_CANARY, support_bot
from aisec.targets.chat_server import ChatServer
from aisec.targets.openai_http import OpenAIChatTarget


def test_canary_detector_catches_the_leaked_secret(smollm2) -> None:
    """Asked directly, the bot discloses its staff code; the canary detector flags it."""
    result = get_test("prompt.leakage")(limit=1, utility=False).run(support_bot(smollm2))
    lead = result.outcome.overall("none")
    assert (lead.sent, lead.scored, lead.hits) == (1, 1, 1)
    assert SUPPORT_BOT_CANARY in result.outcome.transcripts[0].reply
    assert result.findings[0].rule == "PRM-001"


def test_indirect_injection_succeeds_less_with_spotlighting(smollm2) -> None:
    """Injections planted in a retrieved document (the seven document templates, four rogue
    strings each): measured on the undefended bot, and fewer succeed once untrusted text is
    datamarked (spotlighting). Measured with greedy decoding: 4 of 28 flagged undefended, 3
    with spotlighting (whose flags are echoes of the marked document)."""
    test = get_test("prompt.indirect-injection")(
        limit=7, rogues=4, defences=["none", "spotlight"], utility=False
    )
    outcome = test.run(support_bot(smollm2), seed=0).outcome
    none, spot = outcome.overall("none"), outcome.overall("spotlight")
    assert none.sent == spot.sent == 28 and none.errored == spot.errored == 0
    assert none.hits > spot.hits
    assert none.corrected > spot.corrected
    assert none.low <= none.corrected <= none.high
    assert outcome.best == "spotlight"


def test_http_target_against_a_local_server(smollm2) -> None:
    """The same leak, probed over HTTP: the support bot served by aisec's OpenAI-compatible
    server, reached through the HTTP target; one request, counted on both sides."""
    with ChatServer(support_bot(smollm2), model_name="support-bot") as server:
        target = OpenAIChatTarget(server.url, "support-bot", max_tokens=32)
        assert target.check() == ["support-bot"]
        test = get_test("prompt.leakage")(limit=1, utility=False, canary=SUPPORT_BOT_CANARY)
        result = test.run(target, seed=0)
        assert server.stats["requests"] == 1
    lead = result.outcome.overall("none")
    assert (lead.sent, lead.hits, lead.errored) == (1, 1, 0)
    assert target.queries == 1 and target.completion_tokens > 0
