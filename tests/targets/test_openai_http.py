"""The OpenAI-compatible chat target against a real local server (and the server itself)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aisec.errors import ParameterError, TargetError
from aisec.targets.chat import FunctionChatModel
from aisec.targets.chat_server import ChatServer, FaultPlan, MicroBatcher
from aisec.targets.openai_http import OpenAIChatTarget
from aisec.targets.views import ChatModel, ChatReply, ChatSpec, Message, chat_model

KEY_ENV = "AISEC_TEST_OPENAI_KEY"
RIGHT_KEY = "sk-right-91bc4d"
WRONG_KEY = "sk-wrong-7f3a22"


class Echo:
    """Answers the last message upper-cased (whitespace for "say nothing"); records all."""

    def __init__(self) -> None:
        self.seen: list[list[Message]] = []

    def __call__(self, messages: Sequence[Message]) -> str:
        self.seen.append(list(messages))
        last = messages[-1].content
        return "   " if last == "say nothing" else last.upper()


@dataclass
class BatchRecorder(FunctionChatModel):
    """An echo model whose ``chat_batch`` records batch sizes; the first batch waits for
    ``gate`` so that the requests behind it queue up."""

    sizes: list[int] = field(default_factory=list)
    gate: Callable[[], bool] | None = None

    def chat_batch(self, conversations: Sequence[Sequence[Message]]) -> list[ChatReply]:
        """Record the size, wait at the first batch, then answer."""
        self.sizes.append(len(conversations))
        if len(self.sizes) == 1 and self.gate is not None:
            wait_for(self.gate)
        return super().chat_batch(conversations)


def wait_for(condition: Callable[[], bool], cap: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``cap`` seconds have passed."""
    end = time.monotonic() + cap
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def user(text: str) -> list[Message]:
    """A one-message conversation."""
    return [Message("user", text)]


def echo_server(echo: Echo | None = None, **kw: Any) -> ChatServer:
    """A server over an echo model."""
    return ChatServer(FunctionChatModel(echo or Echo(), ChatSpec(context_length=2048)), **kw)


def client(url: str, model: str = "aisec-chat", **kw: Any) -> OpenAIChatTarget:
    """A target with fast retries and a generous timeout, unless ``kw`` says otherwise."""
    settings: dict[str, Any] = {"backoff": 0.0, "timeout": 10.0, **kw}
    return OpenAIChatTarget(url, model, **settings)


def one_line(error: BaseException | str) -> bool:
    """Whether a message is a single non-empty line."""
    text = str(error)
    return bool(text) and "\n" not in text and "\r" not in text


@contextmanager
def canned(respond: Callable[[str, str], tuple[int, str, bytes]]) -> Iterator[str]:
    """A bare HTTP server answering ``respond(method, path) -> (status, type, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, content_type, body = respond(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def completion_body(text: str) -> bytes:
    """A minimal OpenAI chat completion."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
    }
    return json.dumps({"object": "chat.completion", "choices": [choice]}).encode()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST raw bytes; the status and the parsed JSON answer."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


# -- round trips -------------------------------------------------------------------------------


def test_chat_round_trip_prepends_the_system_prompt_and_counts_tokens() -> None:
    echo = Echo()
    spec = ChatSpec(context_length=2048, system_prompt="Be terse.")
    with echo_server(echo) as server:
        target = client(server.url, chat_spec=spec)
        assert isinstance(target, ChatModel) and chat_model(target, "a test") is target
        assert target.chat(user("alpha beta gamma")) == "ALPHA BETA GAMMA"
        assert echo.seen[-1] == [
            Message("system", "Be terse."),
            Message("user", "alpha beta gamma"),
        ]
        own = [Message("system", "Speak freely."), Message("user", "hi")]
        assert target.chat(own) == "HI" and echo.seen[-1] == own
        # the server counts words: 2 (system) + 3 (user), then 2 + 1; answers 3 and 1
        assert (target.queries, target.prompt_tokens, target.completion_tokens) == (2, 8, 4)
        assert target.retried == 0 and target.errored == 0
        target.reset_queries()
        assert (target.queries, target.prompt_tokens, target.completion_tokens) == (0, 0, 0)


def test_chat_batch_keeps_input_order_with_concurrency() -> None:
    with echo_server() as server:
        target = client(server.url, concurrency=4)
        questions = [f"question number {i}" for i in range(24)]
        replies = target.chat_batch([user(q) for q in questions])
        assert [r.text for r in replies] == [q.upper() for q in questions]
        assert all(r.status == "ok" and r.prompt_tokens == 3 for r in replies)
        assert target.queries == 24 and target.prompt_tokens == 72
        assert target.completion_tokens == 72 and server.stats["requests"] == 24


def test_tool_messages_go_as_user_unless_tool_role_is_set() -> None:
    echo = Echo()
    conversation = [Message("user", "read the file"), Message("tool", "it says hi")]
    with echo_server(echo) as server:
        assert client(server.url).chat(conversation) == "[TOOL OUTPUT]\nIT SAYS HI"
        assert echo.seen[-1][-1] == Message("user", "[tool output]\nit says hi")
        assert client(server.url, tool_role=True).chat(conversation) == "IT SAYS HI"
        assert echo.seen[-1][-1] == Message("tool", "it says hi")


def test_empty_answers_and_max_tokens() -> None:
    with echo_server() as server:
        target = client(server.url, max_tokens=2)
        reply = target.chat_batch([user("say nothing")])[0]
        assert reply.status == "empty" and reply.text == ""
        with pytest.raises(TargetError, match="empty") as info:
            target.chat(user("say nothing"))
        assert one_line(info.value)
        assert target.chat(user("one two three")) == "ONE TWO"


# -- retries and faults ------------------------------------------------------------------------


def test_retries_turn_transient_failures_into_answers() -> None:
    plan = FaultPlan(schedule={0: "429", 1: "500", 2: "503", 3: "drop"})
    with echo_server(faults=plan) as server:
        target = client(server.url, retries=4)
        assert target.chat(user("persist")) == "PERSIST"
        assert (target.queries, target.retried, target.errored) == (1, 4, 0)
        stats = server.stats
        assert [stats[k] for k in ("429", "500", "503", "drop", "ok")] == [1, 1, 1, 1, 1]


def test_a_dropped_connection_is_retried() -> None:
    with echo_server(faults=FaultPlan(schedule={0: "drop"})) as server:
        target = client(server.url, retries=1)
        reply = target.chat_batch([user("again")])[0]
        assert reply.status == "ok" and reply.text == "AGAIN"
        assert target.retried == 1 and server.stats["drop"] == 1


def test_failures_that_outlast_the_retries_are_errored_without_losing_the_rest() -> None:
    plan = FaultPlan(schedule={1: "500", 2: "500", 3: "500"})
    with echo_server(faults=plan) as server:
        target = client(server.url, retries=2, concurrency=1)
        replies = target.chat_batch([user("first"), user("second"), user("third")])
        assert [r.status for r in replies] == ["ok", "errored", "ok"]
        assert [replies[0].text, replies[2].text] == ["FIRST", "THIRD"]
        assert "HTTP 500" in replies[1].error and "3 attempts" in replies[1].error
        assert one_line(replies[1].error)
        assert (target.queries, target.retried, target.errored) == (3, 2, 1)
        assert server.stats["500"] == 3


def test_a_mixed_fault_cycle_gives_exact_counts_of_each_status() -> None:
    kinds = ["ok", "429", "ok", "500", "slow", "garbage", "empty", "filter", "wrong-shape", "503"]
    with echo_server(faults=FaultPlan.cycle(kinds, slow_seconds=0.05)) as server:
        target = client(server.url, retries=0, concurrency=4)
        questions = [f"probe {i}" for i in range(30)]
        replies = target.chat_batch([user(q) for q in questions])
        stats = server.stats
    statuses = [r.status for r in replies]
    assert stats["requests"] == 30 and stats["ok"] == 6 and stats["slow"] == 3
    assert statuses.count("ok") == stats["ok"] + stats["slow"]
    failing = ("429", "500", "503", "garbage", "wrong-shape")
    assert statuses.count("errored") == sum(stats[k] for k in failing) == 15
    assert statuses.count("empty") == stats["empty"] == 3
    assert statuses.count("blocked") == stats["filter"] == 3
    for question, reply in zip(questions, replies, strict=True):
        if reply.status == "ok":
            assert reply.text == question.upper()
        else:
            assert reply.text == ""
            assert reply.status == "empty" or (reply.error and one_line(reply.error))
    assert target.queries == 30 and target.errored == 15 and target.retried == 0


def test_bodies_that_are_not_openai_completions_are_errored_with_a_reason() -> None:
    plan = FaultPlan(schedule={0: "garbage", 1: "wrong-shape", 2: "garbage"})
    with echo_server(faults=plan) as server:
        target = client(server.url, retries=0)
        garbage, wrong = target.chat_batch([user("a")]), target.chat_batch([user("b")])
        assert garbage[0].status == "errored" and "not JSON" in garbage[0].error
        assert "text/html" in garbage[0].error
        assert wrong[0].status == "errored" and "choices" in wrong[0].error
        with pytest.raises(TargetError, match="not JSON") as info:
            target.chat(user("c"))
        assert one_line(info.value)


def test_a_content_filter_is_blocked() -> None:
    with echo_server(faults=FaultPlan(schedule={0: "filter"})) as server:
        target = client(server.url, retries=0)
        reply = target.chat_batch([user("something risky")])[0]
        assert reply.status == "blocked" and "content_filter" in reply.error
        assert target.errored == 0 and server.stats["filter"] == 1


def test_a_400_for_content_policy_is_blocked_and_chat_raises() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "filtered by the content management policy",
                "code": "content_filter",
            }
        }
    ).encode()
    with canned(lambda method, path: (400, "application/json", body)) as url:
        target = client(url, retries=0)
        reply = target.chat_batch([user("x")])[0]
        assert reply.status == "blocked" and "content management policy" in reply.error
        with pytest.raises(TargetError, match="blocked") as info:
            target.chat(user("x"))
        assert one_line(info.value)


def test_slow_answers_beyond_the_timeout_are_errored() -> None:
    plan = FaultPlan(schedule={0: "slow"}, slow_seconds=1.0)
    with echo_server(faults=plan) as server:
        target = client(server.url, timeout=0.2, retries=0)
        reply = target.chat_batch([user("hurry")])[0]
        assert reply.status == "errored" and "timed out" in reply.error
        assert one_line(reply.error) and target.errored == 1


def test_back_off_honours_retry_after_up_to_ten_seconds() -> None:
    target = client("http://127.0.0.1:1/v1", backoff=0.5)
    assert target._delay(0, 0.0) == 0.0 and target._delay(0, 99.0) == 10.0
    assert [target._delay(n, None) for n in range(3)] == [0.5, 1.0, 2.0]


# -- the micro-batcher -------------------------------------------------------------------------


def test_concurrent_requests_reach_the_model_in_one_chat_batch() -> None:
    model = BatchRecorder(Echo(), ChatSpec(context_length=2048))
    with ChatServer(model, max_batch=8, batch_wait=0.2) as server:
        model.gate = lambda: server.stats["requests"] >= 8
        target = client(server.url, concurrency=8)
        questions = [f"batched {i}" for i in range(8)]
        replies = target.chat_batch([user(q) for q in questions])
        assert [r.text for r in replies] == [q.upper() for q in questions]
        assert sum(model.sizes) == 8 and max(model.sizes) > 1
        assert server.stats["batches"] == len(model.sizes)


def test_micro_batcher_answers_each_submitter_and_shares_a_failure() -> None:
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        if 13 in items:
            raise ValueError("unlucky")
        return [2 * i for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(double, max_batch=4, wait=0.0)
    try:
        assert batcher.submit(21) == 42 and calls == [[21]]
        with pytest.raises(ValueError, match="unlucky"):
            batcher.submit(13)
    finally:
        batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(1)
    with pytest.raises(ParameterError, match="max_batch"):
        MicroBatcher(double, max_batch=0)


# -- the server's own answers ------------------------------------------------------------------


def test_server_endpoints_and_their_errors() -> None:
    with echo_server(api_key=RIGHT_KEY) as server:
        auth = {"Authorization": f"Bearer {RIGHT_KEY}"}
        request = urllib.request.Request(server.url + "/models", headers=auth)
        with urllib.request.urlopen(request, timeout=10) as r:
            listed = json.loads(r.read())
        assert listed["object"] == "list" and listed["data"][0]["id"] == "aisec-chat"
        chat = server.url + "/chat/completions"
        good = {"model": "aisec-chat", "messages": [{"role": "user", "content": "hi there"}]}
        status, answer = post(chat, json.dumps(good).encode(), auth)
        assert status == 200 and answer["object"] == "chat.completion"
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": "HI THERE"}
        assert answer["choices"][0]["finish_reason"] == "stop"
        assert answer["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
        status, answer = post(chat, b"{not json", auth)
        assert status == 400 and "JSON" in answer["error"]["message"]
        status, answer = post(chat, json.dumps({"model": "aisec-chat"}).encode(), auth)
        assert status == 400 and "messages" in answer["error"]["message"]
        status, answer = post(chat, json.dumps({**good, "model": "gpt-9"}).encode(), auth)
        assert status == 404 and answer["error"]["code"] == "model_not_found"
        status, answer = post(chat, json.dumps(good).encode())
        assert status == 401 and answer["error"]["code"] == "invalid_api_key"
        assert server.stats["rejected"] == 4 and server.stats["requests"] == 1


def test_fault_plans_validate_their_kinds() -> None:
    plan = FaultPlan.cycle(["ok", "500"])
    assert [plan.kind_for(n) for n in range(4)] == ["ok", "500", "ok", "500"]
    assert FaultPlan(schedule={2: "drop"}).kind_for(2) == "drop"
    with pytest.raises(ParameterError, match="unknown fault kind 'explode'"):
        FaultPlan.cycle(["ok", "explode"])


# -- checking an endpoint ----------------------------------------------------------------------


def test_check_passes_and_lists_the_served_models() -> None:
    with echo_server() as server:
        assert client(server.url).check() == ["aisec-chat"]


def test_check_an_unreachable_endpoint() -> None:
    target = client(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(
        TargetError, match=r"cannot reach .*start the server or fix the URL"
    ) as info:
        target.check()
    assert one_line(info.value)


def test_check_and_chat_with_a_refused_key_name_the_variable_not_the_key(monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, WRONG_KEY)
    with echo_server(api_key=RIGHT_KEY) as server:
        target = client(server.url, api_key_env=KEY_ENV)
        with pytest.raises(TargetError, match=f"HTTP 401.*{KEY_ENV}") as info:
            target.check()
        assert one_line(info.value) and WRONG_KEY not in str(info.value)
        reply = target.chat_batch([user("hello")])[0]
        assert reply.status == "errored" and KEY_ENV in reply.error
        assert WRONG_KEY not in reply.error and RIGHT_KEY not in reply.error
        monkeypatch.setenv(KEY_ENV, RIGHT_KEY)
        assert target.check() == ["aisec-chat"] and target.chat(user("hello")) == "HELLO"
        described = json.dumps(target.describe())
        assert RIGHT_KEY not in described and KEY_ENV in described
        assert RIGHT_KEY not in repr(target)
        monkeypatch.delenv(KEY_ENV)
        with pytest.raises(TargetError, match=f"environment variable {KEY_ENV} .*is not set"):
            target.check()


def test_check_an_unknown_model_lists_the_served_one() -> None:
    with echo_server() as server:
        with pytest.raises(TargetError, match=r"'llama-3' is not served.*'aisec-chat'") as info:
            client(server.url, "llama-3").check()
        assert one_line(info.value)


def test_check_a_server_that_does_not_speak_openai() -> None:
    page = b"<!doctype html>\n<html><body>Welcome</body></html>"
    with canned(lambda method, path: (200, "text/html", page)) as url:
        with pytest.raises(TargetError, match="did not answer like an OpenAI API") as info:
            client(url).check()
        assert one_line(info.value) and "text/html" in str(info.value)
        reply = client(url, retries=0).chat_batch([user("hi")])[0]
        assert reply.status == "errored" and "not JSON" in reply.error


def test_check_falls_back_to_one_chat_request_when_models_is_not_served() -> None:
    def no_models(method: str, path: str) -> tuple[int, str, bytes]:
        if method == "GET":
            return 404, "application/json", b'{"error": {"message": "not found"}}'
        return 200, "application/json", completion_body("pong")

    with canned(no_models) as url:
        assert client(url).check() == []
    with canned(lambda method, path: (404, "text/plain", b"no such route")) as url:
        with pytest.raises(TargetError, match=r"HTTP 404.*ends in /v1") as info:
            client(url).check()
        assert one_line(info.value)


# -- references ----------------------------------------------------------------------------------


def test_from_ref_parses_a_reference_and_refuses_malformed_ones() -> None:
    target = OpenAIChatTarget.from_ref("openai:http://127.0.0.1:8000/v1/#llama-3-8b", retries=1)
    assert (target.base_url, target.model, target.retries) == (
        "http://127.0.0.1:8000/v1",
        "llama-3-8b",
        1,
    )
    assert target.name == "llama-3-8b" and target.describe()["source"].endswith("#llama-3-8b")
    for bad in (
        "openai:127.0.0.1:8000/v1#m",
        "openai:http://127.0.0.1:8000/v1",
        "openai:http://127.0.0.1:8000/v1#",
        "http://127.0.0.1:8000/v1#m",
    ):
        with pytest.raises(TargetError, match="expected openai:http://HOST:PORT/v1#MODEL") as info:
            OpenAIChatTarget.from_ref(bad)
        assert one_line(info.value)


def test_serve_forever_announces_its_url_and_stops_on_close() -> None:
    server = echo_server()
    urls: list[str] = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"ready": urls.append})
    thread.start()
    try:
        assert wait_for(lambda: bool(urls)) and urls[0] == server.url
        assert client(server.url).chat(user("live")) == "LIVE"
    finally:
        server.close()
        thread.join(10)
    assert not thread.is_alive()


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = echo_server(port=taken.getsockname()[1])
        with pytest.raises(TargetError, match=r"cannot listen on .*choose another port") as info:
            server.start()
        server.close()
    assert one_line(info.value)
