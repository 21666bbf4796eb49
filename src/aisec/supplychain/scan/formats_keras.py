"""Keras model configurations: ``.keras`` zips (config.json) and legacy HDF5 ``model_config``."""

from __future__ import annotations

import json
import mmap
from typing import Any

from aisec.supplychain.scan.limits import ScanLimits
from aisec.supplychain.scan.policy import Verdict, classify
from aisec.supplychain.scan.rules import Collector

_KERAS_MODULES = ("keras", "tensorflow", "tf_keras", "tensorflow.keras")
_MAX_CONFIGS = 64


def _walk(obj: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Every dict with a ``class_name`` in the configuration, iteratively."""
    out: list[dict[str, Any]] = []
    todo = [obj]
    while todo:
        cur = todo.pop()
        if isinstance(cur, dict):
            if "class_name" in cur:
                out.append(cur)
            todo.extend(cur.values())
        elif isinstance(cur, list):
            todo.extend(cur)
    return out


def review_config(config: Any, col: Collector, location: str) -> None:
    """Flag Lambda layers carrying code and custom objects from modules outside Keras."""
    for layer in _walk(config):
        cls = layer.get("class_name")
        module = layer.get("module")
        inner = layer.get("config")
        if cls == "Lambda" or (isinstance(cls, str) and cls.endswith(">Lambda")):
            fn = inner.get("function") if isinstance(inner, dict) else None
            kind = (
                "bytecode"
                if isinstance(fn, (list, dict)) or (isinstance(fn, str) and len(fn) > 40)
                else "function reference"
            )
            name = inner.get("name", "?") if isinstance(inner, dict) else "?"
            col.add(
                "SCN-030",
                f"Keras Lambda layer {name!r} with serialized {kind}",
                location,
                layer=str(name),
            )
        if isinstance(module, str) and module and not module.startswith(_KERAS_MODULES):
            severity = None
            if isinstance(cls, str) and classify(module, cls) is Verdict.DANGEROUS:
                from aisec.records import Severity

                severity = Severity.CRITICAL
            col.add(
                "SCN-031",
                f"Keras custom object {cls!r} from module {module!r}",
                location,
                severity=severity,
                module=module,
            )
        registered = layer.get("registered_name")
        if (
            isinstance(registered, str)
            and registered.split(">")[0] not in ("", "keras")
            and (">" in registered and not module)
        ):
            col.add("SCN-031", f"Keras custom object registered as {registered!r}", location)


def scan_keras_json(data: bytes, col: Collector, location: str) -> None:
    """Parse one Keras JSON configuration and review it."""
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        col.add(
            "SCN-032", f"Keras configuration is not valid JSON ({type(exc).__name__})", location
        )
        return
    review_config(config, col, location)


def scan_hdf5(data: memoryview | mmap.mmap | bytes, col: Collector, limits: ScanLimits) -> None:
    """Find the JSON ``model_config`` attribute in raw HDF5 bytes and review it."""
    raw: bytes | mmap.mmap
    if isinstance(data, memoryview):
        obj = data.obj
        whole = isinstance(obj, (bytes, mmap.mmap)) and len(obj) == len(data)
        raw = obj if whole else bytes(data)  # type: ignore[assignment]
    else:
        raw = data
    decoder = json.JSONDecoder()
    start = 0
    seen = 0
    while seen < _MAX_CONFIGS:
        i = raw.find(b'{"class_name"', start)
        if i < 0:
            break
        seen += 1
        window = bytes(raw[i : i + limits.max_text_bytes])
        end = window.find(b"\x00")
        text = window[: end if end >= 0 else len(window)].decode("utf-8", "replace")
        try:
            config, length = decoder.raw_decode(text)
        except (ValueError, RecursionError):
            col.add("SCN-032", "Keras model_config in HDF5 is not valid JSON", f"offset {i}")
            start = i + 1
            continue
        review_config(config, col, f"model_config @{i}")
        start = i + max(1, length)
