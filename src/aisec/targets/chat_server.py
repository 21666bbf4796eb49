"""A small OpenAI-compatible chat server over any :class:`~aisec.targets.views.ChatModel`.

It serves ``GET /v1/models`` and non-streaming ``POST /v1/chat/completions``, so a local model
can be assessed, benchmarked or shared exactly as a remote endpoint would be (through
:class:`~aisec.targets.openai_http.OpenAIChatTarget`). Requests arriving together are gathered
by a :class:`MicroBatcher` and answered with one ``chat_batch`` call, so a model that batches
serves concurrent clients efficiently.

A :class:`FaultPlan` injects deterministic faults by request sequence number (rate limits,
server errors, slow, malformed or empty answers, content-filter blocks, dropped connections)
for testing clients; :attr:`ChatServer.stats` counts what was injected.

The server is meant for loopback use: it has an optional bearer key but no TLS.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Empty, SimpleQueue
from types import TracebackType
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from aisec.errors import ParameterError, TargetError
from aisec.targets.views import ChatModel, ChatReply, Message

log = logging.getLogger(__name__)

FAULT_KINDS: tuple[str, ...] = (
    "ok",
    "429",
    "500",
    "503",
    "slow",
    "garbage",
    "wrong-shape",
    "empty",
    "filter",
    "drop",
)
"""What a :class:`FaultPlan` can do to a request: ``ok`` (answer normally), ``429`` (rate limit
with ``Retry-After: 0``), ``500``/``503`` (server error), ``slow`` (wait ``slow_seconds``, then
answer normally), ``garbage`` (200 with a body that is not JSON), ``wrong-shape`` (200 JSON
without ``choices``), ``empty`` (200 with empty content), ``filter`` (finish reason
``content_filter``, empty content), ``drop`` (close the connection without answering)."""

_ROLES = frozenset({"system", "user", "assistant", "tool"})
_MAX_BODY = 16 * 1024 * 1024
_WORD = re.compile(r"\S+")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class FaultPlan:
    """Which fault each chat request gets, by its sequence number (0 for the first).

    ``schedule`` names the fault of single requests; requests it does not name follow
    ``pattern`` cyclically (``ok`` when there is none). Sequence numbers count the chat requests
    the server accepted (authorised, well-formed, for its model), in the order they arrived.
    """

    schedule: Mapping[int, str] = field(default_factory=dict)
    """Fault of single requests, by sequence number."""
    pattern: tuple[str, ...] = ()
    """Faults repeated in a cycle for the requests ``schedule`` does not name."""
    slow_seconds: float = 1.0
    """How long a ``slow`` request waits before it is answered."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", dict(self.schedule))
        object.__setattr__(self, "pattern", tuple(self.pattern))
        kinds = sorted({*self.schedule.values(), *self.pattern} - set(FAULT_KINDS))
        problems = [f"unknown fault kind {k!r}; use one of {', '.join(FAULT_KINDS)}" for k in kinds]
        if any(not isinstance(n, int) or n < 0 for n in self.schedule):
            problems.append("schedule keys must be request numbers (0 or more)")
        if self.slow_seconds < 0:
            problems.append(f"slow_seconds must be 0 or more; got {self.slow_seconds!r}")
        if problems:
            raise ParameterError("FaultPlan", problems)

    @classmethod
    def cycle(cls, kinds: Sequence[str], slow_seconds: float = 1.0) -> FaultPlan:
        """A plan repeating ``kinds`` request after request."""
        return cls(pattern=tuple(kinds), slow_seconds=slow_seconds)

    def kind_for(self, seq: int) -> str:
        """The fault of request number ``seq``."""
        if seq in self.schedule:
            return self.schedule[seq]
        return self.pattern[seq % len(self.pattern)] if self.pattern else "ok"


class MicroBatcher(Generic[T, R]):
    """Gathers items submitted from many threads into batches for one function call.

    A batch closes when it holds ``max_batch`` items or ``wait`` seconds after its first item
    arrived; ``fn`` then answers the whole batch (one result per item, in order) on the
    batcher's own thread, and every submitter gets its own result or the batch's exception.
    """

    def __init__(
        self, fn: Callable[[list[T]], Sequence[R]], max_batch: int = 8, wait: float = 0.02
    ) -> None:
        """Start the batching thread for ``fn``."""
        problems = [f"max_batch must be at least 1; got {max_batch!r}"] if max_batch < 1 else []
        if wait < 0:
            problems.append(f"wait must be 0 or more; got {wait!r}")
        if problems:
            raise ParameterError("MicroBatcher", problems)
        self.fn = fn
        self.max_batch = max_batch
        self.wait = wait
        self.batches = 0
        """Batches answered so far."""
        self._queue: SimpleQueue[tuple[T, Future[R]] | None] = SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="aisec-batcher", daemon=True)
        self._thread.start()

    def submit(self, item: T) -> R:
        """The result for ``item``, once its batch has been answered (blocks until then)."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._queue.put((item, future))
        return future.result()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking items, answer those already queued, and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = [first], False
            deadline = time.monotonic() + self.wait
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    nxt = self._queue.get(timeout=remaining)
                except Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._answer(batch)
            if stop:
                return

    def _answer(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            results = list(self.fn([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} got {len(results)} results")
        except BaseException as exc:  # every waiting request must hear of the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        finally:
            self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


class _HTTPServer(ThreadingHTTPServer):
    """The listening socket; one daemon thread per connection."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: ChatServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed exchange (a client hanging up) instead of printing a traceback."""
        log.debug("chat server: exchange with %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Routes one HTTP request to the :class:`ChatServer`."""

    server_version = "aisec-chat/1"
    server: _HTTPServer

    def do_GET(self) -> None:
        """Answer ``GET /v1/models``."""
        self.server.app._get(self)

    def do_POST(self) -> None:
        """Answer ``POST /v1/chat/completions``."""
        self.server.app._post(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines go to the debug log, not to stderr."""
        log.debug("chat server: " + format, *args)

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a complete answer."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, obj: object, headers: Mapping[str, str] | None = None) -> None:
        """Send a JSON answer."""
        self.send_body(status, json.dumps(obj).encode(), "application/json", headers)

    def send_error_json(
        self, status: int, message: str, kind: str, code: str | None = None, **headers: str
    ) -> None:
        """Send an OpenAI-style error body."""
        error = {"message": message, "type": kind, "param": None, "code": code}
        self.send_json(status, {"error": error}, headers)


class ChatServer:
    """An OpenAI-compatible HTTP server answering with a :class:`ChatModel`.

    Use it as a context manager (or call :meth:`start` and :meth:`close`); it serves from a
    daemon thread at :attr:`url`. ``port`` 0 picks a free port.
    """

    def __init__(
        self,
        model: ChatModel,
        host: str = "127.0.0.1",
        port: int = 0,
        model_name: str = "aisec-chat",
        api_key: str | None = None,
        faults: FaultPlan | None = None,
        max_batch: int = 8,
        batch_wait: float = 0.02,
    ) -> None:
        """Configure the server; nothing listens until :meth:`start`."""
        self.model = model
        self.host = host
        self.model_name = model_name
        self.faults = faults or FaultPlan()
        self._requested_port = port
        self._api_key = api_key
        self._batcher: MicroBatcher[list[Message], ChatReply] = MicroBatcher(
            self._answer_batch, max_batch, batch_wait
        )
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: threading.Thread | None = None
        self._loop_done = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._seq = 0
        self._stats: Counter[str] = Counter()
        self._created = int(time.time())

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ChatServer:
        """Listen and serve from a daemon thread; returns the server."""
        if self._thread is None:
            httpd = self._bind()
            self._thread = self._loop = threading.Thread(
                target=self._serve, args=(httpd,), name="aisec-chat-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Listen and serve from this thread until interrupted; ``ready`` gets the URL first."""
        httpd = self._bind()
        self._loop = threading.current_thread()
        if ready is not None:
            ready(self.url)
        try:
            self._serve(httpd)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop serving and release the port (safe to call twice)."""
        with self._lock:
            if self._closing.is_set():
                return
            self._closing.set()
        httpd = self._httpd
        if httpd is not None:
            loop = self._loop
            elsewhere = loop is not None and loop is not threading.current_thread()
            if elsewhere and not self._loop_done.is_set():
                httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(5.0)
        self._batcher.close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port listened on (the one picked, when ``port`` was 0)."""
        if self._httpd is None:
            return self._requested_port
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:PORT/v1``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    @property
    def stats(self) -> dict[str, int]:
        """Counts so far: each fault kind injected (``ok`` for normal answers), ``requests``
        (chat requests accepted), ``rejected`` (400/401/404 answers) and ``batches`` (calls of
        the model's ``chat_batch``)."""
        with self._lock:
            counts = {kind: self._stats[kind] for kind in FAULT_KINDS}
            counts["requests"] = self._stats["requests"]
            counts["rejected"] = self._stats["rejected"]
        counts["batches"] = self._batcher.batches
        return counts

    def _bind(self) -> _HTTPServer:
        if self._closing.is_set():
            raise TargetError("this chat server was closed; create a new one")
        try:
            self._httpd = _HTTPServer((self.host, self._requested_port), self)
        except OSError as exc:
            raise TargetError(
                f"cannot listen on {self.host}:{self._requested_port} ({exc.strerror or exc}); "
                "choose another port or stop what is using it"
            ) from None
        return self._httpd

    def _serve(self, httpd: _HTTPServer) -> None:
        try:
            httpd.serve_forever(poll_interval=0.1)
        finally:
            self._loop_done.set()

    # -- requests -----------------------------------------------------------------------------

    def _count(self, key: str) -> None:
        with self._lock:
            self._stats[key] += 1

    def _authorised(self, h: _Handler) -> bool:
        if self._api_key is None:
            return True
        given = h.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self._api_key}".encode()):
            return True
        self._count("rejected")
        h.send_error_json(
            401, "Incorrect or missing API key", "invalid_request_error", "invalid_api_key"
        )
        return False

    def _get(self, h: _Handler) -> None:
        if urlsplit(h.path).path.rstrip("/") != "/v1/models":
            self._count("rejected")
            h.send_error_json(404, f"no route GET {h.path}", "invalid_request_error")
            return
        if not self._authorised(h):
            return
        entry = {
            "id": self.model_name,
            "object": "model",
            "created": self._created,
            "owned_by": "aisec",
        }
        h.send_json(200, {"object": "list", "data": [entry]})

    def _post(self, h: _Handler) -> None:
        body = self._read_body(h)
        if body is None:
            return
        if urlsplit(h.path).path.rstrip("/") != "/v1/chat/completions":
            self._count("rejected")
            h.send_error_json(404, f"no route POST {h.path}", "invalid_request_error")
            return
        if not self._authorised(h):
            return
        request = self._parse(h, body)
        if request is None:
            return
        conversation, max_tokens = request
        with self._lock:
            seq = self._seq
            self._seq += 1
            kind = self.faults.kind_for(seq)
            self._stats[kind] += 1
            self._stats["requests"] += 1
        self._respond(h, seq, kind, conversation, max_tokens)

    def _read_body(self, h: _Handler) -> bytes | None:
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._count("rejected")
            h.close_connection = True
            h.send_error_json(400, "bad or missing Content-Length", "invalid_request_error")
            return None
        return h.rfile.read(length)

    def _parse(self, h: _Handler, body: bytes) -> tuple[list[Message], int | None] | None:
        """The conversation and ``max_tokens`` of a request, or ``None`` once a 4xx is sent."""
        try:
            return _request(body, self.model_name)
        except _BadRequest as bad:
            self._count("rejected")
            h.send_error_json(bad.status, bad.message, "invalid_request_error", bad.code)
            return None

    def _respond(
        self, h: _Handler, seq: int, kind: str, conversation: list[Message], max_tokens: int | None
    ) -> None:
        prompt_words = sum(len(_WORD.findall(m.content)) for m in conversation)
        if kind == "drop":
            h.close_connection = True
            return
        if kind == "429":
            h.send_error_json(
                429,
                "Rate limit reached; retry after 0 s",
                "rate_limit_error",
                "rate_limit_exceeded",
                **{"Retry-After": "0"},
            )
            return
        if kind in ("500", "503"):
            h.send_error_json(int(kind), f"injected server error {kind}", "server_error")
            return
        if kind == "garbage":
            h.send_body(200, b"<html><body>Bad gateway</body></html>", "text/html")
            return
        if kind == "wrong-shape":
            h.send_json(200, {"id": f"cmpl-{seq}", "object": "text_completion", "result": "ok"})
            return
        if kind in ("empty", "filter"):
            finish = "content_filter" if kind == "filter" else "stop"
            h.send_json(200, self._completion(seq, "", finish, prompt_words, 0))
            return
        if kind == "slow":
            self._closing.wait(self.faults.slow_seconds)
        try:
            reply = self._batcher.submit(conversation)
        except Exception as exc:  # the model failed on the whole batch, or the server closes
            h.send_error_json(500, f"the model failed: {type(exc).__name__}: {exc}", "server_error")
            return
        if reply.status == "errored":
            h.send_error_json(500, f"the model failed: {reply.error}", "server_error")
            return
        text, finish = reply.text, "content_filter" if reply.status == "blocked" else "stop"
        words = list(_WORD.finditer(text))
        completion = reply.completion_tokens or len(words)
        if max_tokens is not None and len(words) > max_tokens:
            text, finish, completion = text[: words[max_tokens - 1].end()], "length", max_tokens
        prompt = reply.prompt_tokens or prompt_words
        h.send_json(200, self._completion(seq, text, finish, prompt, completion))

    def _completion(
        self, seq: int, text: str, finish: str, prompt_tokens: int, completion_tokens: int
    ) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-aisec-{seq:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _answer_batch(self, conversations: list[list[Message]]) -> list[ChatReply]:
        return self.model.chat_batch(conversations)


class _BadRequest(Exception):
    """A request the server refuses, with its status and OpenAI error code."""

    def __init__(self, message: str, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def _request(body: bytes, model_name: str) -> tuple[list[Message], int | None]:
    """The conversation and ``max_tokens`` of a chat request body; raises ``_BadRequest``."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _BadRequest("the request body must be a JSON object")
    messages = _messages(data.get("messages"))
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise _BadRequest("max_tokens must be a whole number of at least 1")
    temperature = data.get("temperature", 0.0)
    if temperature is not None and (
        not isinstance(temperature, int | float) or isinstance(temperature, bool) or temperature < 0
    ):
        raise _BadRequest("temperature must be a number of 0 or more")
    asked = data.get("model")
    if asked is not None and asked != model_name:
        raise _BadRequest(
            f"The model {asked!r} does not exist; this server serves {model_name!r}",
            404,
            "model_not_found",
        )
    return messages, max_tokens


def _messages(raw: object) -> list[Message]:
    """The request's messages; raises ``_BadRequest`` naming the first bad one."""
    if not isinstance(raw, list) or not raw:
        raise _BadRequest("messages must be a non-empty list of {role, content} objects")
    out: list[Message] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("role") not in _ROLES:
            raise _BadRequest(f"messages[{i}] needs a role of system, user, assistant or tool")
        content = item.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise _BadRequest(f"messages[{i}].content must be text")
        out.append(Message(item["role"], content))
    return out


def serve(
    model: ChatModel,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_name: str = "aisec-chat",
    *,
    api_key: str | None = None,
    max_batch: int = 8,
    batch_wait: float = 0.02,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``model`` as an OpenAI-compatible API until interrupted (blocks).

    ``ready``, when given, is called with the base URL once the port is open.
    """
    server = ChatServer(
        model,
        host,
        port,
        model_name,
        api_key=api_key,
        max_batch=max_batch,
        batch_wait=batch_wait,
    )
    server.serve_forever(ready)
