"""Greedy Coordinate Gradient (GCG): an adversarial suffix search on a white-box chat model.

Zou et al. (2023), "Universal and Transferable Adversarial Attacks on Aligned Language Models".
A suffix of ``suffix_tokens`` tokens is appended to the last user message; the attack minimises
the cross-entropy of a target answer (e.g. ``"Sure, here is"``) placed right after the generation
prompt. Each step

1. takes the gradient of that loss with respect to a one-hot encoding of the suffix tokens
   (the one-hot is multiplied into the input embedding matrix, so the gradient is exact for the
   linear relaxation of a token swap),
2. keeps, per suffix position, the ``topk`` tokens with the most negative gradient,
3. samples ``candidates`` suffixes that each swap one random position for one random token of
   its top-k, evaluates them all in one batched forward pass, and
4. moves to the candidate with the lowest loss.

Only tokens that decode to printable ASCII are searched, and a candidate whose text does not
re-tokenise to the same ids is dropped, so the suffix is a string that means what was optimised.

The sequence that is optimised and checked is the concatenation of separately tokenised pieces,
``[prefix][suffix][post][target]``, where prefix and post are the rendered conversation before
and after the suffix. The attack stops early once the greedy answer starts with the target.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from aisec.errors import DataError, ParameterError
from aisec.targets.views import Message

_OWNER = "gcg"
_PLACEHOLDER = "\u2063GCG-SUFFIX-PLACEHOLDER\u2063"
_OVERSAMPLE = 8
"""Candidates drawn per candidate kept, so that the round-trip filter rarely leaves too few."""
_MASKS: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], torch.Tensor]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class GCGSettings:
    """Budget and search width of one GCG run."""

    steps: int = 20
    """Optimisation steps (each one gradient pass and one batched candidate pass)."""
    suffix_tokens: int = 12
    """Length of the adversarial suffix in tokens, initialised to ``"! ! ! ..."``."""
    topk: int = 64
    """Tokens kept per suffix position, by most negative one-hot gradient."""
    candidates: int = 32
    """Single-token swaps evaluated per step, in one forward pass."""
    seed: int = 0
    """Seed of the candidate sampling."""

    def problems(self) -> list[str]:
        """Every constraint the settings violate (empty when they are valid)."""
        found = []
        for name, low in (("steps", 0), ("suffix_tokens", 1), ("topk", 1), ("candidates", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                found.append(f"{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            found.append(f"seed must be an integer, got {self.seed!r}")
        return found


@dataclass(frozen=True)
class GCGResult:
    """The best suffix found and how the search went."""

    suffix: str
    """The suffix text (appended to the last user message after a space)."""
    suffix_ids: tuple[int, ...]
    """Its token ids, as optimised."""
    loss_history: tuple[float, ...]
    """Best target loss after each step (non-increasing)."""
    initial_loss: float
    """Target loss of the initial ``"! ! ! ..."`` suffix."""
    final_loss: float
    """Target loss of the returned suffix."""
    steps_run: int
    """Steps taken (fewer than ``settings.steps`` after an early stop)."""
    forward_passes: int
    """Candidate sequences evaluated plus gradient passes."""
    success: bool
    """Whether the greedy answer to the optimised ids begins with the target."""
    answer: str
    """The greedy answer (up to the target's length plus 8 tokens)."""
    seconds: float
    """Wall-clock time of the run."""

    @property
    def loss_drop(self) -> float:
        """Fraction of the initial loss removed (0 when nothing improved)."""
        if self.initial_loss <= 0:
            return 0.0
        return 1.0 - self.final_loss / self.initial_loss


@dataclass(frozen=True)
class _Layout:
    """Token ids of the pieces around the suffix."""

    prefix: torch.Tensor
    post: torch.Tensor
    target: torch.Tensor


def _ids(tokenizer: Any, text: str) -> list[int]:
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids


def _layout(chat: Any, messages: Sequence[Message], target: str) -> _Layout:
    """Render the conversation with a placeholder suffix and tokenise the pieces around it."""
    conversation = list(messages)
    users = [i for i, m in enumerate(conversation) if m.role == "user"]
    if not users:
        raise DataError("GCG needs a conversation with a user message to append the suffix to")
    last = conversation[users[-1]]
    content = f"{last.content} {_PLACEHOLDER}" if last.content else _PLACEHOLDER
    conversation[users[-1]] = replace(last, content=content)
    rendered: str = chat.render(conversation)
    if rendered.count(_PLACEHOLDER) != 1:
        raise DataError("the chat template altered the user message; GCG cannot place a suffix")
    before, after = rendered.split(_PLACEHOLDER)
    tok = chat.tokenizer
    return _Layout(
        prefix=torch.tensor(_ids(tok, before), dtype=torch.long),
        post=torch.tensor(_ids(tok, after), dtype=torch.long),
        target=torch.tensor(_ids(tok, target), dtype=torch.long),
    )


def allowed_tokens(tokenizer: Any, vocab_rows: int) -> torch.Tensor:
    """Boolean mask over the embedding rows: tokens that decode to printable ASCII on their own,
    re-tokenise to themselves and are not special or added tokens (computed once per tokenizer
    and vocabulary size)."""
    key = (len(tokenizer), vocab_rows)
    try:
        cached = _MASKS.setdefault(tokenizer, {})
    except TypeError:  # a tokenizer that cannot be weakly referenced is not cached
        cached = {}
    if key not in cached:
        cached[key] = _allowed_tokens(tokenizer, vocab_rows)
    return cached[key].clone()


def _allowed_tokens(tokenizer: Any, vocab_rows: int) -> torch.Tensor:
    size = min(len(tokenizer), vocab_rows)
    texts = tokenizer.batch_decode([[i] for i in range(size)])
    again = tokenizer(texts, add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}))
    mask = torch.zeros(vocab_rows, dtype=torch.bool)
    for i, (text, ids) in enumerate(zip(texts, again, strict=True)):
        if text and i not in special and ids == [i] and all(" " <= c <= "~" for c in text):
            mask[i] = True
    return mask


class _Objective:
    """The teacher-forced target loss of suffixes, with gradients or in batches."""

    def __init__(self, model: Any, layout: _Layout) -> None:
        self.model = model
        self.layout = layout
        self.weight = model.get_input_embeddings().weight.detach()
        n = len(layout.target)
        self.keep = n + 1
        """Logits kept: the last ``n + 1`` positions predict the target (the very last is unused)."""

    def _target_loss(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy per row of the target tokens from the kept logits."""
        pred = logits[:, -self.keep : -1, :].float()
        target = self.layout.target.expand(pred.shape[0], -1)
        ce = torch.nn.functional.cross_entropy(pred.transpose(1, 2), target, reduction="none")
        return ce.mean(dim=1)

    def sequence(self, suffix: torch.Tensor) -> torch.Tensor:
        """The full ids ``[prefix][suffix][post][target]`` for a batch of suffixes."""
        rows = suffix.shape[0]
        lay = self.layout
        return torch.cat(
            [
                lay.prefix.expand(rows, -1),
                suffix,
                lay.post.expand(rows, -1),
                lay.target.expand(rows, -1),
            ],
            dim=1,
        )

    def gradient(self, suffix: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Gradient of the loss w.r.t. the one-hot of ``suffix`` (``n x vocab``), and the loss."""
        w = self.weight
        one_hot = torch.zeros(len(suffix), w.shape[0], dtype=w.dtype)
        one_hot.scatter_(1, suffix.unsqueeze(1), 1.0)
        one_hot.requires_grad_(True)
        lay = self.layout
        with torch.enable_grad():
            embeds = torch.cat(
                [w[lay.prefix], one_hot @ w, w[torch.cat([lay.post, lay.target])]], dim=0
            ).unsqueeze(0)
            logits = self.model(
                inputs_embeds=embeds, use_cache=False, logits_to_keep=self.keep
            ).logits
            loss = self._target_loss(logits)[0]
            (grad,) = torch.autograd.grad(loss, [one_hot])
        return grad, float(loss.detach())

    @torch.no_grad()
    def losses(self, suffixes: torch.Tensor) -> torch.Tensor:
        """Losses of a batch of suffixes in one forward pass."""
        ids = self.sequence(suffixes)
        logits = self.model(input_ids=ids, use_cache=False, logits_to_keep=self.keep).logits
        return self._target_loss(logits)

    @torch.no_grad()
    def greedy(self, suffix: torch.Tensor, new_tokens: int, tokenizer: Any) -> str:
        """The greedy answer to the prompt ids (without the target) with ``suffix``."""
        lay = self.layout
        prompt = torch.cat([lay.prefix, suffix, lay.post]).unsqueeze(0)
        out = self.model.generate(
            input_ids=prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=tokenizer.pad_token_id,
        )
        text: str = tokenizer.decode(out[0, prompt.shape[1] :], skip_special_tokens=True)
        return text


def _starts_with(answer: str, target: str) -> bool:
    return answer.strip().startswith(target.strip())


def _keep(tokenizer: Any, suffixes: torch.Tensor, count: int) -> torch.Tensor:
    """The first ``count`` distinct suffixes whose decoded text re-tokenises to the same ids."""
    rows = suffixes.tolist()
    again = tokenizer(tokenizer.batch_decode(rows), add_special_tokens=False)["input_ids"]
    seen: set[tuple[int, ...]] = set()
    kept: list[int] = []
    for i, (row, ids) in enumerate(zip(rows, again, strict=True)):
        key = tuple(row)
        if ids == row and key not in seen:
            seen.add(key)
            kept.append(i)
            if len(kept) == count:
                break
    return suffixes[kept]


def _sample(
    suffix: torch.Tensor,
    top: torch.Tensor,
    count: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """``count`` copies of ``suffix``, each with one random position swapped for a random one of
    that position's top-k tokens."""
    n, k = top.shape
    positions = torch.randint(0, n, (count,), generator=generator)
    picks = torch.randint(0, k, (count,), generator=generator)
    out = suffix.unsqueeze(0).repeat(count, 1)
    out[torch.arange(count), positions] = top[positions, picks]
    return out


def _initial_suffix(tokenizer: Any, length: int) -> torch.Tensor:
    """``"! ! ! ..."`` as ``length`` tokens (repeated ``!`` tokens if spaces merge otherwise)."""
    ids = _ids(tokenizer, " ".join(["!"] * length))
    if len(ids) != length:
        ids = _ids(tokenizer, "!")[:1] * length
    return torch.tensor(ids, dtype=torch.long)


def gcg_suffix(
    chat: Any, messages: Sequence[Message], target: str, settings: GCGSettings | None = None
) -> GCGResult:
    """Search an adversarial suffix for the last user message that makes ``chat`` answer with
    ``target`` (a :class:`~aisec.targets.transformers_chat.TransformersChat` or anything with
    ``model``, ``tokenizer`` and ``render``)."""
    settings = settings or GCGSettings()
    problems = settings.problems()
    if not isinstance(target, str) or not target.strip():
        problems.append("target must be a non-empty string, e.g. 'Sure, here is'")
    if problems:
        raise ParameterError(_OWNER, problems)
    started = time.perf_counter()
    tokenizer = chat.tokenizer
    layout = _layout(chat, messages, target)
    if len(layout.target) == 0:
        raise ParameterError(_OWNER, ["target tokenises to no tokens; give a visible string"])
    objective = _Objective(chat.model, layout)
    vocab_rows = objective.weight.shape[0]
    allowed = allowed_tokens(tokenizer, vocab_rows)
    generator = torch.Generator().manual_seed(settings.seed)
    n_target = len(layout.target)

    current = _initial_suffix(tokenizer, settings.suffix_tokens)
    best, best_loss = current.clone(), float("inf")
    initial_loss = float("nan")
    history: list[float] = []
    passes = 0
    steps_run = 0
    for step in range(settings.steps):
        grad, loss = objective.gradient(current)
        passes += 1
        if step == 0:
            initial_loss = best_loss = loss
            if _starts_with(objective.greedy(best, n_target, tokenizer), target):
                break
        grad[:, ~allowed] = float("inf")
        grad[torch.arange(len(current)), current] = float("inf")
        top = (-grad).topk(min(settings.topk, int(allowed.sum())), dim=1).indices
        pool = _sample(current, top, settings.candidates * _OVERSAMPLE, generator)
        pool = _keep(tokenizer, pool, settings.candidates)
        steps_run += 1
        if len(pool) == 0:
            history.append(best_loss)
            continue
        losses = objective.losses(pool)
        passes += len(pool)
        pick = int(losses.argmin())
        current = pool[pick].clone()
        if float(losses[pick]) < best_loss:
            best, best_loss = current.clone(), float(losses[pick])
        history.append(best_loss)
        if _starts_with(objective.greedy(best, n_target, tokenizer), target):
            break
    if settings.steps == 0:
        initial_loss = best_loss = float(objective.losses(current.unsqueeze(0))[0])
        passes += 1

    answer = objective.greedy(best, n_target + 8, tokenizer)
    return GCGResult(
        suffix=tokenizer.decode(best.tolist()),
        suffix_ids=tuple(int(i) for i in best.tolist()),
        loss_history=tuple(history),
        initial_loss=initial_loss,
        final_loss=best_loss,
        steps_run=steps_run,
        forward_passes=passes,
        success=_starts_with(answer, target),
        answer=answer.strip(),
        seconds=time.perf_counter() - started,
    )
