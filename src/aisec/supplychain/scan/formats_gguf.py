"""GGUF header and metadata parsing; chat templates in the metadata are reviewed by
:mod:`aisec.supplychain.scan.formats_templates`."""

from __future__ import annotations

import struct
from typing import Any

from aisec.supplychain.scan.formats_templates import review_template
from aisec.supplychain.scan.limits import ScanLimits
from aisec.supplychain.scan.rules import Collector

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_MAX_KV = 1_000_000
_MAX_TENSORS = 10_000_000


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, k: int) -> memoryview:
        if k < 0 or self.pos + k > len(self.data):
            raise ValueError(f"truncated at offset {self.pos} ({k} bytes wanted)")
        p = self.pos
        self.pos += k
        return self.data[p : p + k]

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self, limit: int) -> str:
        k = self.unpack("<Q")
        if k > limit:
            raise ValueError(f"string of {k} bytes at offset {self.pos} exceeds the limit")
        return bytes(self.take(k)).decode("utf-8", "replace")


def _value(r: _Reader, vtype: int, limits: ScanLimits, depth: int = 0) -> Any:
    if vtype in _SCALARS:
        return r.unpack(_SCALARS[vtype])
    if vtype == 8:
        return r.string(limits.max_header_bytes)
    if vtype == 9:
        if depth > 2:
            raise ValueError("arrays nested too deeply")
        itype = r.unpack("<I")
        count = r.unpack("<Q")
        if count > len(r.data) - r.pos:
            raise ValueError(f"array of {count} items is longer than the file")
        if itype in _SCALARS:
            size = struct.calcsize(_SCALARS[itype])
            r.take(size * count)
            return f"<array of {count}>"
        for _ in range(count):
            _value(r, itype, limits, depth + 1)
        return f"<array of {count}>"
    raise ValueError(f"unknown metadata value type {vtype}")


def scan_gguf(data: memoryview, col: Collector, limits: ScanLimits) -> None:
    """Parse the GGUF header and metadata; review chat templates."""
    r = _Reader(data)
    try:
        r.take(4)
        version = r.unpack("<I")
        if version not in (2, 3):
            col.add("SCN-060", f"unsupported GGUF version {version}", "offset 4")
            return
        n_tensors = r.unpack("<Q")
        n_kv = r.unpack("<Q")
        if n_kv > _MAX_KV or n_tensors > _MAX_TENSORS:
            col.add(
                "SCN-060", f"GGUF declares {n_kv} metadata keys and {n_tensors} tensors", "header"
            )
            return
        for _ in range(n_kv):
            key = r.string(1 << 16)
            vtype = r.unpack("<I")
            at = r.pos
            value = _value(r, vtype, limits)
            if key.startswith("tokenizer.chat_template") and isinstance(value, str):
                review_template(value, col, f"metadata {key} @{at}")
        for _ in range(n_tensors):
            r.string(1 << 16)
            n_dims = r.unpack("<I")
            if n_dims > 8:
                raise ValueError(f"tensor with {n_dims} dimensions")
            r.take(8 * n_dims)
            r.unpack("<I")
            r.unpack("<Q")
    except (ValueError, struct.error, MemoryError, RecursionError) as exc:
        col.add("SCN-060", f"malformed GGUF: {str(exc)[:160]}", f"offset {r.pos}")
