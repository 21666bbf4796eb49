"""TensorFlow SavedModel graphs, read through the protobuf wire format (TensorFlow not needed).

Fields read (tensorflow/core/protobuf): SavedModel 2 meta_graphs; MetaGraphDef 2 graph_def;
GraphDef 1 node, 2 library; FunctionDefLibrary 1 function; FunctionDef 3 node_def;
NodeDef 1 name, 2 op. The graph is never loaded: only the operation names are collected.
"""

from __future__ import annotations

from aisec.supplychain.scan.formats_onnx import ProtoError, fields
from aisec.supplychain.scan.rules import Collector

#: Operations that run Python code registered in the loading process.
CODE_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
#: Operations that read, write, list or delete arbitrary files when the graph runs.
FILE_OPS = frozenset({"ReadFile", "WriteFile", "MatchingFiles", "DeleteFile", "ImmutableConst"})

_MAX_NODES = 2_000_000


def looks_like_saved_model(data: memoryview) -> bool:
    """A SavedModel starts with its schema version (field 1) or a meta graph (field 2)."""
    head = bytes(data[:2])
    return len(head) == 2 and (head[0] == 0x08 or head[0] == 0x12)


def scan_saved_model(data: memoryview, col: Collector) -> None:
    """Flag graph and function nodes whose operation runs Python code or touches files."""
    ops: dict[str, list[str]] = {}
    try:
        for num, wt, value, _ in fields(data):
            if num == 2 and wt == 2 and isinstance(value, memoryview):
                _meta_graph(value, ops)
    except ProtoError as exc:
        col.add("SCN-075", f"malformed SavedModel protobuf: {exc}", "file")
        return
    for op, nodes in sorted(ops.items()):
        where = ", ".join(nodes[:5])
        if op in CODE_OPS:
            col.add(
                "SCN-076",
                f"SavedModel graph runs Python code through {op} ({len(nodes)} node(s))",
                f"nodes {where}",
                op=op,
                nodes=nodes[:20],
            )
        elif op in FILE_OPS:
            col.add(
                "SCN-077",
                f"SavedModel graph touches files through {op} ({len(nodes)} node(s))",
                f"nodes {where}",
                op=op,
                nodes=nodes[:20],
            )


def _meta_graph(data: memoryview, ops: dict[str, list[str]]) -> None:
    for num, wt, value, _ in fields(data):
        if num == 2 and wt == 2 and isinstance(value, memoryview):
            _graph(value, ops)


def _graph(data: memoryview, ops: dict[str, list[str]]) -> None:
    for num, wt, value, _ in fields(data):
        if wt != 2 or not isinstance(value, memoryview):
            continue
        if num == 1:
            _node(value, ops)
        elif num == 2:  # FunctionDefLibrary
            for fnum, fwt, fvalue, _ in fields(value):
                if fnum == 1 and fwt == 2 and isinstance(fvalue, memoryview):
                    for dnum, dwt, dvalue, _ in fields(fvalue):
                        if dnum == 3 and dwt == 2 and isinstance(dvalue, memoryview):
                            _node(dvalue, ops)


def _node(data: memoryview, ops: dict[str, list[str]]) -> None:
    name, op = "", ""
    for num, wt, value, _ in fields(data):
        if wt == 2 and isinstance(value, memoryview):
            if num == 1:
                name = bytes(value).decode("utf-8", "replace")
            elif num == 2:
                op = bytes(value).decode("utf-8", "replace")
    if op in CODE_OPS or op in FILE_OPS:
        found = ops.setdefault(op, [])
        if sum(len(v) for v in ops.values()) < _MAX_NODES:
            found.append(name)
