"""Output hardening: reveal less per query (rounded scores, top-k scores, labels only).

Membership inference and extraction feed on confidence scores; an API that rounds them, masks
all but the top classes or answers labels only leaks less, at no cost to the label honest users
read (rounding can only create ties). :class:`HardenedOutputs` wraps any classifier so that the
privacy tests measure exactly what the hardened deployment reveals, and
:func:`deploy_like` gives the attacker's reference models the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aisec.errors import ConfigError
from aisec.targets.base import Capability, InputSpec, OutputMode, Target
from aisec.targets.views import Classifier


@dataclass
class HardenedOutputs:
    """A classifier whose probabilities are rounded to ``decimals`` and/or cut to the top ``k``.

    Rounding follows the deployment practice of returning fixed-precision scores; the top answer
    of a tie is the lowest class index, as ``argmax`` reads it.
    """

    base: Classifier
    """The classifier whose full probabilities are hardened."""
    decimals: int | None = None
    """Decimals kept (None: no rounding)."""
    top_k: int | None = None
    """Classes whose score is revealed (the rest read 0; None: all)."""

    def __post_init__(self) -> None:
        if self.decimals is not None and not 0 <= self.decimals <= 12:
            raise ConfigError([f"output hardening: decimals must be 0..12; got {self.decimals}"])
        if self.top_k is not None and not 1 <= self.top_k <= self.base.spec.n_classes:
            raise ConfigError(
                [f"output hardening: top_k must be 1..{self.base.spec.n_classes}; got {self.top_k}"]
            )
        self._full = self.base.with_output_mode(OutputMode.PROBABILITIES)

    @property
    def name(self) -> str:
        """The base target's name."""
        return self.base.name

    @property
    def spec(self) -> InputSpec:
        """The base target's input spec."""
        return self.base.spec

    @property
    def output_mode(self) -> OutputMode:
        """Always ``probabilities`` (hardened)."""
        return OutputMode.PROBABILITIES

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Scores and labels (never gradients: the rounding has none)."""
        caps = {Capability.SCORES, Capability.LABELS}
        if Capability.TRAINABLE in self.base.capabilities:
            caps.add(Capability.TRAINABLE)
        return frozenset(caps)

    @property
    def recipe(self) -> Any:
        """The base target's recipe (so references train like it)."""
        return getattr(self.base, "recipe", None)

    @property
    def queries(self) -> int:
        """Queries answered (shared with the base target)."""
        return self.base.queries

    def reset_queries(self) -> None:
        """Zero the query counter."""
        self.base.reset_queries()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Hardened probabilities."""
        return self.harden(np.asarray(self._full.predict(x), dtype=np.float64))

    def harden(self, probs: np.ndarray) -> np.ndarray:
        """Apply the hardening to full probabilities."""
        out = probs
        if self.top_k is not None and self.top_k < out.shape[1]:
            keep = np.argsort(-out, axis=1, kind="stable")[:, : self.top_k]
            masked = np.zeros_like(out)
            np.put_along_axis(masked, keep, np.take_along_axis(out, keep, axis=1), axis=1)
            out = masked
        if self.decimals is not None:
            out = np.round(out, self.decimals)
        return out

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """The label an honest user reads from the hardened answer."""
        return self.predict(x).argmax(axis=1)

    def with_output_mode(self, mode: OutputMode | str) -> Classifier:
        """``probabilities``: this view; any other mode: the base target in that mode."""
        mode = OutputMode(mode)
        if mode is OutputMode.PROBABILITIES:
            return self
        return self.base.with_output_mode(mode)

    def describe(self) -> dict[str, Any]:
        """The base target's facts plus the hardening."""
        return {
            **self.base.describe(),
            "output_hardening": {"decimals": self.decimals, "top_k": self.top_k},
        }


def parse_mode(mode: str) -> tuple[OutputMode, int | None]:
    """``logits`` / ``probabilities`` / ``top1_probability`` / ``label_only`` / ``rounded-K``
    (K decimals); ``top-K`` (the K highest scores) parses through :func:`parse_hardening`."""
    base, decimals, _ = parse_hardening(mode)
    return base, decimals


def parse_hardening(mode: str) -> tuple[OutputMode, int | None, int | None]:
    """An output mode name as ``(base mode, decimals, top_k)``."""
    for prefix, what in (("rounded-", "decimals"), ("top-", "classes")):
        if mode.startswith(prefix):
            k = mode.removeprefix(prefix)
            if not k.isdigit():
                raise ConfigError(
                    [f"output mode {mode!r}: use {prefix}K with K {what}, e.g. {prefix}2"]
                )
            if prefix == "rounded-":
                return OutputMode.PROBABILITIES, int(k), None
            return OutputMode.PROBABILITIES, None, int(k)
    try:
        return OutputMode(mode), None, None
    except ValueError:
        options = ", ".join(m.value for m in OutputMode)
        raise ConfigError(
            [f"unknown output mode {mode!r}; use one of {options}, rounded-K or top-K"]
        ) from None


def deploy_mode(target: Classifier, mode: str) -> Classifier:
    """``target`` answering in ``mode`` (``rounded-K`` and ``top-K`` included)."""
    base_mode, decimals, top_k = parse_hardening(mode)
    if decimals is None and top_k is None:
        return target.with_output_mode(base_mode)
    return HardenedOutputs(
        target.with_output_mode(OutputMode.PROBABILITIES), decimals=decimals, top_k=top_k
    )


def deploy_like(target: Classifier, model: Target) -> Classifier:
    """``model`` answering as ``target`` does: same output mode, same hardening."""
    from aisec.targets.views import classifier

    view = classifier(model, "reference model")
    if isinstance(target, HardenedOutputs):
        return HardenedOutputs(view, decimals=target.decimals, top_k=target.top_k)
    return view.with_output_mode(target.output_mode)
