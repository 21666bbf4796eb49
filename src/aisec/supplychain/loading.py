"""Load user models only through safe paths: safetensors, TorchScript, ``weights_only`` checkpoints.

:func:`load_model` is the one entry point. Its contract:

* The format is detected from the content, never from the extension.
* **safetensors** is pure data: it is read into a state dict (or into the module built by
  ``factory``); nothing is executed.
* Every **pickle-based** file (PyTorch zip or legacy checkpoints, raw pickles, TorchScript
  archives) is read into memory once and those bytes are scanned statically with
  :func:`aisec.supplychain.scan.scan_bytes`, then loaded. If the scan reports a finding at
  ``medium`` or above, loading is refused with :class:`~aisec.errors.UnsafeModelError`, unless
  the caller passes ``trust=True``. Nothing is unpickled before the scan, and the bytes loaded
  are exactly the bytes scanned, so the file cannot be swapped in between.
* Checkpoints are then loaded with ``torch.load(weights_only=True)`` even when trusted: ``trust``
  only lifts the scan gate, it never enables arbitrary unpickling, so a payload that needs code
  execution still fails (as :class:`~aisec.errors.ModelLoadError`). To load a checkpoint holding
  your own classes, allow-list them with ``torch.serialization.safe_globals`` around the call.
* **TorchScript** goes through ``torch.jit.load``, whose restricted unpickler only rebuilds
  TorchScript objects.
"""

from __future__ import annotations

import importlib
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisec.errors import ModelLoadError, UnsafeModelError
from aisec.records import Severity

if TYPE_CHECKING:
    import torch
    from torch import nn

REFUSE_AT = Severity.MEDIUM
"""Scan findings at this severity or above make :func:`load_model` refuse an untrusted file."""

PICKLE_FORMATS = frozenset({"torch-zip", "torchscript", "pickle"})
"""Formats (as named by :func:`sniff_format`) that are scanned before loading."""

_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


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


def import_factory(spec: str) -> Callable[[], nn.Module]:
    """Resolve ``package.module:function`` (the user's own code, named explicitly)."""
    if ":" not in spec:
        raise ModelLoadError(f"factory {spec!r} must look like 'package.module:function'")
    mod_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ModelLoadError(
            f"cannot import {mod_name!r} for factory {spec!r}: {exc}; add its folder to PYTHONPATH"
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ModelLoadError(f"{mod_name!r} has no callable {attr!r} (from factory {spec!r})")
    return fn


# -- format detection -------------------------------------------------------------------------
def sniff_format(path: str | Path) -> str:
    """Name a model file's format from its content (the extension only breaks ties).

    Returns one of ``safetensors``, ``torchscript``, ``torch-zip`` (``torch.save`` archive),
    ``pickle`` (raw or legacy PyTorch pickle), ``gguf``, ``hdf5``, ``numpy``, ``npz``,
    ``keras``, ``onnx``, ``zip`` or ``unknown`` (which may still be a protocol 0/1 pickle,
    whose first opcode cannot be told from text). Nothing is deserialised.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(16)
        size = fh.seek(0, io.SEEK_END)
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_format(p)
    if len(head) >= 9 and head[8:9] == b"{":
        header_len = int.from_bytes(head[:8], "little")
        if 2 <= header_len <= size - 8:
            return "safetensors"
    if p.suffix.lower() == ".onnx":
        return "onnx"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if p.suffix.lower() in (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib"):
        return "pickle"
    return "unknown"


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "unknown"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"

    def has(member: str) -> bool:
        return any(n == member or n.endswith("/" + member) for n in names)

    if has("data.pkl"):
        if has("constants.pkl") or any("/code/" in n or n.startswith("code/") for n in names):
            return "torchscript"
        return "torch-zip"
    if has("config.json") and path.suffix.lower() == ".keras":
        return "keras"
    return "zip"


# -- safe loading -----------------------------------------------------------------------------
def load_model(
    path: str | Path,
    *,
    trust: bool = False,
    factory: str | Callable[[], nn.Module] | None = None,
    strict: bool = True,
) -> nn.Module | dict[str, Any]:
    """Load a model file through a safe path, scanning pickle-based files first.

    See the module docstring for the full contract.

    Args:
        path: A safetensors file, a TorchScript archive, or a ``torch.save`` checkpoint.
        trust: Load a pickle-based file even when the scanner reports findings at ``medium`` or
            above. The checkpoint is still loaded with ``weights_only=True``.
        factory: A callable (or ``"package.module:function"``) that builds the ``nn.Module`` to
            load a state dict into. Used for safetensors files and checkpoints; ignored for
            TorchScript, which carries its own code.
        strict: Passed to ``load_state_dict`` when a factory is given.

    Returns:
        An ``nn.Module`` for TorchScript files and whenever a factory is given; otherwise the
        state dict (safetensors) or the object the checkpoint holds (usually a state dict).

    Raises:
        UnsafeModelError: The scan found something at ``medium`` or above and ``trust`` is False.
        ModelLoadError: The file is missing, of an unsupported format, or cannot be loaded safely.
    """
    p = _existing(path, "model file")
    fmt = sniff_format(p)
    if fmt == "safetensors":
        state = load_safetensors_state(p)
        return _into_factory(state, factory, strict, p) if factory is not None else state
    if fmt not in PICKLE_FORMATS | {"unknown"}:  # unknown: maybe a protocol 0/1 pickle
        raise ModelLoadError(
            f"{str(p)!r} is a {fmt} file, which load_model does not load; use safetensors, "
            "TorchScript or a torch.save checkpoint"
        )
    data = _scanned_bytes(p, trust=trust)
    if fmt == "torchscript":
        return _load_torchscript_bytes(data, p)
    obj = _torch_load_weights_only(data, p)
    return _into_factory(obj, factory, strict, p) if factory is not None else obj


def _scanned_bytes(path: Path, *, trust: bool) -> bytes:
    """Read the file once, scan those bytes, and return them (or refuse)."""
    from aisec.supplychain.scan import scan_bytes

    data = path.read_bytes()
    report = scan_bytes(data, str(path))
    blocking = sorted(
        (f for f in report.findings if f.severity >= REFUSE_AT),
        key=lambda f: f.severity.rank,
        reverse=True,
    )
    if blocking and not trust:
        raise UnsafeModelError(_refusal_message(path, blocking))
    if blocking:
        warnings.warn(
            f"loading trusted file {str(path)!r} despite {len(blocking)} scan finding(s) at "
            f"{REFUSE_AT.value} or above; it is still loaded with weights_only=True",
            stacklevel=3,
        )
    return data


def _refusal_message(path: Path, blocking: list[Any]) -> str:
    worst = blocking[0]
    text = getattr(worst, "title", None) or getattr(worst, "message", "") or ""
    where = getattr(worst, "location", "") or ""
    more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
    at = f" at {where}" if where else ""
    return (
        f"refusing to load {str(path)!r}: scan finding {worst.rule} ({worst.severity.value}) "
        f"{text}{at}{more}; inspect it with `aisec scan {path}`, convert it to safetensors, or "
        "pass trust=True if you trust its source (it is still loaded with weights_only=True)"
    )


def _load_torchscript_bytes(data: bytes, path: Path) -> nn.Module:
    import torch

    try:
        return torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelLoadError(
            f"{str(path)!r} is not a loadable TorchScript file ({type(exc).__name__}: {first}); "
            "export it with torch.jit.script/trace and torch.jit.save"
        ) from None


def _torch_load_weights_only(data: bytes, path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelLoadError(
            f"{str(path)!r} needs more than tensors and plain containers to load, which "
            f"weights_only=True forbids ({_weights_only_reason(exc)}); save a state dict "
            "instead, or allow-list your classes with torch.serialization.safe_globals"
        ) from None
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelLoadError(
            f"{str(path)!r} is not a loadable PyTorch checkpoint ({type(exc).__name__}: {first}); "
            "save it with torch.save(model.state_dict(), path)"
        ) from None


def _weights_only_reason(exc: Exception) -> str:
    """The informative line of torch's weights-only error, without terminal escapes."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln]
    for ln in lines:
        if "WeightsUnpickler error" in ln or "Unsupported" in ln:
            reason = ln.removeprefix("WeightsUnpickler error:").split(" Please ")[0]
            return reason.strip().rstrip(".")[:200]
    return (lines or ["refused"])[0][:200]


def _state_dict_of(obj: Any) -> Mapping[str, Any] | None:
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, Mapping):
        return None
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    for key in ("state_dict", "model_state_dict", "model"):
        inner = obj.get(key)
        if inner is not None:
            found = _state_dict_of(inner)
            if found is not None:
                return found
    return None


def _into_factory(
    obj: Any, factory: str | Callable[[], nn.Module], strict: bool, path: Path
) -> nn.Module:
    build = import_factory(factory) if isinstance(factory, str) else factory
    name = factory if isinstance(factory, str) else getattr(factory, "__name__", "factory")
    state = _state_dict_of(obj)
    if state is None:
        raise ModelLoadError(
            f"{str(path)!r} holds no state dict (looked for tensors at the top level and under "
            "'state_dict', 'model_state_dict', 'model'); save model.state_dict()"
        )
    model = build()
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ModelLoadError(
            f"weights {str(path)!r} do not fit the model built by {name}: {first}"
        ) from None
    return model
