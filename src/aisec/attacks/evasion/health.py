"""Signs of gradient masking that a gradient attack sees in its own loss and gradients.

A gradient attack that reports a point as robust is only right if its gradients could have
found an adversarial. Four signs say they could not (Athalye et al., ICML 2018; Carlini et al.,
arXiv:1902.06705, section 5; AutoAttack's automatic checks):

* **saturated**: the softmax is exactly one-hot in float32, so the cross-entropy and its
  gradient are exactly zero (logits scaled up, or a final softmax applied twice);
* **zero gradient**: the loss is not saturated but its input gradient is exactly zero
  (quantising or otherwise non-differentiable preprocessing, a step function);
* **non-finite**: the logits, the loss or the gradient hold NaN or infinity;
* **no progress**: over a whole run neither did the loss rise above its first value nor did the
  margin (the true class's logit minus the best other, or the best other minus the target's)
  fall below its first value. Both are watched: a confident point's cross-entropy is exactly
  zero in float32 while its margin still moves, and a ratio loss such as DLR can rise while
  the margin stays put.

The attack feeds every gradient pass to :class:`GradientHealth`; at the end of the run the base
counts the signs on the points the attack left unbroken (broken points prove their gradients
worked) and rule EVA-002 turns them into a finding that says which attack to run instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from aisec.attacks.evasion.gradients import loss_and_grad
from aisec.attacks.evasion.losses import margin
from aisec.records.evasion import GradientSigns

if TYPE_CHECKING:
    from aisec.targets.views import Differentiable

PROGRESS_TOLERANCE = 1e-6
"""Relative fall of the margin below its first value under which a run made no progress."""


@dataclass
class GradientHealth:
    """Per-point signs of gradient masking over the points of one attack pass.

    Positions index the points the pass was given (``x`` of ``_perturb``); attacks that split
    points into batches or runs pass the positions of each batch.
    """

    n: int
    saturated: np.ndarray = field(init=False)
    zero_gradient: np.ndarray = field(init=False)
    non_finite: np.ndarray = field(init=False)
    progressed: np.ndarray = field(init=False)
    passes: np.ndarray = field(init=False)
    switched: np.ndarray = field(init=False)
    not_found: np.ndarray = field(init=False)
    _first: np.ndarray = field(init=False, repr=False)
    _first_loss: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.saturated = np.zeros(self.n, dtype=bool)
        self.zero_gradient = np.zeros(self.n, dtype=bool)
        self.non_finite = np.zeros(self.n, dtype=bool)
        self.progressed = np.zeros(self.n, dtype=bool)
        self.passes = np.zeros(self.n, dtype=np.int64)
        self.switched = np.zeros(self.n, dtype=bool)
        self.not_found = np.zeros(self.n, dtype=bool)
        self._first = np.full(self.n, np.nan)
        self._first_loss = np.full(self.n, np.nan)

    def begin_run(self, positions: torch.Tensor | np.ndarray) -> None:
        """A new run (restart or target class) starts on ``positions``: progress is per run."""
        self._first[_np(positions)] = np.nan
        self._first_loss[_np(positions)] = np.nan

    def observe(
        self,
        positions: torch.Tensor | np.ndarray,
        logits: torch.Tensor,
        loss: torch.Tensor,
        grad: torch.Tensor,
        y: torch.Tensor,
        y_target: torch.Tensor | None = None,
        *,
        softmax_loss: bool = True,
    ) -> None:
        """Record one gradient pass over the points at ``positions``.

        ``y`` and ``y_target`` (None: untargeted success) define the margin whose fall is
        progress. ``softmax_loss`` False: the loss reads logits directly (a margin), so a
        saturated softmax does not hide its gradient and is not a sign.
        """
        pos = _np(positions)
        if not len(pos):
            return
        with torch.no_grad():
            lg = logits.detach()
            finite = (
                torch.isfinite(lg).all(1)
                & torch.isfinite(loss.detach())
                & torch.isfinite(grad.reshape(len(grad), -1)).all(1)
            )
            sat = saturated_softmax(lg) & finite if softmax_loss else torch.zeros_like(finite)
            flat = grad.detach().reshape(len(grad), -1).abs().amax(1) == 0
        self.non_finite[pos] |= ~finite.cpu().numpy()
        self.saturated[pos] |= sat.cpu().numpy()
        self.zero_gradient[pos] |= (flat & finite & ~sat).cpu().numpy()
        value = margin(lg.double(), y.to(lg.device), _on(y_target, lg)).cpu().numpy()
        first = self._first[pos]
        fresh = np.isnan(first)
        first = np.where(fresh, value, first)
        self._first[pos] = first
        fall = first - value > PROGRESS_TOLERANCE * (1 + np.abs(first))
        lv = loss.detach().double().cpu().numpy()
        first_loss = np.where(np.isnan(self._first_loss[pos]), lv, self._first_loss[pos])
        self._first_loss[pos] = first_loss
        rise = lv - first_loss > PROGRESS_TOLERANCE * (1 + np.abs(first_loss))
        self.progressed[pos] |= (fall & np.isfinite(value)) | (rise & np.isfinite(lv))
        self.passes[pos] += 1

    def mark_switched(self, positions: torch.Tensor | np.ndarray) -> None:
        """The attack replaced a saturated cross-entropy by a margin loss on these points."""
        self.switched[_np(positions)] = True

    def merge(self, other: GradientHealth, positions: np.ndarray) -> None:
        """Fold a pass's health (over ``positions`` of this one) into this one."""
        self.saturated[positions] |= other.saturated
        self.zero_gradient[positions] |= other.zero_gradient
        self.non_finite[positions] |= other.non_finite
        self.progressed[positions] |= other.progressed
        self.switched[positions] |= other.switched
        self.not_found[positions] |= other.not_found
        self.passes[positions] += other.passes

    def signs(
        self, unbroken: np.ndarray, attack: str, attacked: np.ndarray, unbounded: bool = False
    ) -> GradientSigns:
        """Counts of the signs on the ``unbroken`` points.

        A switched point counts as saturated only if the margin loss made no progress either.
        ``unbounded``: a minimum-norm search without a budget, where each unbroken point is a
        point for which no adversarial was found at all.
        """
        seen = unbroken & (self.passes > 0)
        stalled = seen & ~self.progressed & (self.passes >= 2)
        saturated = seen & self.saturated & ~(self.switched & self.progressed)
        zero = seen & self.zero_gradient & ~self.progressed
        nonfinite = seen & self.non_finite
        missing = unbroken & attacked if unbounded else np.zeros_like(unbroken)
        flagged = saturated | zero | nonfinite | stalled | missing
        return GradientSigns(
            attack=attack,
            unbroken=int(seen.sum()),
            flagged=int(flagged.sum()),
            saturated=int(saturated.sum()),
            zero_gradient=int(zero.sum()),
            non_finite=int(nonfinite.sum()),
            no_progress=int(stalled.sum()),
            switched_to_margin=int((self.switched & unbroken).sum()),
            not_found=int(missing.sum()),
            attacked=int(attacked.sum()),
            unbounded=unbounded,
        )

    def probe(
        self,
        target: Differentiable,
        positions: np.ndarray,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        """One margin-loss gradient pass at ``x``, observed: for attacks that do not report
        their own passes (the minimum-norm attacks, which read logit differences), the clean
        points' gradients are checked for zeros and non-finite values."""
        bs = target.batch_size
        for s in range(0, len(x), bs):
            yb = y[s : s + bs]
            logits, loss, grad = loss_and_grad(target, x[s : s + bs], yb, None, _margin_loss)
            self.observe(positions[s : s + bs], logits, loss, grad, yb, softmax_loss=False)


def _margin_loss(
    logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None
) -> torch.Tensor:
    return -margin(logits, y, y_target)


def saturated_softmax(logits: torch.Tensor) -> torch.Tensor:
    """Rows whose softmax is exactly one-hot (every other class at exactly zero probability)."""
    if logits.shape[1] < 2:
        return torch.zeros(len(logits), dtype=torch.bool, device=logits.device)
    top2 = logits.softmax(1).topk(2, dim=1).values
    return top2[:, 1] == 0


def _on(t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    return None if t is None else t.to(like.device)


def _np(positions: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(positions, torch.Tensor):
        return positions.detach().cpu().numpy()
    return np.asarray(positions)
