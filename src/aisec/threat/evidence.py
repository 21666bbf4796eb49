"""Which targets' evidence speaks for the profile's system, and which only stand in for it.

Evidence is bound to the target it was measured on. A target is a **stand-in** when its config
says ``stand_in: true`` (``aisec threats --emit-config`` marks its built-in placeholder so), or,
when the config says nothing, when it is a built-in model of another input modality than the
profile's (the 8x8 digits model says nothing about a text classifier). ``stand_in: false``
declares a target equivalent to the system. Results on stand-ins are shown, labelled, but never
change residual risk or an Art. 15 clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aisec.errors import AisecError
from aisec.threat.profile import SystemProfile


def _builtin_modality(name: str) -> str:
    try:
        from aisec.targets.builtin import builtin_entry

        return builtin_entry(name).modality
    except AisecError:  # PyTorch missing or an unknown name: every built-in is an image model
        return "image"


def _field(target: Any, key: str) -> Any:
    if isinstance(target, Mapping):
        return target.get(key)
    return getattr(target, key, None)


def stand_in_targets(profile: SystemProfile, targets: Iterable[Any]) -> dict[str, str]:
    """Target name -> why its evidence only stands in for the profile's system.

    Args:
        profile: the system profile.
        targets: assessment targets (:class:`~aisec.targets.config.TargetConfig` or dicts).
    """
    out: dict[str, str] = {}
    for t in targets:
        name = str(_field(t, "name"))
        flag = _field(t, "stand_in")
        builtin = _field(t, "builtin")
        chat = str(_field(t, "chat") or "")
        if flag is True:
            out[name] = f"{name} is marked `stand_in: true`: replace it with the system's model"
        elif flag is None and chat.startswith("builtin:"):
            if profile.modality != "text":
                out[name] = (
                    f"{name} is a built-in text (LLM) application standing in for a "
                    f"{profile.modality} system; set `stand_in: false` only if it is equivalent"
                )
        elif flag is None and builtin:
            modality = _builtin_modality(str(builtin))
            if modality != profile.modality:
                out[name] = (
                    f"{name} is a built-in {modality} model standing in for a "
                    f"{profile.modality} system; set `stand_in: false` only if it is equivalent"
                )
    return out
