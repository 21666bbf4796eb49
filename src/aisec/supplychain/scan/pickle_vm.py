"""A symbolic pickle machine: follows every opcode of protocols 0-5 without executing anything.

It keeps a symbolic stack and memo, so that names reached through ``GET``/``MEMOIZE``,
``STACK_GLOBAL`` on strings from the stack, ``INST``/``OBJ``/``NEWOBJ``/``EXT*`` or folded string
operations (``operator.add``, ``str.join``, ``getattr``) are resolved before they are classified
by :mod:`aisec.supplychain.scan.policy`. Malformed input, resource limits and every surprising
construct become findings; the machine never raises.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import dataclasses
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aisec.supplychain.scan.limits import ScanLimits
from aisec.supplychain.scan.policy import Verdict, classify
from aisec.supplychain.scan.rules import Collector

_SMALL_BYTES = 4096
_STRUCTS = {f: struct.Struct(f) for f in ("<i", "<I", "<H", "<B", "<Q", ">d")}


class _Mark:
    __slots__ = ()


MARK = _Mark()


@dataclass(frozen=True)
class Global:
    """A name imported by the stream."""

    module: str
    name: str

    @property
    def full(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"


@dataclass
class Call:
    """The result of calling (or instantiating) ``func`` with ``args``; ``state`` from BUILD."""

    func: Any
    args: Any
    state: Any = None


@dataclass(frozen=True)
class Blob:
    """Bytes too large to copy: ``length`` bytes at ``offset`` of the stream's buffer."""

    offset: int
    length: int


@dataclass
class SymDict:
    """A dict whose keys may be symbolic: kept as a list of pairs."""

    items: list[tuple[Any, Any]] = field(default_factory=list)

    def get(self, key: str) -> Any:
        """Value of a constant key, or None."""
        for k, v in self.items:
            if k == key:
                return v
        return None


class _Opaque:
    __slots__ = ()


OPAQUE = _Opaque()

#: Deserialisers whose bytes argument is itself scanned as a pickle (rule SCN-005).
NESTED_LOADERS = frozenset(
    {
        "pickle.loads",
        "_pickle.loads",
        "pickle._loads",
        "cPickle.loads",
        "dill.loads",
        "dill._dill.loads",
        "cloudpickle.loads",
        "numpy.loads",
        "joblib.loads",
        "torch.serialization._load_from_bytes",
        "torch.storage._load_from_bytes",
    }
)
_JOBLIB_WRAPPERS = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    }
)


class Malformed(Exception):
    """The stream cannot be parsed at ``offset``."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class LimitReached(Malformed):
    """A resource limit stopped the analysis."""


@dataclass
class PickleOutcome:
    """What the machine learnt about one stream."""

    end: int | None
    """Offset just after STOP, or None when the stream is malformed."""
    value: Any = None
    """Symbolic top of stack at STOP."""
    imports: list[str] = field(default_factory=list)
    """Every imported ``module.name`` in order of first appearance."""


NestedScan = Callable[[memoryview, Collector, int], None]


class PickleMachine:
    """Follows one pickle stream starting at ``start`` in ``buf``."""

    def __init__(
        self,
        buf: memoryview,
        start: int,
        col: Collector,
        limits: ScanLimits,
        depth: int = 0,
        joblib: bool = True,
    ) -> None:
        self.buf = buf
        self.pos = start
        self.start = start
        self.n = len(buf)
        self.col = col
        self.limits = limits
        self.depth = depth
        self.joblib = joblib
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.seen: dict[str, Verdict] = {}
        self.imports: list[str] = []
        self.op_offset = start
        self.hidden: list[tuple[int, str, bytes]] = []
        self.nested_seen: set[bytes] = set()
        self.trial = False
        """A trial parse (:func:`trial_parse`): it follows the stream only, and leaves hidden
        pickles, expansion and the other reading of frames to the real analysis."""
        self.frame_end: int | None = None
        self.frame_tricks = 0

    # -- reading -------------------------------------------------------------------------
    def _read(self, k: int) -> memoryview:
        p = self.pos
        if k < 0 or p + k > self.n:
            raise Malformed(f"truncated: {k} bytes wanted, {self.n - p} left", self.op_offset)
        self.pos = p + k
        return self.buf[p : p + k]

    def _u(self, k: int, fmt: str) -> int:
        p = self.pos
        if p + k > self.n:
            raise Malformed(f"truncated: {k} bytes wanted, {self.n - p} left", self.op_offset)
        self.pos = p + k
        return _STRUCTS[fmt].unpack_from(self.buf, p)[0]

    def _line(self) -> bytes:
        p = self.pos
        for width in (256, 1 << 20):
            chunk = bytes(self.buf[p : min(self.n, p + width)])
            j = chunk.find(b"\n")
            if j >= 0:
                self.pos = p + j + 1
                return chunk[:j]
            if p + width >= self.n:
                break
        raise Malformed("line argument without newline", self.op_offset)

    def _bytes_value(self, k: int) -> Any:
        off = self.pos
        data = self._read(k)
        self._look_for_pickle(data)
        if k <= _SMALL_BYTES:
            return bytes(data)
        return Blob(off, k)

    def _text(self, k: int) -> Any:
        data = self._read(k)
        self._look_for_pickle(data)
        if k > _SMALL_BYTES:
            return OPAQUE
        try:
            return str(data, "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise Malformed("invalid UTF-8 in unicode string", self.op_offset) from None

    def _look_for_pickle(self, data: memoryview | bytes) -> None:
        """Keep ``data`` when it holds a pickle as raw bytes, hex or base64 (rule SCN-006)."""
        if len(data) < HIDDEN_MIN or len(self.hidden) >= HIDDEN_MAX_PER_STREAM:
            return
        found = hidden_pickle(data, self.limits.max_text_bytes)
        if found is not None:
            self.hidden.append((self.op_offset, found[0], found[1]))

    # -- stack -----------------------------------------------------------------------------
    def _pop(self) -> Any:
        if not self.stack:
            raise Malformed("stack underflow", self.op_offset)
        v = self.stack.pop()
        if v is MARK:
            raise Malformed("unexpected MARK on the stack", self.op_offset)
        return v

    def _pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise Malformed("no MARK to pop to", self.op_offset)
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _push(self, v: Any) -> None:
        self.stack.append(v)  # the size limit is checked once per opcode in _loop

    def _top(self) -> Any:
        if not self.stack or self.stack[-1] is MARK:
            raise Malformed("stack underflow", self.op_offset)
        return self.stack[-1]

    # -- imports ---------------------------------------------------------------------------
    def _import(self, module: Any, name: Any, how: str) -> Any:
        if not isinstance(module, str) or not isinstance(name, str):
            self.col.add(
                "SCN-004",
                f"{how} with a module or name that is not a constant string",
                f"offset {self.op_offset}",
            )
            return OPAQUE
        g = Global(module, name)
        self._classify(g, how)
        return g

    def _classify(self, g: Global, how: str) -> None:
        full = g.full
        if full in self.seen:
            return
        verdict = classify(g.module, g.name)
        self.seen[full] = verdict
        self.imports.append(full)
        loc = f"offset {self.op_offset}"
        if verdict is Verdict.DANGEROUS:
            self.col.add(
                "SCN-001", f"pickle imports dangerous callable {full} ({how})", loc, callable=full
            )
        elif verdict is Verdict.UNKNOWN:
            self.col.add(
                "SCN-002",
                f"pickle imports {full}, not on the allowlist ({how})",
                loc,
                callable=full,
            )
        elif verdict is Verdict.LIBRARY:
            self.col.add(
                "SCN-003", f"pickle instantiates library class {full} ({how})", loc, callable=full
            )

    # -- calls -------------------------------------------------------------------------------
    def _const_bytes(self, v: Any) -> memoryview | None:
        if isinstance(v, bytes):
            return memoryview(v)
        if isinstance(v, Blob):
            return self.buf[v.offset : v.offset + v.length]
        if isinstance(v, str):
            return memoryview(v.encode("latin-1", "replace"))
        return None

    def _call(self, func: Any, args: Any, how: str) -> Any:
        if isinstance(func, Global):
            folded = self._fold(func, args)
            if folded is not None:
                return folded
            if func.full in NESTED_LOADERS and isinstance(args, tuple) and args:
                data = self._const_bytes(args[0])
                if data is not None:
                    self.col.add(
                        "SCN-005",
                        f"nested pickle passed to {func.full}",
                        f"offset {self.op_offset}",
                    )
                    if self.depth + 1 > self.limits.max_depth:
                        self.col.add(
                            "SCN-024",
                            "nested pickles deeper than the limit",
                            f"offset {self.op_offset}",
                        )
                    else:
                        self.nested_seen.add(bytes(data))
                        sub = self.col.child(f"nested pickle @{self.op_offset}")
                        scan_pickle_stream(data, sub, self.limits, self.depth + 1)
        return Call(func, args)

    def _fold(self, func: Global, args: Any) -> Any:
        """Evaluate pure string operations used to build import names."""
        if not isinstance(args, tuple):
            return None
        full = func.full
        if (
            full
            in (
                "operator.add",
                "_operator.add",
                "operator.concat",
                "_operator.concat",
                "builtins.str.__add__",
            )
            and len(args) == 2
        ):
            a, b = args
            if isinstance(a, str) and isinstance(b, str):
                return a + b
        if full == "builtins.str.join" and len(args) == 2:
            sep, parts = args
            if (
                isinstance(sep, str)
                and isinstance(parts, (list, tuple))
                and all(isinstance(p, str) for p in parts)
            ):
                return sep.join(parts)
        if full in ("builtins.getattr", "__builtin__.getattr") and len(args) >= 2:
            obj, attr = args[0], args[1]
            if isinstance(attr, str):
                if isinstance(obj, Global):
                    g = Global(obj.module, f"{obj.name}.{attr}")
                    self._classify(g, "getattr")
                    return g
                if isinstance(obj, str):
                    g = Global("builtins", f"str.{attr}")
                    self._classify(g, "getattr")
                    return g
        if full in ("codecs.decode", "_codecs.decode", "codecs.encode") and len(args) >= 2:
            data, enc = args[0], args[1]
            if isinstance(data, (str, bytes)) and isinstance(enc, str) and len(data) < 65536:
                try:
                    out = codecs.decode(data, enc) if "decode" in full else codecs.encode(data, enc)
                except Exception:
                    return None
                if isinstance(out, bytes):
                    try:
                        return out.decode("utf-8")
                    except UnicodeDecodeError:
                        return out
                return out
        if full in ("base64.b64decode", "binascii.a2b_base64") and len(args) >= 1:
            import base64

            data = args[0]
            if isinstance(data, (str, bytes)) and len(data) < 65536:
                try:
                    return base64.b64decode(data)
                except Exception:
                    return None
        return None

    def _build(self, obj: Any, state: Any) -> None:
        if isinstance(obj, Call):
            obj.state = state
            if (
                self.joblib
                and isinstance(obj.func, Global)
                and obj.func.full in _JOBLIB_WRAPPERS
                and isinstance(state, SymDict)
            ):
                self._skip_joblib_array(state)

    def _skip_joblib_array(self, state: SymDict) -> None:
        """joblib writes array bytes (or a nested pickle) right after the wrapper's BUILD."""
        # joblib writes them to the file directly, outside the pickler's frames
        self.frame_end = None
        dtype = state.get("dtype")
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise Malformed("joblib array wrapper with an unreadable shape", self.op_offset)
        itemsize, is_object = _dtype_itemsize(dtype)
        if is_object:
            sub = self.col.child(f"joblib object array @{self.pos}")
            m = PickleMachine(self.buf, self.pos, sub, self.limits, self.depth + 1)
            out = m.run()
            if out.end is None:
                raise Malformed("joblib object array stream is malformed", self.op_offset)
            self.pos = out.end
            return
        if itemsize is None:
            raise Malformed("joblib array wrapper with an unknown dtype", self.op_offset)
        count = 1
        for s in shape:
            count *= s
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self._read(1)[0]
            self._read(pad)
        self._read(count * itemsize)

    # -- main loop -----------------------------------------------------------------------------
    def run(self) -> PickleOutcome:
        """Follow the stream to STOP; report problems; never raise."""
        try:
            value = self._loop()
            self._scan_hidden()
            self._check_expansion(value)
            return PickleOutcome(self.pos, value, self.imports)
        except LimitReached as exc:
            self.col.add("SCN-013", f"pickle analysis stopped: {exc}", f"offset {exc.offset}")
        except Malformed as exc:
            self.col.add("SCN-010", f"malformed pickle: {exc}", f"offset {exc.offset}")
        except RecursionError:
            self.col.add(
                "SCN-013", "pickle analysis stopped: recursion limit", f"offset {self.op_offset}"
            )
        except (MemoryError, OverflowError, ValueError, struct.error) as exc:
            self.col.add(
                "SCN-010",
                f"malformed pickle: {type(exc).__name__}: {exc}",
                f"offset {self.op_offset}",
            )
        self._scan_hidden()
        return PickleOutcome(None, None, self.imports)

    def _check_expansion(self, value: Any) -> None:
        """Rule SCN-015: the loaded object, walked as a tree, is vastly larger than the stream.

        Memo references and DUP let a small stream return a list of lists that each hold the
        previous one many times ("billion laughs"); anything that walks, prints, copies or
        serialises the result visits every repetition.
        """
        if self.trial:
            return
        stream = max(1, self.pos - self.start)
        size = tree_size(value, EXPANSION_CAP)
        if size >= EXPANSION_MIN and size > EXPANSION_RATIO * stream:
            shown = f"more than {EXPANSION_CAP:.0e}" if size >= EXPANSION_CAP else f"{size:,}"
            self.col.add(
                "SCN-015",
                f"walking the loaded object visits {shown} objects from {stream:,} bytes of "
                "pickle (memo or DUP references repeated)",
                f"offset {self.start}",
                objects=size,
                stream_bytes=stream,
            )

    def _straddles(self, op_at: int, frame_end: int) -> None:
        """An opcode's data runs past the end of its FRAME (rule SCN-014).

        Unpicklers disagree here: CPython's C unpickler reads on past the frame, its Python
        unpickler stops with an error, other loaders may start decoding opcodes at the frame's
        end. The stream is followed as the C unpickler reads it, and the bytes from the frame's
        end are also analysed as opcodes, the other reading.
        """
        self.frame_tricks += 1
        if self.frame_tricks > 4:
            return
        self.col.add(
            "SCN-014",
            f"opcode at offset {op_at} reads past the end of its FRAME (offset {frame_end})",
            f"offset {op_at}",
        )
        if not self.trial and self.depth + 1 <= self.limits.max_depth:
            sub = self.col.child(f"reading from the frame end @{frame_end}")
            scan_pickle_stream(self.buf[frame_end:], sub, self.limits, self.depth + 1)

    def _scan_hidden(self) -> None:
        """Scan the pickles found inside the stream's data, as nested pickles (bounded)."""
        if self.trial:
            self.hidden = []
            return
        for offset, how, data in self.hidden:
            if data in self.nested_seen:  # already scanned as the argument of a loader
                continue
            self.nested_seen.add(data)
            if not trial_parse(data, self.limits):  # array bytes that only look like one
                continue
            self.col.add("SCN-006", f"pickle hidden in the data as {how}", f"offset {offset}")
            if self.depth + 1 > self.limits.max_depth:
                self.col.add("SCN-024", "nested pickles deeper than the limit", f"offset {offset}")
                continue
            sub = self.col.child(f"hidden pickle @{offset}")
            scan_pickle_stream(memoryview(data), sub, self.limits, self.depth + 1)
        self.hidden = []

    def _loop(self) -> Any:
        max_ops = self.limits.max_pickle_ops
        max_memo = self.limits.max_stack
        ops = 0
        push = self._push
        pop = self._pop
        buf = self.buf
        n = self.n
        table = _TABLE
        memo = self.memo
        while True:
            pos = self.pos
            if pos >= n:
                raise Malformed("stream ends without STOP", pos)
            self.op_offset = pos
            op = buf[pos]
            self.pos = pos + 1
            if op == 0x2E:  # STOP
                return pop() if self.stack else None
            ops += 1
            if ops > max_ops:
                raise LimitReached("opcode limit reached", pos)
            # Fast paths for the opcodes that dominate real checkpoints.
            if op == 0x71 and pos + 1 < n:  # BINPUT
                stack = self.stack
                if not stack or stack[-1] is MARK:
                    raise Malformed("stack underflow", pos)
                memo[buf[pos + 1]] = stack[-1]
                self.pos = pos + 2
                continue
            if op == 0x68 and pos + 1 < n:  # BINGET
                key = buf[pos + 1]
                if key not in memo:
                    raise Malformed(f"memo key {key} not defined", pos)
                self.stack.append(memo[key])
                self.pos = pos + 2
                continue
            if op == 0x4B and pos + 1 < n:  # BININT1
                self.stack.append(buf[pos + 1])
                self.pos = pos + 2
                continue
            handler = table[op]
            if handler is None:
                raise Malformed(f"unknown opcode 0x{op:02x}", pos)
            handler(self, push, pop)
            fe = self.frame_end
            if fe is not None and pos < fe < self.pos:
                self._straddles(pos, fe)
            if len(memo) > max_memo or len(self.stack) > max_memo:
                raise LimitReached("stack or memo size limit reached", pos)


def _dtype_itemsize(dtype: Any) -> tuple[int | None, bool]:
    """Item size of a symbolic ``numpy.dtype(...)`` call, and whether it holds objects."""
    if not isinstance(dtype, Call) or not isinstance(dtype.args, tuple) or not dtype.args:
        return None, False
    code = dtype.args[0]
    if not isinstance(code, str) or not code:
        return None, False
    state = dtype.state
    if isinstance(state, tuple) and len(state) > 5 and isinstance(state[5], int) and state[5] > 0:
        return state[5], False
    kind = code.lstrip("<>=|")[:1]
    digits = code.lstrip("<>=|")[1:]
    if kind == "O":
        return None, True
    if not digits.isdigit():
        return None, False
    size = int(digits)
    return (size * 4 if kind == "U" else size), False


# -- opcode handlers ----------------------------------------------------------------------------
Push = Callable[[Any], None]
Pop = Callable[[], Any]


def _byte(m: PickleMachine) -> int:
    """One unsigned byte argument."""
    p = m.pos
    if p >= m.n:
        raise Malformed("truncated: 1 byte wanted, 0 left", m.op_offset)
    m.pos = p + 1
    return m.buf[p]


def _stop(m: PickleMachine, push: Push, pop: Pop) -> None:  # pragma: no cover - sentinel
    return None


def _mark(m: PickleMachine, push: Push, pop: Pop) -> None:
    m.metastack.append(m.stack)
    m.stack = []
    if len(m.metastack) > m.limits.max_stack:
        raise LimitReached("mark depth limit reached", m.op_offset)


def _pop_op(m: PickleMachine, push: Push, pop: Pop) -> None:
    if m.stack:
        m.stack.pop()
    else:
        m._pop_mark()


def _pop_mark_op(m: PickleMachine, push: Push, pop: Pop) -> None:
    m._pop_mark()


def _dup(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._top())


def _float_line(m: PickleMachine, push: Push, pop: Pop) -> None:
    try:
        push(float(m._line()))
    except ValueError:
        raise Malformed("invalid FLOAT literal", m.op_offset) from None


def _int_line(m: PickleMachine, push: Push, pop: Pop) -> None:
    line = m._line()
    if line == b"00":
        push(False)
        return
    if line == b"01":
        push(True)
        return
    if len(line) > 4300:
        raise Malformed("INT literal too long", m.op_offset)
    try:
        push(int(line))
    except ValueError:
        raise Malformed("invalid INT literal", m.op_offset) from None


def _long_line(m: PickleMachine, push: Push, pop: Pop) -> None:
    line = m._line().rstrip(b"L")
    if len(line) > 4300:
        raise Malformed("LONG literal too long", m.op_offset)
    try:
        push(int(line))
    except ValueError:
        raise Malformed("invalid LONG literal", m.op_offset) from None


def _binint(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._u(4, "<i"))


def _binint1(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(_byte(m))


def _binint2(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._u(2, "<H"))


def _none(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(None)


def _persid(m: PickleMachine, push: Push, pop: Pop) -> None:
    m._line()
    push(OPAQUE)


def _binpersid(m: PickleMachine, push: Push, pop: Pop) -> None:
    pop()
    push(OPAQUE)


def _reduce(m: PickleMachine, push: Push, pop: Pop) -> None:
    args = pop()
    func = pop()
    push(m._call(func, args, "REDUCE"))


def _string_line(m: PickleMachine, push: Push, pop: Pop) -> None:
    line = m._line()
    if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b"'", b'"'):
        raise Malformed("STRING literal not quoted", m.op_offset)
    try:
        raw = codecs.escape_decode(line[1:-1])[0]
        m._look_for_pickle(raw)
        push(raw.decode("latin-1"))
    except Exception:
        raise Malformed("invalid STRING literal", m.op_offset) from None


def _latin1(m: PickleMachine, k: int) -> Any:
    data = m._read(k)
    return bytes(data).decode("latin-1") if k <= _SMALL_BYTES else OPAQUE


def _binstring(m: PickleMachine, push: Push, pop: Pop) -> None:
    k = m._u(4, "<i")
    if k < 0:
        raise Malformed("negative BINSTRING length", m.op_offset)
    push(_latin1(m, k))


def _short_binstring(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(_latin1(m, m._read(1)[0]))


def _unicode_line(m: PickleMachine, push: Push, pop: Pop) -> None:
    try:
        line = m._line()
        m._look_for_pickle(line)
        push(line.decode("raw-unicode-escape"))
    except UnicodeDecodeError:
        raise Malformed("invalid UNICODE literal", m.op_offset) from None


def _binunicode(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._text(m._u(4, "<I")))


def _short_binunicode(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._text(_byte(m)))


def _binunicode8(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._text(m._u(8, "<Q")))


def _binbytes(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._bytes_value(m._u(4, "<I")))


def _short_binbytes(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._bytes_value(m._read(1)[0]))


def _binbytes8(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._bytes_value(m._u(8, "<Q")))


def _bytearray8(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._bytes_value(m._u(8, "<Q")))


def _append(m: PickleMachine, push: Push, pop: Pop) -> None:
    v = pop()
    lst = m._top()
    if isinstance(lst, list):
        lst.append(v)


def _appends(m: PickleMachine, push: Push, pop: Pop) -> None:
    items = m._pop_mark()
    lst = m._top()
    if isinstance(lst, list):
        lst.extend(items)


def _build(m: PickleMachine, push: Push, pop: Pop) -> None:
    state = pop()
    m._build(m._top(), state)


def _global(m: PickleMachine, push: Push, pop: Pop) -> None:
    module = m._line().decode("utf-8", "replace")
    name = m._line().decode("utf-8", "replace")
    push(m._import(module, name, "GLOBAL"))


def _dict(m: PickleMachine, push: Push, pop: Pop) -> None:
    items = m._pop_mark()
    d = SymDict()
    d.items.extend(zip(items[0::2], items[1::2], strict=False))
    push(d)


def _empty_dict(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(SymDict())


def _get(m: PickleMachine, push: Push, pop: Pop) -> None:
    try:
        key = int(m._line())
    except ValueError:
        raise Malformed("invalid GET index", m.op_offset) from None
    _get_key(m, push, key)


def _get_key(m: PickleMachine, push: Push, key: int) -> None:
    if key not in m.memo:
        raise Malformed(f"memo key {key} not defined", m.op_offset)
    push(m.memo[key])


def _binget(m: PickleMachine, push: Push, pop: Pop) -> None:
    _get_key(m, push, _byte(m))


def _long_binget(m: PickleMachine, push: Push, pop: Pop) -> None:
    _get_key(m, push, m._u(4, "<I"))


def _inst(m: PickleMachine, push: Push, pop: Pop) -> None:
    module = m._line().decode("utf-8", "replace")
    name = m._line().decode("utf-8", "replace")
    cls = m._import(module, name, "INST")
    args = tuple(m._pop_mark())
    push(m._call(cls, args, "INST"))


def _list(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(list(m._pop_mark()))


def _empty_list(m: PickleMachine, push: Push, pop: Pop) -> None:
    push([])


def _obj(m: PickleMachine, push: Push, pop: Pop) -> None:
    items = m._pop_mark()
    if not items:
        raise Malformed("OBJ without a class", m.op_offset)
    push(m._call(items[0], tuple(items[1:]), "OBJ"))


def _put(m: PickleMachine, push: Push, pop: Pop) -> None:
    try:
        key = int(m._line())
    except ValueError:
        raise Malformed("invalid PUT index", m.op_offset) from None
    m.memo[key] = m._top()


def _binput(m: PickleMachine, push: Push, pop: Pop) -> None:
    m.memo[_byte(m)] = m._top()


def _long_binput(m: PickleMachine, push: Push, pop: Pop) -> None:
    m.memo[m._u(4, "<I")] = m._top()


def _memoize(m: PickleMachine, push: Push, pop: Pop) -> None:
    m.memo[len(m.memo)] = m._top()


def _setitem(m: PickleMachine, push: Push, pop: Pop) -> None:
    v = pop()
    k = pop()
    d = m._top()
    if isinstance(d, SymDict):
        d.items.append((k, v))


def _setitems(m: PickleMachine, push: Push, pop: Pop) -> None:
    items = m._pop_mark()
    d = m._top()
    if isinstance(d, SymDict):
        d.items.extend(zip(items[0::2], items[1::2], strict=False))


def _tuple(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(tuple(m._pop_mark()))


def _empty_tuple(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(())


def _tuple1(m: PickleMachine, push: Push, pop: Pop) -> None:
    push((pop(),))


def _tuple2(m: PickleMachine, push: Push, pop: Pop) -> None:
    b = pop()
    a = pop()
    push((a, b))


def _tuple3(m: PickleMachine, push: Push, pop: Pop) -> None:
    c = pop()
    b = pop()
    a = pop()
    push((a, b, c))


def _binfloat(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(m._u(8, ">d"))


def _proto(m: PickleMachine, push: Push, pop: Pop) -> None:
    v = m._read(1)[0]
    if v > 5:
        raise Malformed(f"unsupported pickle protocol {v}", m.op_offset)


def _newobj(m: PickleMachine, push: Push, pop: Pop) -> None:
    args = pop()
    cls = pop()
    push(m._call(cls, args, "NEWOBJ"))


def _newobj_ex(m: PickleMachine, push: Push, pop: Pop) -> None:
    pop()
    args = pop()
    cls = pop()
    push(m._call(cls, args, "NEWOBJ_EX"))


def _ext(size: int, fmt: str) -> Callable[[PickleMachine, Push, Pop], None]:
    def handler(m: PickleMachine, push: Push, pop: Pop) -> None:
        code = m._u(size, fmt) if size > 1 else m._read(1)[0]
        m.col.add(
            "SCN-004",
            f"pickle imports through extension registry code {code} "
            "(EXT opcode); the callable depends on the loading process",
            f"offset {m.op_offset}",
        )
        push(OPAQUE)

    return handler


def _newtrue(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(True)


def _newfalse(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(False)


def _long_n(m: PickleMachine, k: int) -> int:
    if k > 1 << 16:
        m._read(k)
        return 0
    return int.from_bytes(m._read(k), "little", signed=True)


def _long1(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(_long_n(m, m._read(1)[0]))


def _long4(m: PickleMachine, push: Push, pop: Pop) -> None:
    k = m._u(4, "<i")
    if k < 0:
        raise Malformed("negative LONG4 length", m.op_offset)
    push(_long_n(m, k))


def _empty_set(m: PickleMachine, push: Push, pop: Pop) -> None:
    push([])


def _additems(m: PickleMachine, push: Push, pop: Pop) -> None:
    items = m._pop_mark()
    s = m._top()
    if isinstance(s, list):
        s.extend(items)


def _frozenset(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(tuple(m._pop_mark()))


def _stack_global(m: PickleMachine, push: Push, pop: Pop) -> None:
    name = pop()
    module = pop()
    push(m._import(module, name, "STACK_GLOBAL"))


def _frame(m: PickleMachine, push: Push, pop: Pop) -> None:
    k = m._u(8, "<Q")
    if m.pos + k > m.n:
        raise Malformed("FRAME longer than the data", m.op_offset)
    if m.frame_end is not None and m.op_offset < m.frame_end:
        m.frame_tricks += 1
        if m.frame_tricks <= 4:
            m.col.add(
                "SCN-014",
                f"FRAME at offset {m.op_offset} starts inside the previous frame, which ends at "
                f"offset {m.frame_end}",
                f"offset {m.op_offset}",
            )
    m.frame_end = m.pos + k


def _next_buffer(m: PickleMachine, push: Push, pop: Pop) -> None:
    push(OPAQUE)


def _readonly_buffer(m: PickleMachine, push: Push, pop: Pop) -> None:
    m._top()


_HANDLERS: dict[int, Callable[[PickleMachine, Push, Pop], None]] = {
    ord("("): _mark,
    ord("."): _stop,
    ord("0"): _pop_op,
    ord("1"): _pop_mark_op,
    ord("2"): _dup,
    ord("F"): _float_line,
    ord("I"): _int_line,
    ord("J"): _binint,
    ord("K"): _binint1,
    ord("L"): _long_line,
    ord("M"): _binint2,
    ord("N"): _none,
    ord("P"): _persid,
    ord("Q"): _binpersid,
    ord("R"): _reduce,
    ord("S"): _string_line,
    ord("T"): _binstring,
    ord("U"): _short_binstring,
    ord("V"): _unicode_line,
    ord("X"): _binunicode,
    ord("a"): _append,
    ord("b"): _build,
    ord("c"): _global,
    ord("d"): _dict,
    ord("}"): _empty_dict,
    ord("e"): _appends,
    ord("g"): _get,
    ord("h"): _binget,
    ord("i"): _inst,
    ord("j"): _long_binget,
    ord("l"): _list,
    ord("]"): _empty_list,
    ord("o"): _obj,
    ord("p"): _put,
    ord("q"): _binput,
    ord("r"): _long_binput,
    ord("s"): _setitem,
    ord("t"): _tuple,
    ord(")"): _empty_tuple,
    ord("u"): _setitems,
    ord("G"): _binfloat,
    ord("B"): _binbytes,
    ord("C"): _short_binbytes,
    0x80: _proto,
    0x81: _newobj,
    0x82: _ext(1, "<B"),
    0x83: _ext(2, "<H"),
    0x84: _ext(4, "<i"),
    0x85: _tuple1,
    0x86: _tuple2,
    0x87: _tuple3,
    0x88: _newtrue,
    0x89: _newfalse,
    0x8A: _long1,
    0x8B: _long4,
    0x8C: _short_binunicode,
    0x8D: _binunicode8,
    0x8E: _binbytes8,
    0x8F: _empty_set,
    0x90: _additems,
    0x91: _frozenset,
    0x92: _newobj_ex,
    0x93: _stack_global,
    0x94: _memoize,
    0x95: _frame,
    0x96: _bytearray8,
    0x97: _next_buffer,
    0x98: _readonly_buffer,
}

_TABLE: list[Callable[[PickleMachine, Push, Pop], None] | None] = [
    _HANDLERS.get(i) for i in range(256)
]

EXPANSION_CAP = 10**9
"""Objects counted at most when the loaded value is walked as a tree."""
EXPANSION_MIN = 10**7
"""Fewest objects of a walk that can be an expansion attack (SCN-015)."""
EXPANSION_RATIO = 1000
"""Objects per stream byte above which a walk is an expansion attack."""


def tree_size(value: Any, cap: int) -> int:
    """Objects visited when ``value`` is walked as a tree (shared references counted each
    time, cycles once), up to ``cap``; computed in time linear in the distinct objects."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def children(v: Any) -> list[Any]:
        if isinstance(v, list | tuple | set | frozenset):
            return list(v)
        if isinstance(v, SymDict):
            return [x for pair in v.items for x in pair]
        if isinstance(v, Call):
            return [v.args, v.state]
        return []

    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        v, done = stack.pop()
        key = id(v)
        kids = children(v)
        if not kids:
            sizes[key] = 1
            continue
        if done:
            busy.discard(key)
            sizes[key] = min(cap, 1 + sum(sizes.get(id(k), 1) for k in kids))
            continue
        if key in sizes or key in busy:
            continue
        busy.add(key)
        stack.append((v, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes and id(k) not in busy)
    return sizes.get(id(value), 1)


HIDDEN_MIN = 8
"""Shortest bytes or string constant looked at for a hidden pickle."""
HIDDEN_MAX_PER_STREAM = 32
"""Most hidden pickles one stream's data is scanned for."""
_HEX = re.compile(rb"[0-9a-fA-F]+")
_B64 = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
_PROTO0_GLOBAL = re.compile(rb"c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n")


def _pickle_head(raw: bytes) -> bool:
    """A PROTO 2-5 header, or a protocol-0 GLOBAL opcode with a module and name."""
    return (len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5) or bool(
        _PROTO0_GLOBAL.match(raw[:600])
    )


def hidden_pickle(data: memoryview | bytes, max_bytes: int) -> tuple[str, bytes] | None:
    """``(how, pickle bytes)`` when ``data`` holds a pickle as raw bytes, hex or base64.

    Only the first bytes are decoded to decide, so a large constant costs little unless it
    really starts like a pickle; decoded data is capped at ``max_bytes``.
    """
    head = bytes(data[:64])
    if _pickle_head(head):
        return "raw bytes", bytes(data[:max_bytes])
    stripped = head.strip()
    if _HEX.fullmatch(stripped) and _pickle_head(_unhex(stripped[: len(stripped) // 2 * 2])):
        whole = bytes(data[: 2 * max_bytes]).strip()
        if _HEX.fullmatch(whole) and len(whole) % 2 == 0:
            return "hex", bytes.fromhex(whole.decode("ascii"))
    if _B64.fullmatch(stripped):
        try:
            start = base64.b64decode(stripped[: len(stripped) // 4 * 4] + b"==", altchars=None)
        except (binascii.Error, ValueError):
            start = b""
        if _pickle_head(start):
            whole = b"".join(bytes(data[: 2 * max_bytes]).split())
            try:
                return "base64", base64.b64decode(whole, validate=True)
            except (binascii.Error, ValueError):
                try:
                    return "base64", base64.urlsafe_b64decode(whole)
                except (binascii.Error, ValueError):
                    return None
    return None


TRIAL_OPS = 200_000
"""Opcodes a trial parse follows at most (reaching the limit counts as a pickle)."""


def trial_parse(data: memoryview | bytes, limits: ScanLimits) -> bool:
    """Would a pickle loader act on ``data``: does it parse to STOP, or, before it breaks off,
    import something or do anything else the analysis reports (an extension-registry lookup,
    a persistent id, more operations than the trial follows)? Nothing is reported."""
    trial = Collector("trial")
    limits = dataclasses.replace(limits, max_pickle_ops=min(limits.max_pickle_ops, TRIAL_OPS))
    machine = PickleMachine(memoryview(data), 0, trial, limits, joblib=False)
    machine.trial = True
    out = machine.run()
    acted = any(f.rule != "SCN-010" for f in trial.findings)
    return out.end is not None or bool(out.imports) or acted


def _unhex(text: bytes) -> bytes:
    try:
        return bytes.fromhex(text.decode("ascii"))
    except ValueError:
        return b""


#: Every byte that is a pickle opcode: what a stream (PROTO header or not) can start with.
OPCODES = frozenset(i for i, handler in enumerate(_TABLE) if handler is not None) | {0x2E}


def looks_like_pickle(head: bytes) -> bool:
    """Cheap content test: a protocol 2-5 header, or a plausible protocol 0/1 first opcode."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def scan_pickle_stream(
    data: memoryview,
    col: Collector,
    limits: ScanLimits,
    depth: int = 0,
    allow_trailing: bool = False,
) -> list[PickleOutcome]:
    """Analyse every pickle in ``data``: the first, any that follow, and data after STOP."""
    outcomes: list[PickleOutcome] = []
    pos = 0
    n = len(data)
    while pos < n:
        if len(outcomes) >= limits.max_pickles_per_file:
            col.add(
                "SCN-013",
                "too many pickles in one file; the rest was not analysed",
                f"offset {pos}",
            )
            break
        sub = col if not outcomes else col.child(f"pickle #{len(outcomes) + 1}")
        out = PickleMachine(data, pos, sub, limits, depth).run()
        outcomes.append(out)
        if out.end is None:
            break
        pos = out.end
        if pos >= n:
            break
        nxt = bytes(data[pos : pos + 2])
        if allow_trailing:
            break
        if looks_like_pickle(nxt) or nxt[:1] in (b"(", b"c", b"]", b"}"):
            if len(outcomes) == 1:
                col.add(
                    "SCN-011",
                    "several pickles in one file; a loader reads only the first",
                    f"offset {pos}",
                )
            continue
        col.add("SCN-012", f"{n - pos} bytes of data after the pickle STOP opcode", f"offset {pos}")
        break
    return outcomes
