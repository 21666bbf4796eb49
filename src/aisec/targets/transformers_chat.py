"""A local chat model run through transformers, answering many conversations per forward pass.

Conversations are rendered with the tokenizer's chat template, sorted by length so that a batch
pads little, left-padded and generated together (greedy by default, or sampled with a seed).
The module itself is readable, so white-box attacks (adversarial suffixes) reach the input
embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from aisec.targets.base import Capability, QueryCounter
from aisec.targets.views import (
    ChatReply,
    ChatSpec,
    Message,
    as_user_turn,
    deployed_conversation,
)


@dataclass
class TransformersChat:
    """A causal language model and its tokenizer, as a :class:`~aisec.targets.views.ChatModel`."""

    model: Any
    """A transformers causal LM (``PreTrainedModel``), in eval mode."""
    tokenizer: Any
    """Its tokenizer, with a chat template."""
    chat_spec: ChatSpec
    """Context length, system prompt and tools of the deployment."""
    name: str = "local-llm"
    source: str = ""
    """Where the weights come from, for reports."""
    batch_size: int = 8
    """Conversations generated together."""
    temperature: float = 0.0
    """0 for greedy decoding; above 0 samples with ``seed``."""
    seed: int = 0
    """Seed of sampled decoding (each batch reseeds from it, so answers repeat)."""
    prompt_tokens: int = 0
    """Prompt tokens processed so far."""
    completion_tokens: int = 0
    """Tokens generated so far."""
    _counter: QueryCounter = field(default_factory=QueryCounter, repr=False)

    def __post_init__(self) -> None:
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Text generation (the module is readable for white-box attacks)."""
        return frozenset({Capability.TEXT})

    @property
    def queries(self) -> int:
        """Conversations answered so far."""
        return self._counter.count

    def reset_queries(self) -> None:
        """Zero the query and token counters."""
        self._counter.count = 0
        self.prompt_tokens = self.completion_tokens = 0

    def add_queries(self, n: int) -> None:
        """Count ``n`` further queries (white-box attacks count their forward passes)."""
        self._counter.count += n

    def chat(self, messages: Sequence[Message]) -> str:
        """The assistant's answer to one conversation."""
        return self.chat_batch([messages])[0].text

    def chat_batch(self, conversations: Sequence[Sequence[Message]]) -> list[ChatReply]:
        """Answers in input order, generated ``batch_size`` at a time."""
        rendered = [self.render(c) for c in conversations]
        # characters stand in for tokens when grouping similar lengths (no second tokenisation)
        order = sorted(range(len(rendered)), key=lambda i: len(rendered[i]))
        replies: dict[int, ChatReply] = {}
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for i, reply in zip(chunk, self._generate([rendered[i] for i in chunk]), strict=True):
                replies[i] = reply
        self._counter.count += len(conversations)
        return [replies[i] for i in range(len(conversations))]

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text of a conversation (system prompt first, generation prompt last)."""
        conversation = deployed_conversation(self.name, self.chat_spec, messages)
        turns = [as_user_turn(m) for m in conversation]
        text: str = self.tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=True
        )
        return text

    def _generate(self, prompts: list[str]) -> list[ChatReply]:
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        budget = self.chat_spec.context_length - enc["input_ids"].shape[1]
        if budget < 1:
            return [
                ChatReply("", "errored", f"prompt longer than the context ({budget} tokens left)")
            ] * len(prompts)
        kwargs: dict[str, Any] = {
            "max_new_tokens": min(self.chat_spec.max_new_tokens, budget),
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if self.temperature > 0:
            torch.manual_seed(self.seed)
            kwargs.update(do_sample=True, temperature=self.temperature)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        replies = []
        for row, mask in zip(new, enc["attention_mask"], strict=True):
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            generated = int((row != self.tokenizer.pad_token_id).sum())
            self.prompt_tokens += int(mask.sum())
            self.completion_tokens += generated
            replies.append(ChatReply.of(text.strip(), int(mask.sum()), generated))
        return replies

    def describe(self) -> dict[str, Any]:
        """Facts about the target for reports (the system prompt itself is not disclosed)."""
        return {
            "name": self.name,
            "kind": "chat",
            "source": self.source,
            "context_length": self.chat_spec.context_length,
            "max_new_tokens": self.chat_spec.max_new_tokens,
            "decoding": "greedy" if self.temperature == 0 else f"sampled (T={self.temperature})",
            "has_system_prompt": bool(self.chat_spec.system_prompt),
            "tools": list(self.chat_spec.tools),
            "capabilities": sorted(c.value for c in self.capabilities),
        }
