"""Adapter for chat models given as a Python function of the conversation.

Any client (a local model, an HTTP API, an agent framework) becomes a target by handing its
``messages -> answer`` function to :class:`FunctionChatModel`; aisec adds the spec, query
counting and the ``text`` capability.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aisec.errors import TargetError
from aisec.targets.base import Capability, QueryCounter
from aisec.targets.views import ChatReply, ChatSpec, Message, deployed_conversation


@dataclass
class FunctionChatModel:
    """A chat model behind a function ``answer(messages) -> str``.

    The deployment's system prompt, when the spec has one, is put first in every conversation
    that does not start with a system message, as the application would.
    """

    answer: Callable[[Sequence[Message]], str]
    """The model: the conversation in, the assistant's text out."""
    chat_spec: ChatSpec
    """Context length, system prompt and tools of the deployment."""
    name: str = "chat-model"
    source: str = ""
    """Where the model comes from (endpoint, model name), for reports."""
    _counter: QueryCounter = field(default_factory=QueryCounter, repr=False)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Text generation."""
        return frozenset({Capability.TEXT})

    @property
    def queries(self) -> int:
        """Conversations answered so far."""
        return self._counter.count

    def reset_queries(self) -> None:
        """Zero the query counter."""
        self._counter.count = 0

    def chat(self, messages: Sequence[Message]) -> str:
        """The assistant's answer (one query)."""
        conversation = deployed_conversation(self.name, self.chat_spec, messages)
        self._counter.count += 1
        text = self.answer(conversation)
        if not isinstance(text, str):
            raise TargetError(
                f"chat model {self.name!r} answered {type(text).__name__}, not text; "
                "its function must return a str"
            )
        return text

    def chat_batch(self, conversations: Sequence[Sequence[Message]]) -> list[ChatReply]:
        """Answers one after another; an error of the function becomes an ``errored`` reply."""
        out: list[ChatReply] = []
        for conversation in conversations:
            try:
                out.append(ChatReply.of(self.chat(conversation)))
            except TargetError:
                raise
            except Exception as exc:  # the user's function failed on this conversation only
                out.append(ChatReply("", "errored", f"{type(exc).__name__}: {exc}"))
        return out

    def describe(self) -> dict[str, Any]:
        """Facts about the target for reports (the system prompt itself is not disclosed)."""
        return {
            "name": self.name,
            "kind": "chat",
            "source": self.source,
            "context_length": self.chat_spec.context_length,
            "has_system_prompt": bool(self.chat_spec.system_prompt),
            "tools": list(self.chat_spec.tools),
            "capabilities": sorted(c.value for c in self.capabilities),
        }
