"""Capability views: checking a capability hands back a typed view of the target.

The core :class:`~aisec.targets.base.Target` is what every technology level shares. What an
attack may do beyond that depends on the capabilities the target declares, and each capability
comes with a view that carries exactly the methods it grants:

========================  =====================================  ==============================
function                  capability                             view
========================  =====================================  ==============================
:func:`classifier`        ``labels`` (or ``scores``)             :class:`Classifier`
:func:`differentiable`    ``gradients``                          :class:`Differentiable`
:func:`white_box`         ``gradients`` (a readable module)      :class:`WhiteBox`
:func:`trainable`         ``trainable``                          :class:`Trainable`
:func:`chat_model`        ``text``                               :class:`ChatModel`
========================  =====================================  ==============================

A target that lacks the capability gets a :class:`~aisec.errors.CapabilityError` naming what
it offers; a target that declares a capability without implementing its view gets a
:class:`~aisec.errors.TargetError` naming the missing methods. Attacks therefore never reach
past the protocol with ``getattr`` or casts.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from aisec.errors import TargetError
from aisec.targets.base import Capability, InputSpec, OutputMode, Target, require

if TYPE_CHECKING:
    import torch
    from torch import nn

    from aisec.targets.recipes import TrainingRecipe


@runtime_checkable
class Classifier(Target, Protocol):
    """A classifier answering in its deployment's output mode (any technology level)."""

    spec: InputSpec
    """Shape, bounds and classes of its inputs."""
    output_mode: OutputMode
    """What one query reveals."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Answer a batch as the deployment would: scores or labels per ``output_mode``."""
        ...

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels (counts as queries)."""
        ...

    def with_output_mode(self, mode: OutputMode | str) -> Classifier:
        """A view of the same model revealing only what ``mode`` reveals."""
        ...


@runtime_checkable
class Differentiable(Classifier, Protocol):
    """A classifier whose logits are differentiable with respect to its inputs (white-box)."""

    batch_size: int
    """Largest batch one forward/backward pass should take."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable logits for a batch; counts ``len(x)`` queries."""
        ...

    def logits_batched(self, x: torch.Tensor) -> torch.Tensor:
        """Logits without gradient, computed in batches of ``batch_size``."""
        ...


@runtime_checkable
class WhiteBox(Differentiable, Protocol):
    """A differentiable classifier whose module and learned features can be read and replaced
    (forensics, data-set defences and pruning need them)."""

    model: nn.Module
    """The network itself."""

    def representations(self, x: np.ndarray) -> np.ndarray:
        """Activations entering the classification head, one row per input."""
        ...

    def with_model(self, model: nn.Module) -> WhiteBox:
        """The same deployment around another module (e.g. a pruned copy)."""
        ...


@runtime_checkable
class _HasRecipe(Protocol):
    recipe: TrainingRecipe | None


@dataclass(frozen=True)
class Trainable:
    """A target whose training procedure is known, so the same model can be trained again."""

    target: Target
    """The target itself."""
    recipe: TrainingRecipe
    """How to train the same architecture on other data."""

    def train(self, x: np.ndarray, y: np.ndarray, seed: int) -> Target:
        """Train a fresh copy of the architecture on ``(x, y)``."""
        trained: Target = self.recipe.train(x, y, seed)
        return trained


Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    """Who speaks: ``system``, ``user``, ``assistant`` or ``tool``."""
    content: str
    """What was said."""


@dataclass(frozen=True)
class ChatSpec:
    """What a chat model is deployed with (its spec is not an image shape)."""

    context_length: int
    """Tokens the model attends to (prompt and answer together)."""
    system_prompt: str = ""
    """The deployment's system prompt, when the assessor knows it (it is a secret to leak)."""
    tools: tuple[str, ...] = ()
    """Names of the tools the application lets the model call."""
    max_new_tokens: int = 256
    """Longest answer one query may produce."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Anything else worth reporting (model name, temperature)."""


ReplyStatus = Literal["ok", "empty", "errored", "blocked"]
"""What became of one query: an answer, an empty answer, an error (after retries), or a refusal
by the serving layer (a content filter or policy block, not the model's own words)."""


@dataclass(frozen=True)
class ChatReply:
    """The answer to one conversation, with what became of the query.

    Errored, blocked and empty replies are kept apart from answers, so that a probe that never
    reached the model is not scored as an attack that failed.
    """

    text: str
    """The assistant's text (empty unless ``status`` is ``ok``)."""
    status: ReplyStatus = "ok"
    """``ok``, ``empty``, ``errored`` or ``blocked``."""
    error: str = ""
    """Why the query errored or was blocked (one line)."""
    prompt_tokens: int = 0
    """Tokens of the prompt, when the model reports them."""
    completion_tokens: int = 0
    """Tokens of the answer, when the model reports them."""

    @classmethod
    def of(cls, text: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> ChatReply:
        """An answer, ``empty`` when it holds only whitespace."""
        status: ReplyStatus = "ok" if text.strip() else "empty"
        return cls(text if text.strip() else "", status, "", prompt_tokens, completion_tokens)

    @property
    def answered(self) -> bool:
        """Whether the model produced text that a detector can score."""
        return self.status == "ok"


@runtime_checkable
class ChatModel(Target, Protocol):
    """A model that answers a conversation with text (large language models, agents)."""

    chat_spec: ChatSpec
    """Context length, system prompt and tools of the deployment."""

    def chat(self, messages: Sequence[Message]) -> str:
        """The assistant's answer to a conversation; counts one query."""
        ...

    def chat_batch(self, conversations: Sequence[Sequence[Message]]) -> list[ChatReply]:
        """Answers to many conversations (batched or concurrent as the model allows); counts one
        query each. A failed query is an ``errored`` reply, not an exception."""
        ...


def deployed_conversation(name: str, spec: ChatSpec, messages: Sequence[Message]) -> list[Message]:
    """The conversation a chat deployment answers: non-empty (else a TargetError naming the
    model), with the deployment's system prompt first unless it opens with one of its own."""
    conversation = list(messages)
    if not conversation:
        raise TargetError(f"chat model {name!r} got an empty conversation; send a message")
    if spec.system_prompt and conversation[0].role != "system":
        conversation.insert(0, Message("system", spec.system_prompt))
    return conversation


def as_user_turn(message: Message) -> dict[str, str]:
    """A message as a chat template or endpoint takes it: a ``tool`` message becomes a user turn
    prefixed ``[tool output]`` (many templates and servers have no bare tool role)."""
    if message.role == "tool":
        return {"role": "user", "content": f"[tool output]\n{message.content}"}
    return {"role": message.role, "content": message.content}


def classifier(target: Target, what: str) -> Classifier:
    """The target as a :class:`Classifier` (it must reveal at least labels)."""
    require(target, [Capability.LABELS], what)
    if not isinstance(target, Classifier):
        raise _missing(target, Classifier, "labels", what)
    return target


def differentiable(target: Target, what: str) -> Differentiable:
    """The target as a :class:`Differentiable` classifier (capability ``gradients``)."""
    require(target, [Capability.GRADIENTS], what)
    if not isinstance(target, Differentiable):
        raise _missing(target, Differentiable, "gradients", what)
    return target


def white_box(target: Target, what: str) -> WhiteBox:
    """The target as a :class:`WhiteBox` (gradients, and a module whose layers can be read)."""
    require(target, [Capability.GRADIENTS], what)
    if not isinstance(target, WhiteBox):
        raise _missing(target, WhiteBox, "gradients", what)
    return target


def trainable(target: Target, what: str) -> Trainable:
    """The target with its typed training recipe (capability ``trainable``)."""
    require(target, [Capability.TRAINABLE], what)
    recipe = target.recipe if isinstance(target, _HasRecipe) else None
    if recipe is None:
        raise TargetError(
            f"target {target.name!r} declares `trainable` but has no `recipe`; give it a "
            f"TrainingRecipe or drop the capability ({what})"
        )
    return Trainable(target, recipe)


def chat_model(target: Target, what: str) -> ChatModel:
    """The target as a :class:`ChatModel` (capability ``text``)."""
    require(target, [Capability.TEXT], what)
    if not isinstance(target, ChatModel):
        raise _missing(target, ChatModel, "text", what)
    return target


def _missing(target: Target, view: type, capability: str, what: str) -> TargetError:
    names = [n for n in _members(view) if not hasattr(target, n)]
    return TargetError(
        f"target {target.name!r} declares `{capability}` but lacks "
        f"{', '.join(names) or 'the methods'} of the {view.__name__} view ({what}); implement "
        "them in its adapter"
    )


def _members(view: type) -> list[str]:
    """Public attributes and methods a protocol view declares (its bases' included)."""
    attrs: set[str] = set()
    for klass in view.__mro__:
        if klass is object or klass is Protocol or klass.__name__ == "Generic":
            continue
        attrs.update(k for k in inspect.get_annotations(klass) if not k.startswith("_"))
        attrs.update(k for k, v in vars(klass).items() if callable(v) and not k.startswith("_"))
    return sorted(attrs)
