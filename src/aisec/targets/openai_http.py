"""Chat target over any OpenAI-compatible chat-completions endpoint.

vLLM, llama.cpp's server, Ollama, LM Studio, ``transformers serve`` and hosted APIs all answer
``POST {base_url}/chat/completions`` in the OpenAI shape; :class:`OpenAIChatTarget` makes any of
them a :class:`~aisec.targets.views.ChatModel`. It sends conversations concurrently, retries
rate limits, server errors, time-outs and dropped connections with exponential back-off, and
keeps every failure apart from the answers: a query that never reached the model is an
``errored`` reply, a serving-layer refusal a ``blocked`` one, so neither is scored as the model's
own words.

The API key, when one is needed, is read from the environment variable named by
``api_key_env`` at request time; it is never stored, logged, described or quoted in an error.

Reference form: ``openai:http://HOST:PORT/v1#MODEL`` (see :meth:`OpenAIChatTarget.from_ref`).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aisec.errors import TargetError
from aisec.targets.base import Capability
from aisec.targets.views import (
    ChatReply,
    ChatSpec,
    Message,
    as_user_turn,
    deployed_conversation,
)

REF_PREFIX = "openai:"
"""Prefix of an OpenAI-compatible target reference."""
REF_FORM = "openai:http://HOST:PORT/v1#MODEL"
"""The expected form of a reference, as error messages name it."""

_MAX_WAIT = 10.0  # longest single back-off, whatever Retry-After asks for
_RETRY_STATUSES = frozenset({408, 425, 429})  # besides every 5xx
_POLICY = re.compile(
    r"content[ _-]?(policy|filter|management)|safety (system|policy)|moderation", re.IGNORECASE
)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class _Unreachable(Exception):
    """The request got no HTTP answer (refused, reset, dropped, timed out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Response:
    """One HTTP answer, whatever its status."""

    status: int
    body: bytes
    content_type: str
    retry_after: float | None


@dataclass
class _Counters:
    """Thread-safe request counters."""

    queries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retried: int = 0
    errored: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        """Add to the named counters atomically."""
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def reset(self) -> None:
        """Zero every counter."""
        with self.lock:
            self.queries = self.prompt_tokens = self.completion_tokens = 0
            self.retried = self.errored = 0


@dataclass(eq=False)
class OpenAIChatTarget:
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    :meth:`chat_batch` sends up to ``concurrency`` requests at once and returns the replies in
    input order; 429s, 5xx answers, time-outs and dropped connections are retried ``retries``
    times with exponential back-off (a numeric ``Retry-After`` is honoured up to 10 s). When
    they run out the reply is ``errored``; nothing raises for a failed query inside a batch.
    The deployment's system prompt, when the spec has one, is put first in every conversation
    that does not start with a system message.
    """

    base_url: str
    """Endpoint root up to and including the API version, e.g. ``http://127.0.0.1:8000/v1``."""
    model: str
    """Model name the endpoint serves (the request's ``model`` field)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (sent as a bearer token), or
    ``None`` when the endpoint needs no key."""
    timeout: float = 60.0
    """Seconds one request may take before it counts as timed out."""
    retries: int = 3
    """Retries of a request that was rate-limited, failed on the server or got no answer."""
    backoff: float = 0.5
    """First back-off in seconds; it doubles with every retry."""
    concurrency: int = 8
    """Requests :meth:`chat_batch` keeps in flight at once."""
    max_tokens: int = 128
    """Longest answer one request asks for."""
    temperature: float = 0.0
    """Sampling temperature sent with every request."""
    seed: int | None = None
    """Sampling seed sent with every request, when the server supports one."""
    chat_spec: ChatSpec = field(default_factory=lambda: ChatSpec(context_length=2048))
    """Context length, system prompt and tools of the deployment."""
    tool_role: bool = False
    """Send ``tool`` messages with role ``tool``; otherwise they go as ``user`` messages
    prefixed ``[tool output]`` (many servers reject a tool role without a ``tool_call_id``)."""
    name: str = ""
    """Target name for reports (defaults to the model name)."""
    _counts: _Counters = field(default_factory=_Counters, init=False, repr=False)
    _opener: urllib.request.OpenerDirector = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetError(
                f"OpenAI endpoint URL {_safe_url(self.base_url)!r} is not an http(s) URL; give "
                "one like http://127.0.0.1:8000/v1"
            )
        if not self.model.strip():
            raise TargetError(
                "OpenAI chat target has no model name; give the model the endpoint serves"
            )
        problems = [
            f"{what} must be {rule}; got {value!r}"
            for what, value, ok, rule in (
                ("timeout", self.timeout, self.timeout > 0, "positive"),
                ("retries", self.retries, self.retries >= 0, "0 or more"),
                ("backoff", self.backoff, self.backoff >= 0, "0 or more"),
                ("concurrency", self.concurrency, self.concurrency >= 1, "at least 1"),
                ("max_tokens", self.max_tokens, self.max_tokens >= 1, "at least 1"),
            )
            if not ok
        ]
        if problems:
            raise TargetError(f"OpenAI chat target {self.model!r}: " + "; ".join(problems))
        self.base_url = self.base_url.strip().rstrip("/")
        self.name = self.name or self.model
        # A local server is reached directly even when a proxy is configured for the rest.
        direct = parts.hostname in _LOOPBACK or parts.hostname.startswith("127.")
        handlers = [urllib.request.ProxyHandler({})] if direct else []
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_ref(cls, ref: str, **kw: Any) -> OpenAIChatTarget:
        """A target from ``openai:http://HOST:PORT/v1#MODEL``; ``kw`` sets the other fields."""
        url, _, model = ref.strip().removeprefix(REF_PREFIX).partition("#")
        parts = urlsplit(url)
        if (
            not ref.strip().startswith(REF_PREFIX)
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or not model.strip()
        ):
            raise TargetError(
                f"malformed OpenAI target reference {_safe_url(ref)!r}; expected {REF_FORM} "
                "(e.g. openai:http://127.0.0.1:8000/v1#my-model)"
            )
        return cls(base_url=url, model=model.strip(), **kw)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Text generation."""
        return frozenset({Capability.TEXT})

    @property
    def queries(self) -> int:
        """Conversations answered or attempted (one each, however many retries it took)."""
        return self._counts.queries

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens the endpoint reported, summed over every answer."""
        return self._counts.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        """Answer tokens the endpoint reported, summed over every answer."""
        return self._counts.completion_tokens

    @property
    def retried(self) -> int:
        """Retries made (a request that succeeded at its third attempt counts two)."""
        return self._counts.retried

    @property
    def errored(self) -> int:
        """Conversations whose reply is ``errored``."""
        return self._counts.errored

    def reset_queries(self) -> None:
        """Zero the query counter and the token, retry and error counters with it."""
        self._counts.reset()

    def chat(self, messages: Sequence[Message]) -> str:
        """The assistant's answer (one query); raises :class:`TargetError` unless it is ``ok``."""
        conversation = self._conversation(messages)
        reply = self._answer(conversation)
        if reply.status != "ok":
            reason = reply.error or "the endpoint answered with empty text"
            raise TargetError(
                f"chat model {self.name!r} at {_safe_url(self.base_url)} gave a reply that is "
                f"{reply.status}: {reason}"
            )
        return reply.text

    def chat_batch(self, conversations: Sequence[Sequence[Message]]) -> list[ChatReply]:
        """Answers in input order, ``concurrency`` requests at a time; a failed query is an
        ``errored`` (or ``blocked``) reply, never an exception."""
        prepared = [self._conversation(c) for c in conversations]
        if len(prepared) <= 1 or self.concurrency == 1:
            return [self._answer(c) for c in prepared]
        with ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(prepared)), thread_name_prefix="aisec-openai"
        ) as pool:
            return list(pool.map(self._answer, prepared))

    def check(self) -> list[str]:
        """Make one cheap request and raise a one-line :class:`TargetError` if the endpoint
        cannot serve this target: unreachable, refusing the key, not serving the model, or not
        speaking the OpenAI protocol.

        ``GET {base_url}/models`` is tried first; when that route does not exist, one chat
        request with ``max_tokens`` 1 is sent instead. Not counted as a query. Returns the models
        the endpoint lists (empty when it lists none).
        """
        missing = self._missing_key()
        if missing:
            raise TargetError(missing)
        where = f"{_safe_url(self.base_url)}/models"
        try:
            resp = self._http("GET", "/models", None)
        except _Unreachable as exc:
            raise TargetError(
                f"cannot reach {where} ({exc.reason}); start the server or fix the URL"
            ) from None
        if resp.status == 404:
            return self._check_by_chat()
        self._raise_for_status(resp, "GET /models")
        data = _json(resp.body)
        listed = data.get("data") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            raise TargetError(
                f"{where} did not answer like an OpenAI API ({_what_came(resp)}); point the URL "
                "at an OpenAI-compatible endpoint (it usually ends in /v1)"
            )
        served = [str(m["id"]) for m in listed if isinstance(m, dict) and "id" in m]
        if not served:
            return self._check_by_chat()
        if self.model not in served and f"{self.model}:latest" not in served:
            shown = ", ".join(repr(m) for m in served[:10]) + (" ..." if len(served) > 10 else "")
            raise TargetError(
                f"model {self.model!r} is not served at {_safe_url(self.base_url)}; it serves "
                f"{shown}; use one of them as the model name"
            )
        return served

    def describe(self) -> dict[str, Any]:
        """Facts about the target for reports (no API key, no system prompt text)."""
        return {
            "name": self.name,
            "kind": "chat",
            "source": f"{_safe_url(self.base_url)}#{self.model}",
            "protocol": "openai-chat-completions",
            "model": self.model,
            "api_key_env": self.api_key_env,
            "timeout": self.timeout,
            "retries": self.retries,
            "concurrency": self.concurrency,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "context_length": self.chat_spec.context_length,
            "has_system_prompt": bool(self.chat_spec.system_prompt),
            "tools": list(self.chat_spec.tools),
            "capabilities": sorted(c.value for c in self.capabilities),
        }

    # -- one conversation -------------------------------------------------------------------

    def _conversation(self, messages: Sequence[Message]) -> list[Message]:
        """The conversation as sent: non-empty, with the deployment's system prompt first."""
        return deployed_conversation(self.name, self.chat_spec, messages)

    def _payload(self, conversation: Sequence[Message], max_tokens: int) -> dict[str, Any]:
        """The request body for one conversation."""
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [self._wire(m) for m in conversation],
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        if self.seed is not None:
            payload["seed"] = self.seed
        return payload

    def _wire(self, message: Message) -> dict[str, str]:
        """One message as the endpoint receives it."""
        if self.tool_role:
            return {"role": message.role, "content": message.content}
        return as_user_turn(message)

    def _answer(self, conversation: Sequence[Message]) -> ChatReply:
        """One counted query: the reply, whatever became of the request."""
        self._counts.add(queries=1)
        try:
            reply = self._send(self._payload(conversation, self.max_tokens))
        except Exception as exc:  # a failure of one query must not sink the others
            reply = ChatReply("", "errored", self._scrub(f"{type(exc).__name__}: {exc}"))
        if reply.status == "errored":
            self._counts.add(errored=1)
        return reply

    def _send(self, payload: dict[str, Any]) -> ChatReply:
        """Post one request, retrying transient failures; the reply it came to."""
        missing = self._missing_key()
        if missing:
            return ChatReply("", "errored", missing)
        body = json.dumps(payload).encode()
        attempts = self.retries + 1
        reason = ""
        retry_after: float | None = None
        for attempt in range(attempts):
            if attempt:
                self._counts.add(retried=1)
                time.sleep(self._delay(attempt - 1, retry_after))
            try:
                resp = self._http("POST", "/chat/completions", body)
            except _Unreachable as exc:
                reason, retry_after = exc.reason, None
                continue
            if resp.status not in _RETRY_STATUSES and resp.status < 500:
                return self._reply(resp)
            reason = f"HTTP {resp.status}: {self._error_text(resp)}"
            retry_after = resp.retry_after
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        return ChatReply("", "errored", f"{reason} (gave up after {tries})")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        wait = retry_after if retry_after is not None else self.backoff * 2**attempt
        return max(0.0, min(wait, _MAX_WAIT))

    def _reply(self, resp: _Response) -> ChatReply:
        """The reply a final (not retried) HTTP answer amounts to."""
        if 200 <= resp.status < 300:
            return self._completion(resp)
        message = self._error_text(resp)
        if resp.status == 400 and _POLICY.search(resp.body.decode("utf-8", "replace")):
            return ChatReply("", "blocked", f"HTTP 400, refused by a content policy: {message}")
        if resp.status in (401, 403):
            return ChatReply("", "errored", self._auth_problem(resp.status))
        if resp.status == 404:
            return ChatReply(
                "",
                "errored",
                f"HTTP 404: {message}; check the model name {self.model!r} and that the URL ends "
                "in /v1",
            )
        return ChatReply("", "errored", f"HTTP {resp.status}: {message}")

    def _completion(self, resp: _Response) -> ChatReply:
        """The reply in a 2xx body, or an ``errored`` one naming what is not OpenAI about it."""
        data = _json(resp.body)
        if data is None:
            return ChatReply(
                "",
                "errored",
                f"the endpoint answered HTTP {resp.status} with a body that is not JSON "
                f"({_what_came(resp)}); point the URL at an OpenAI-compatible endpoint",
            )
        if not isinstance(data, dict):
            return ChatReply(
                "", "errored", f"the endpoint answered a JSON {type(data).__name__}, not an object"
            )
        prompt_tokens, completion_tokens = _usage(data)
        self._counts.add(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            keys = ", ".join(sorted(map(str, data))[:8]) or "no keys"
            return ChatReply(
                "",
                "errored",
                f"the answer is not an OpenAI chat completion: it has no choices[0] (keys: {keys})",
            )
        choice = choices[0]
        if choice.get("finish_reason") == "content_filter":
            return ChatReply(
                "",
                "blocked",
                "the endpoint's content filter withheld the answer (finish_reason content_filter)",
                prompt_tokens,
                completion_tokens,
            )
        message = choice.get("message")
        if not isinstance(message, dict) or "content" not in message:
            return ChatReply(
                "",
                "errored",
                "the answer is not an OpenAI chat completion: it has no choices[0].message.content",
            )
        content = message["content"]
        if content is None:
            content = ""
        elif isinstance(content, list):  # content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            return ChatReply(
                "",
                "errored",
                f"choices[0].message.content is a {type(content).__name__}, not text",
            )
        return ChatReply.of(content, prompt_tokens, completion_tokens)

    # -- checking the endpoint --------------------------------------------------------------

    def _check_by_chat(self) -> list[str]:
        """The check by one chat request of one token (for servers that list no models)."""
        where = f"{_safe_url(self.base_url)}/chat/completions"
        body = json.dumps(self._payload([Message("user", "ping")], 1)).encode()
        try:
            resp = self._http("POST", "/chat/completions", body)
        except _Unreachable as exc:
            raise TargetError(
                f"cannot reach {where} ({exc.reason}); start the server or fix the URL"
            ) from None
        if resp.status == 404:
            raise TargetError(
                f"{where} answered HTTP 404 ({self._error_text(resp)}); fix the URL (it usually "
                f"ends in /v1) or the model name {self.model!r}"
            )
        self._raise_for_status(resp, "a one-token chat request")
        reply = self._completion(resp)
        if reply.status == "errored":
            raise TargetError(
                f"{where} did not answer like an OpenAI API: {reply.error}; point the URL at an "
                "OpenAI-compatible endpoint (it usually ends in /v1)"
            )
        return []

    def _raise_for_status(self, resp: _Response, what: str) -> None:
        """Raise the one-line error a non-2xx answer to a check means."""
        if resp.status in (401, 403):
            raise TargetError(self._auth_problem(resp.status))
        if not 200 <= resp.status < 300:
            raise TargetError(
                f"{_safe_url(self.base_url)} answered HTTP {resp.status} to {what} "
                f"({self._error_text(resp)}); check the server and its log"
            )

    def _auth_problem(self, status: int) -> str:
        """What a refused request means and how to fix it (names the variable, not the key)."""
        where = _safe_url(self.base_url)
        if self.api_key_env:
            return (
                f"{where} refused the API key (HTTP {status}); set the environment variable "
                f"{self.api_key_env} to a valid key"
            )
        return (
            f"{where} needs an API key (HTTP {status}); put the key in an environment variable "
            "and pass its name as api_key_env"
        )

    def _missing_key(self) -> str:
        """Why no key can be sent, or ``""`` when none is needed or it is set."""
        if self.api_key_env and not os.environ.get(self.api_key_env):
            return (
                f"environment variable {self.api_key_env} (api_key_env of {self.name!r}) is not "
                "set; export it with the endpoint's API key"
            )
        return ""

    # -- HTTP -------------------------------------------------------------------------------

    def _http(self, method: str, path: str, body: bytes | None) -> _Response:
        """One HTTP exchange; any status comes back, no answer at all raises ``_Unreachable``."""
        headers = {"Accept": "application/json", "User-Agent": "aisec"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key_env:
            key = os.environ.get(self.api_key_env, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(
            self.base_url + path, data=body, headers=headers, method=method
        )
        try:
            try:
                with self._opener.open(request, timeout=self.timeout) as answer:
                    return _Response(
                        answer.status,
                        answer.read(),
                        answer.headers.get("Content-Type", ""),
                        _retry_after(answer.headers.get("Retry-After")),
                    )
            except urllib.error.HTTPError as exc:
                with exc:
                    return _Response(
                        exc.code,
                        exc.read(),
                        exc.headers.get("Content-Type", "") if exc.headers else "",
                        _retry_after(exc.headers.get("Retry-After") if exc.headers else None),
                    )
        except urllib.error.URLError as exc:
            raise _Unreachable(self._network_reason(exc.reason)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise _Unreachable(self._network_reason(exc)) from None

    def _network_reason(self, reason: object) -> str:
        """One line on why a request got no answer."""
        if isinstance(reason, TimeoutError):
            return f"timed out after {self.timeout:g} s"
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(reason, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(reason, ConnectionResetError):
            return "the connection was reset"
        if isinstance(reason, BaseException):
            return self._scrub(f"{type(reason).__name__}: {reason}")
        return self._scrub(str(reason))

    def _error_text(self, resp: _Response) -> str:
        """The error message in an answer's body, on one short line without the key."""
        data = _json(resp.body)
        message: object = None
        if isinstance(data, dict):
            error = data.get("error", data.get("detail", data.get("message")))
            message = error.get("message", error) if isinstance(error, dict) else error
        if message is None or message == "":
            message = resp.body.decode("utf-8", "replace") or "no message"
        return self._scrub(str(message))

    def _scrub(self, text: str) -> str:
        """``text`` on one short line, with the API key (should a server echo it) masked."""
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            text = text.replace(key, "***")
        return _one_line(text)


def _safe_url(url: str) -> str:
    """``url`` without any user name or password in it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _one_line(text: str, limit: int = 240) -> str:
    """Whitespace collapsed, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _json(body: bytes) -> Any:
    """The parsed body, or ``None`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _what_came(resp: _Response) -> str:
    """A short description of an unexpected body: its type and first characters."""
    start = _one_line(resp.body.decode("utf-8", "replace"), 40)
    return f"{resp.content_type or 'no content type'}, starting {start!r}"


def _usage(data: dict[str, Any]) -> tuple[int, int]:
    """Prompt and completion tokens an answer reports (0 where it does not)."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return 0, 0
    counts = []
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        counts.append(value if isinstance(value, int) and value >= 0 else 0)
    return counts[0], counts[1]


def _retry_after(value: str | None) -> float | None:
    """A numeric ``Retry-After`` in seconds (dates and junk are ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if seconds == seconds else None
