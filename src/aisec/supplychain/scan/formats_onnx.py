"""ONNX checks through a minimal protobuf wire reader (the ``onnx`` package is not needed).

Fields read (onnx.proto3): ModelProto 6 doc_string, 7 graph, 8 opset_import (1 domain),
14 metadata_props (1 key, 2 value), 25 functions (FunctionProto 1 name, 3 node, 10 domain);
GraphProto 1 node, 5 initializer, 15 sparse_initializer; NodeProto 5 attribute, 7 domain;
AttributeProto 5 t, 6 g, 10 tensors, 11 graphs; TensorProto 13 external_data (1 key, 2 value).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from aisec.supplychain.scan.rules import Collector

_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
_MAX_FIELDS = 5_000_000
_LARGE_METADATA = 1 << 20
_SUSPICIOUS = re.compile(rb"__import__|\bexec\(|\beval\(|os\.system|subprocess|\x80[\x02-\x05]")


class ProtoError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ProtoError(f"truncated varint at offset {pos}")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError(f"varint too long at offset {pos}")


def fields(data: memoryview, base: int = 0) -> Iterator[tuple[int, int, int | memoryview, int]]:
    """Yield (field number, wire type, value, absolute offset) of one message."""
    pos = 0
    n = len(data)
    while pos < n:
        at = pos
        key, pos = _varint(data, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtoError(f"field number 0 at offset {base + at}")
        if wt == 0:
            value, pos = _varint(data, pos)
            yield num, wt, value, base + at
        elif wt == 1:
            if pos + 8 > n:
                raise ProtoError(f"truncated fixed64 at offset {base + at}")
            pos += 8
        elif wt == 2:
            length, pos = _varint(data, pos)
            if pos + length > n:
                raise ProtoError(f"length {length} runs past the message at {base + at}")
            yield num, wt, data[pos : pos + length], base + pos
            pos += length
        elif wt == 5:
            if pos + 4 > n:
                raise ProtoError(f"truncated fixed32 at offset {base + at}")
            pos += 4
        else:
            raise ProtoError(f"unsupported wire type {wt} at offset {base + at}")


def _text(v: int | memoryview) -> str:
    return bytes(v).decode("utf-8", "replace") if isinstance(v, memoryview) else ""


class _OnnxWalker:
    def __init__(self, col: Collector) -> None:
        self.col = col
        self.count = 0
        self.domains: set[str] = set()

    def _fields(
        self, data: memoryview, base: int
    ) -> Iterator[tuple[int, int, int | memoryview, int]]:
        for f in fields(data, base):
            self.count += 1
            if self.count > _MAX_FIELDS:
                raise ProtoError("too many protobuf fields")
            yield f

    def model(self, data: memoryview) -> None:
        saw_graph = False
        for num, wt, v, at in self._fields(data, 0):
            if wt != 2 or not isinstance(v, memoryview):
                continue
            if num == 7:
                saw_graph = True
                self.graph(v, at, 0)
            elif num == 8:
                for n2, _w, v2, _a in self._fields(v, at):
                    if n2 == 1:
                        self.domains.add(_text(v2))
            elif num == 14:
                self.metadata(v, at)
            elif num == 6 and len(v) > _LARGE_METADATA:
                self.col.add("SCN-042", f"ONNX doc_string of {len(v)} bytes", f"offset {at}")
            elif num == 25:
                for n2, _w, v2, a2 in self._fields(v, at):
                    if n2 == 3 and isinstance(v2, memoryview):
                        self.node(v2, a2, 1)
        if not saw_graph:
            raise ProtoError("no graph in the model")
        for d in sorted(self.domains - _STANDARD_DOMAINS):
            self.col.add(
                "SCN-041", f"ONNX model uses custom operator domain {d!r}", "opset", domain=d
            )

    def metadata(self, v: memoryview, at: int) -> None:
        key = value = ""
        raw = b""
        for n2, _w, v2, _a in self._fields(v, at):
            if n2 == 1:
                key = _text(v2)
            elif n2 == 2 and isinstance(v2, memoryview):
                raw = bytes(v2[: _LARGE_METADATA + 1])
                value = f"{len(v2)} bytes"
        if len(raw) > _LARGE_METADATA:
            self.col.add(
                "SCN-042", f"ONNX metadata {key!r} is unusually large ({value})", f"offset {at}"
            )
        elif _SUSPICIOUS.search(raw):
            self.col.add("SCN-042", f"ONNX metadata {key!r} holds code or a pickle", f"offset {at}")

    def graph(self, v: memoryview, at: int, depth: int) -> None:
        if depth > 64:
            raise ProtoError("subgraphs nested too deeply")
        for num, wt, v2, a2 in self._fields(v, at):
            if wt != 2 or not isinstance(v2, memoryview):
                continue
            if num == 1:
                self.node(v2, a2, depth)
            elif num == 5:
                self.tensor(v2, a2)
            elif num == 15:
                for n3, _w, v3, a3 in self._fields(v2, a2):
                    if n3 in (1, 2) and isinstance(v3, memoryview):
                        self.tensor(v3, a3)

    def node(self, v: memoryview, at: int, depth: int) -> None:
        for num, wt, v2, a2 in self._fields(v, at):
            if wt != 2 or not isinstance(v2, memoryview):
                continue
            if num == 7:
                self.domains.add(_text(v2))
            elif num == 5:
                for n3, _w, v3, a3 in self._fields(v2, a2):
                    if not isinstance(v3, memoryview):
                        continue
                    if n3 in (5, 10):
                        self.tensor(v3, a3)
                    elif n3 in (6, 11):
                        self.graph(v3, a3, depth + 1)

    def tensor(self, v: memoryview, at: int) -> None:
        for num, wt, v2, a2 in self._fields(v, at):
            if num != 13 or wt != 2 or not isinstance(v2, memoryview):
                continue
            key = value = ""
            for n3, _w, v3, _a in self._fields(v2, a2):
                if n3 == 1:
                    key = _text(v3)
                elif n3 == 2:
                    value = _text(v3)
            if key == "location" and _escapes(value):
                self.col.add(
                    "SCN-040",
                    f"ONNX external data location {value!r} escapes the model folder",
                    f"offset {a2}",
                    path=value,
                )


def _escapes(location: str) -> bool:
    loc = location.replace("\\", "/")
    if loc.startswith("/") or re.match(r"^[A-Za-z]:", loc) or "\x00" in loc:
        return True
    norm = posixpath.normpath(loc)
    return norm == ".." or norm.startswith("../")


def scan_onnx(data: memoryview, col: Collector) -> None:
    """Walk the model's protobuf for external data paths, custom domains and metadata."""
    walker = _OnnxWalker(col)
    try:
        walker.model(data)
    except (ProtoError, RecursionError, MemoryError) as exc:
        col.add("SCN-043", f"malformed ONNX protobuf: {str(exc)[:160]}", "model")
