"""Reference (shadow) models: the target's recipe trained on random halves of the pool.

LiRA, RMIA and the shadow-model attack compare the target's answer on a point with the answers
of models trained the same way with and without that point. Every pool point is in exactly half
of the ``k`` reference models (the paper's balanced design), so each point has ``k / 2`` "in"
and ``k / 2`` "out" models. Records known to the attacker that are not under test (the rest of
the training split, ``aux``) are in every reference model, so references train on as many
records as the target did. The sweep runs through the recipe's batched form when it has one, and
is kept in memory for the other attacks and units of the same run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from aisec import progress
from aisec.errors import TargetError
from aisec.targets.base import Capability, Target
from aisec.targets.views import Trainable

_MEMO: dict[str, ReferenceSweep] = {}
_MEMO_SIZE = 4


@dataclass(frozen=True)
class ReferenceSweep:
    """``k`` trained reference models and which pool points each one trained on."""

    models: tuple[Target, ...]
    """The trained references."""
    masks: np.ndarray
    """``(k, n_pool)`` booleans: reference ``j`` trained on pool point ``i``."""


def balanced_masks(k: int, n: int, seed: int) -> np.ndarray:
    """``(k, n)`` masks in which every column holds exactly ``k // 2`` trues."""
    rng = np.random.default_rng(seed)
    order = rng.random((k, n)).argsort(axis=0)
    return order < k // 2


def reference_sweep(
    view: Trainable,
    pool_x: np.ndarray,
    pool_y: np.ndarray,
    aux_x: np.ndarray | None,
    aux_y: np.ndarray | None,
    k: int,
    seed: int,
) -> ReferenceSweep:
    """Train (or take from this run's memory) ``k`` references on balanced halves of the pool."""
    key = _key(view, pool_x, pool_y, aux_x, aux_y, k, seed)
    if key in _MEMO:
        return _MEMO[key]
    masks = balanced_masks(k, len(pool_x), seed)
    n_aux = 0 if aux_x is None else len(aux_x)
    x = pool_x if aux_x is None else np.concatenate([aux_x, pool_x])
    y = pool_y if aux_y is None else np.concatenate([aux_y, pool_y])
    full = np.concatenate([np.ones((k, n_aux), dtype=bool), masks], axis=1)
    seeds = [seed * 1000 + 1 + j for j in range(k)]
    progress.note(f"training {k} reference models through {view.recipe.name}")
    models = tuple(view.recipe.train_all(x, y, full, seeds))
    for m in models:
        if Capability.LABELS not in m.capabilities:
            raise TargetError(
                f"the training recipe {view.recipe.name!r} returned a model that answers no "
                "labels; a recipe must return a classifier target"
            )
    sweep = ReferenceSweep(models, masks)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = sweep
    return sweep


def _key(
    view: Trainable,
    pool_x: np.ndarray,
    pool_y: np.ndarray,
    aux_x: np.ndarray | None,
    aux_y: np.ndarray | None,
    k: int,
    seed: int,
) -> str:
    h = hashlib.sha256(repr((view.recipe.name, view.recipe.params, k, seed)).encode())
    for a in (pool_x, pool_y, aux_x, aux_y):
        if a is not None:
            h.update(repr(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
