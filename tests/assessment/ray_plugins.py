"""Test-only plugins for the Ray executor tests: FGSM that crashes its worker or raises.

Imported by name on the Ray workers (the tests put this folder on their PYTHONPATH), the way a
third-party plugin module would be.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch

from aisec.attacks.evasion.base import AttackContext, Perturbation
from aisec.attacks.evasion.fgsm import FGSM
from aisec.params import Param, Text, declare
from aisec.registry import _REGISTRY, register


@register
class CrashOnceFGSM(FGSM):
    """FGSM whose process dies the first time it runs (the ``marker`` file records it)."""

    id = "testing.fgsm-crash-once"
    parameters = declare(marker=Param("", Text(), "File created by the first attempt."))

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        marker = Path(self.params["marker"])
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super()._perturb(x, y, ctx)


@register
class AlwaysCrashFGSM(FGSM):
    """FGSM whose process dies every time it runs."""

    id = "testing.fgsm-always-crash"

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


@register
class BrokenFGSM(FGSM):
    """FGSM with a bug: it raises."""

    id = "testing.fgsm-broken"

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        raise RuntimeError("the attack broke on purpose")


PLUGINS = (CrashOnceFGSM, AlwaysCrashFGSM, BrokenFGSM)


def unregister() -> None:
    """Take the plugins out of the registry again (other tests list every registered test)."""
    for cls in PLUGINS:
        _REGISTRY.pop(cls.id, None)
