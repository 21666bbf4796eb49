"""Header checks for tensor containers that hold no code: safetensors and NumPy ``.npy``."""

from __future__ import annotations

import ast
import itertools
import json
import struct

from aisec.supplychain.scan.limits import ScanLimits
from aisec.supplychain.scan.pickle_vm import scan_pickle_stream
from aisec.supplychain.scan.rules import Collector

SAFETENSORS_DTYPES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
    "C64": 8,
    "F4": 1,
    "F6_E2M3": 1,
    "F6_E3M2": 1,
}


def scan_safetensors(
    data: memoryview | bytes, col: Collector, limits: ScanLimits, size: int | None = None
) -> None:
    """Check that the header is JSON and that every tensor's offsets fit its dtype and shape.

    ``size`` is the file size when ``data`` holds only the beginning of the file (the header).
    """
    n = len(data) if size is None else size
    if n < 8:
        col.add("SCN-050", "safetensors file shorter than its 8-byte header length", "offset 0")
        return
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > limits.max_header_bytes:
        col.add(
            "SCN-050",
            f"safetensors header length {hlen} exceeds the limit",
            "offset 0",
            header_length=hlen,
        )
        return
    if 8 + hlen > n or 8 + hlen > len(data):
        col.add(
            "SCN-050",
            f"safetensors header length {hlen} runs past the end of the file",
            "offset 0",
            header_length=hlen,
            file_size=n,
        )
        return
    try:
        header = json.loads(bytes(data[8 : 8 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        col.add("SCN-050", f"safetensors header is not valid JSON ({type(exc).__name__})", "header")
        return
    if not isinstance(header, dict):
        col.add("SCN-050", "safetensors header is not a JSON object", "header")
        return
    body = n - 8 - hlen
    spans: list[tuple[int, int, str]] = []
    problems: list[str] = []
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in info.items()
            ):
                problems.append("__metadata__ must map strings to strings")
            continue
        if not isinstance(info, dict):
            problems.append(f"{key}: entry is not an object")
            continue
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in SAFETENSORS_DTYPES:
            problems.append(f"{key}: unknown dtype {dtype!r}")
            continue
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            problems.append(f"{key}: invalid shape {shape!r}")
            continue
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            problems.append(f"{key}: invalid data_offsets {offsets!r}")
            continue
        begin, end = offsets
        if begin < 0 or end < begin:
            problems.append(f"{key}: data_offsets [{begin}, {end}] are reversed or negative")
            continue
        if end > body:
            problems.append(f"{key}: data_offsets end {end} is past the data section ({body})")
            continue
        count = 1
        for s in shape:
            count *= s
        want = count * SAFETENSORS_DTYPES[dtype]
        if dtype == "F4":
            want = (count + 1) // 2
        elif dtype.startswith("F6"):
            want = (count * 6 + 7) // 8
        if end - begin != want:
            problems.append(f"{key}: {end - begin} bytes for {dtype}{shape} (expected {want})")
            continue
        spans.append((begin, end, key))
    spans.sort()
    covered = 0
    for (_b1, e1, k1), (b2, _e2, k2) in itertools.pairwise(spans):
        if b2 < e1:
            problems.append(f"tensors {k1} and {k2} overlap")
    for b, e, _k in spans:
        covered += e - b
    for p in problems[:20]:
        col.add("SCN-050", f"safetensors header: {p}", "header")
    if len(problems) > 20:
        col.add("SCN-050", f"safetensors header: {len(problems) - 20} more problems", "header")
    if not problems and covered != body:
        col.add(
            "SCN-051",
            f"safetensors data section has {body - covered} bytes no tensor uses",
            "data",
            unused_bytes=body - covered,
        )


def parse_npy_header(data: memoryview, limits: ScanLimits) -> tuple[dict[str, object], int]:
    """Parse an ``.npy`` header; returns (header dict, data offset). Raises ValueError."""
    if len(data) < 10 or bytes(data[:6]) != b"\x93NUMPY":
        raise ValueError("missing NUMPY magic")
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    elif major in (2, 3):
        if len(data) < 12:
            raise ValueError("truncated header")
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    else:
        raise ValueError(f"unsupported format version {major}")
    if hlen > min(limits.max_header_bytes, 1 << 20) or start + hlen > len(data):
        raise ValueError(f"header length {hlen} is out of range")
    text = bytes(data[start : start + hlen]).decode("latin-1" if major < 3 else "utf-8")
    header = ast.literal_eval(text)
    if not isinstance(header, dict) or not {"descr", "fortran_order", "shape"} <= set(header):
        raise ValueError("header lacks descr, fortran_order or shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"invalid shape {shape!r}")
    return header, start + hlen


def _descr_has_object(descr: object) -> bool:
    if isinstance(descr, str):
        return "O" in descr.lstrip("<>|=")[:1]
    if isinstance(descr, list):
        return any(_descr_has_object(f[1]) for f in descr if isinstance(f, tuple) and len(f) > 1)
    return False


def scan_npy(
    data: memoryview, col: Collector, limits: ScanLimits, depth: int, size: int | None = None
) -> None:
    """Check an ``.npy`` header; object arrays carry a pickle, analysed like any other.

    ``size`` is the full file size when ``data`` holds only its first bytes.
    """
    try:
        header, offset = parse_npy_header(data, limits)
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        col.add("SCN-071", f"malformed NumPy header: {str(exc)[:120]}", "header")
        return
    if _descr_has_object(header["descr"]):
        col.add(
            "SCN-070", "NumPy object array: loading it needs allow_pickle=True", f"offset {offset}"
        )
        scan_pickle_stream(data[offset:], col.child(f"array pickle @{offset}"), limits, depth + 1)
        return
    import numpy as np

    try:
        itemsize = np.dtype(header["descr"]).itemsize
    except Exception:  # numpy rejects hostile descriptors with many exception types
        col.add("SCN-071", f"malformed NumPy header: unknown dtype {header['descr']!r}", "header")
        return
    count = 1
    for s in header["shape"]:  # type: ignore[union-attr]
        count *= s
    if count * itemsize > (size if size is not None else len(data)) - offset:
        col.add(
            "SCN-071",
            "NumPy array data is shorter than its header declares",
            f"offset {offset}",
            declared=count * itemsize,
            present=len(data) - offset,
        )
