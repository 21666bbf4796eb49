"""Load user models only through safe paths: safetensors, TorchScript, ``weights_only`` checkpoints."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from aisec.errors import ModelLoadError

if TYPE_CHECKING:
    import torch


def _existing(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"{what} {str(p)!r} does not exist; check the path")
    if not p.is_file():
        raise ModelLoadError(f"{what} {str(p)!r} is not a file")
    return p


def load_torchscript(path: str | Path) -> torch.nn.Module:
    """Load a TorchScript archive on the CPU; its restricted unpickler runs no arbitrary Python."""
    import torch

    p = _existing(path, "TorchScript model")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates jit.load
            return torch.jit.load(str(p), map_location="cpu")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelLoadError(
            f"{str(p)!r} is not a loadable TorchScript file ({type(exc).__name__}: {first}); "
            "export it with torch.jit.script/trace and torch.jit.save"
        ) from None


def load_safetensors_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file into a state dict (pure data, nothing is executed)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = _existing(path, "weights file")
    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{str(p)!r} is not a valid safetensors file ({exc}); save weights with "
            "safetensors.torch.save_file"
        ) from None
