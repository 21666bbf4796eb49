"""Zip, tar and compressed streams, opened in memory with bounded decompression.

Member names, links, counts and sizes are checked before anything is read; members are read
only when their kind needs it (pickles, configurations, nested archives), never tensor data.
"""

from __future__ import annotations

import bz2
import io
import lzma
import re
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from typing import IO

from aisec.supplychain.scan import detect as fmt
from aisec.supplychain.scan.limits import ScanLimits
from aisec.supplychain.scan.pickle_vm import OPCODES, scan_pickle_stream
from aisec.supplychain.scan.rules import Collector

_PEEK = 4096
Analyse = Callable[[memoryview, str, Collector, int], str]


class Budget:
    """Bytes that may still be decompressed for one top-level file."""

    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.left = limits.max_total_bytes

    def take(self, n: int) -> bool:
        """Consume ``n`` bytes; False when the budget is exhausted."""
        self.left -= n
        return self.left >= 0


class BufferReader(io.RawIOBase):
    """A seekable read-only file over a memoryview (no copy of the underlying buffer)."""

    def __init__(self, data: memoryview) -> None:
        super().__init__()
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data[self._pos : self._pos + len(b)]
        n = len(chunk)
        b[:n] = chunk
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = len(self._data) + offset
        self._pos = max(0, self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos


def unsafe_member_name(name: str) -> bool:
    """True when extracting ``name`` would write outside the destination folder."""
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n) or "\x00" in n:
        return True
    return any(part == ".." for part in n.split("/"))


def _read_bounded(stream: IO[bytes], limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; the flag says whether more data remained."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = stream.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)[:limit], True


def _member(
    name: str,
    opener: Callable[[], IO[bytes]],
    size: int,
    kind: str,
    col: Collector,
    analyse: Analyse,
    budget: Budget,
    depth: int,
) -> None:
    """Peek at a member, then read and analyse it when its kind needs it."""
    limits = budget.limits
    lower = name.lower()
    if kind == "torch" and not lower.endswith(".pkl"):
        return  # torch.load unpickles only the .pkl members; the rest is raw tensor data
    with opener() as f:
        head = f.read(_PEEK)
    detected = fmt.detect(head, name)
    if detected == fmt.UNKNOWN and not _worth_reading(lower, head):
        return
    if kind == "keras" and lower.endswith(".h5"):
        return  # weights only: Keras 3 keeps the configuration in config.json
    if detected == fmt.NUMPY and b"'O" not in head and b"|O" not in head and b"object" not in head:
        from aisec.supplychain.scan.formats_tensor import scan_npy

        scan_npy(memoryview(head), col.child(name), limits, depth + 1, size=size)
        return
    if not budget.take(size):
        col.add("SCN-022", "decompression budget for this file exhausted", name)
        return
    with opener() as f:
        data, more = _read_bounded(f, limits.max_member_bytes)
    if more:
        col.add("SCN-022", f"member {name} inflates past {limits.max_member_bytes} bytes", name)
        return
    _analyse_member(name, data, kind, col, analyse, limits, depth)


def _analyse_member(
    name: str,
    data: bytes,
    kind: str,
    col: Collector,
    analyse: Analyse,
    limits: ScanLimits,
    depth: int,
) -> None:
    """Analyse a member's bytes as the archive's kind says its loader reads them."""
    lower = name.lower()
    if kind == "skops" and lower == "schema.json":
        from aisec.supplychain.scan.formats_skops import scan_skops_schema

        scan_skops_schema(data, col.child(name))
        return
    if kind == "keras" and lower.endswith(".json"):
        from aisec.supplychain.scan.formats_keras import scan_keras_json

        scan_keras_json(data, col, name)
        return
    sub = col.child(name)
    if kind == "torch":
        scan_pickle_stream(memoryview(data), sub, limits, depth + 1)
        return
    analyse(memoryview(data), name, sub, depth + 1)


#: Member names read although their content is not recognised by its first bytes.
_READ_BY_NAME = (*fmt.PICKLE_EXTENSIONS, ".pb", ".jinja", ".jinja2", ".j2")


def _worth_reading(lower: str, head: bytes) -> bool:
    """Whether an unrecognised member may still be a pickle (any first opcode: the analysis
    then tries it), a SavedModel graph or a chat template."""
    return bool(head) and (head[0] in OPCODES or lower.endswith(_READ_BY_NAME))


def _as_pytorch_reads(data: memoryview, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """A member's bytes as PyTorch's zip reader (miniz) gets them: from the central directory's
    offset, method and compressed size, with no CRC, flag or local-name check. None when the
    member is neither stored nor deflated, or does not inflate (really encrypted, say)."""
    at = info.header_offset
    if bytes(data[at : at + 4]) != b"PK\x03\x04" or at + 30 > len(data):
        return None
    name_len = int.from_bytes(data[at + 26 : at + 28], "little")
    extra_len = int.from_bytes(data[at + 28 : at + 30], "little")
    start = at + 30 + name_len + extra_len
    raw = bytes(data[start : start + info.compress_size])
    if info.compress_type == zipfile.ZIP_STORED:
        return raw[:limit]
    if info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            inflater = zlib.decompressobj(-15)
            out = inflater.decompress(raw, limit)
        except zlib.error:
            return None
        return out if inflater.eof or len(out) == limit else None
    return None


def _analyse_raw(
    name: str,
    plain: bytes,
    kind: str,
    col: Collector,
    analyse: Analyse,
    budget: Budget,
    depth: int,
) -> None:
    """Analyse a member's bytes obtained without :mod:`zipfile` (see :func:`_as_pytorch_reads`)."""
    if kind == "torch" and not name.lower().endswith(".pkl"):
        return  # torch.load unpickles only the .pkl members
    if not budget.take(len(plain)):
        col.add("SCN-022", "decompression budget for this file exhausted", name)
        return
    _analyse_member(name, plain, kind, col, analyse, budget.limits, depth)


def _zip_kind(names: list[str]) -> str:
    if any(re.fullmatch(r"[^/]+/data\.pkl", n) for n in names) or "data.pkl" in names:
        return "torch"
    if "config.json" in names and (
        "metadata.json" in names or any(n.endswith(".weights.h5") for n in names)
    ):
        return "keras"
    if names and all(n.endswith(".npy") for n in names if not n.endswith("/")):
        return "npz"
    if "schema.json" in names:
        return "skops"
    return "zip"


def scan_zip(data: memoryview, col: Collector, analyse: Analyse, budget: Budget, depth: int) -> str:
    """Analyse a zip archive; returns its refined format (pytorch-zip, keras, npz, zip)."""
    limits = budget.limits
    try:
        zf = zipfile.ZipFile(BufferReader(data))
        infos = zf.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        UnicodeDecodeError,
    ) as exc:
        col.add("SCN-025", f"corrupt zip archive: {str(exc)[:120]}", "archive")
        return "zip"
    names = [i.filename for i in infos]
    kind = _zip_kind(names)
    if len(infos) > limits.max_members:
        col.add("SCN-023", f"zip archive has {len(infos)} members", "archive", members=len(infos))
        infos = infos[: limits.max_members]
    dupes = [n for n, c in Counter(names).items() if c > 1]
    if dupes:
        col.add("SCN-026", f"zip archive has duplicate members: {', '.join(dupes[:5])}", "archive")
    for info in infos:
        name = info.filename
        if unsafe_member_name(name):
            col.add("SCN-020", f"zip member {name!r} escapes the extraction folder", name)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:
            col.add("SCN-021", f"zip member {name!r} is a symbolic link", name)
            continue
        if info.is_dir():
            continue
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > limits.max_member_bytes or (
            info.file_size >= limits.bomb_min_bytes and ratio > limits.max_ratio
        ):
            col.add(
                "SCN-022",
                f"zip member {name!r} inflates to {info.file_size} bytes (ratio {ratio:.0f})",
                name,
                size=info.file_size,
                ratio=round(ratio, 1),
            )
            continue
        if info.flag_bits & 0x1:
            plain = _as_pytorch_reads(data, info, limits.max_member_bytes)
            if plain is not None and fmt.detect(plain[:512], name) == fmt.UNKNOWN:
                plain = None  # ciphertext: really encrypted
            if plain is None:
                col.add(
                    "SCN-027",
                    f"zip member {name!r} is encrypted (password-protected); its content cannot "
                    "be inspected",
                    name,
                )
                continue
            col.add(
                "SCN-025",
                f"zip member {name!r} is flagged encrypted but stored in plain: PyTorch reads "
                "it, Python's zipfile refuses it",
                name,
            )
            _analyse_raw(name, plain, kind, col, analyse, budget, depth)
            continue
        if depth + 1 > limits.max_depth:
            col.add("SCN-024", "archive nested deeper than the limit; member not analysed", name)
            continue
        try:
            _member(
                name,
                lambda info=info: zf.open(info),
                info.file_size,
                kind,
                col,
                analyse,
                budget,
                depth,
            )
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
            lzma.LZMAError,
        ) as exc:
            plain = _as_pytorch_reads(data, info, limits.max_member_bytes)
            if plain is None:
                col.add("SCN-025", f"zip member {name!r} cannot be read: {str(exc)[:100]}", name)
                continue
            col.add(
                "SCN-025",
                f"zip member {name!r} fails Python's zip checks ({str(exc)[:60]}) but PyTorch "
                "reads it; analysed as PyTorch reads it",
                name,
            )
            _analyse_raw(name, plain, kind, col, analyse, budget, depth)
    return {"torch": "pytorch-zip", "keras": "keras", "npz": "npz", "skops": "skops"}.get(
        kind, "zip"
    )


def scan_tar(data: memoryview, col: Collector, analyse: Analyse, budget: Budget, depth: int) -> str:
    """Analyse a tar archive (uncompressed; compressed ones arrive decompressed)."""
    seen: list[str] = []
    try:
        with tarfile.open(fileobj=BufferReader(data), mode="r:") as tf:
            _tar_members(tf, seen, col, analyse, budget, depth)
    except (tarfile.TarError, OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        col.add("SCN-025", f"corrupt tar archive: {str(exc)[:120]}", f"member {len(seen)}")
    dupes = [n for n, c in Counter(seen).items() if c > 1]
    if dupes:
        col.add("SCN-026", f"tar archive has duplicate members: {', '.join(dupes[:5])}", "archive")
    return "tar"


def _tar_members(
    tf: tarfile.TarFile,
    seen: list[str],
    col: Collector,
    analyse: Analyse,
    budget: Budget,
    depth: int,
) -> None:
    limits = budget.limits
    for member in tf:
        if len(seen) >= limits.max_members:
            col.add("SCN-023", f"tar archive has more than {limits.max_members} members", "archive")
            return
        name = member.name
        seen.append(name)
        if unsafe_member_name(name):
            col.add("SCN-020", f"tar member {name!r} escapes the extraction folder", name)
        if member.issym() or member.islnk():
            col.add("SCN-021", f"tar member {name!r} links to {member.linkname!r}", name)
            continue
        if member.isdev() or member.isfifo():
            col.add("SCN-021", f"tar member {name!r} is a device or FIFO", name)
            continue
        if not member.isfile():
            continue
        if member.size > limits.max_member_bytes:
            col.add("SCN-022", f"tar member {name!r} is {member.size} bytes", name)
            continue
        if depth + 1 > limits.max_depth:
            col.add("SCN-024", "archive nested deeper than the limit; member not analysed", name)
            continue
        _member(
            name,
            lambda member=member: tf.extractfile(member),  # type: ignore[arg-type,return-value]
            member.size,
            "tar",
            col,
            analyse,
            budget,
            depth,
        )


def decompress(data: memoryview, kind: str, col: Collector, budget: Budget) -> bytes | None:
    """Inflate a gzip/bz2/xz/lzma/zlib stream within the limits; None when refused."""
    limits = budget.limits
    limit = min(limits.max_member_bytes, max(0, budget.left))
    try:
        if kind == fmt.BZIP2:
            d: object = bz2.BZ2Decompressor()
        elif kind in (fmt.XZ, fmt.LZMA):
            d = lzma.LZMADecompressor()
        else:
            d = zlib.decompressobj(47 if kind == fmt.GZIP else 15)
        out = d.decompress(bytes(data), limit + 1)  # type: ignore[attr-defined]
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, MemoryError) as exc:
        col.add("SCN-025", f"corrupt {kind} stream: {str(exc)[:120]}", "stream")
        return None
    if len(out) > limit:
        col.add("SCN-022", f"{kind} stream inflates past {limit} bytes", "stream")
        return None
    ratio = len(out) / max(1, len(data))
    if len(out) >= limits.bomb_min_bytes and ratio > limits.max_ratio:
        col.add(
            "SCN-022", f"{kind} stream inflates {ratio:.0f}-fold", "stream", ratio=round(ratio, 1)
        )
        return None
    budget.take(len(out))
    return out


def scan_7z(data: memoryview, col: Collector, analyse: Analyse, budget: Budget, depth: int) -> str:
    """Analyse a 7z archive through py7zr, in memory and within the limits (the ``archives``
    extra); without py7zr, say that its members were not inspected (SCN-028)."""
    try:
        import py7zr
        from py7zr.io import BytesIOFactory
    except ModuleNotFoundError:
        col.add(
            "SCN-028",
            "7z archive: its members were not inspected (pip install 'aisec[archives]' adds "
            "7z support)",
            "file",
        )
        return "7z"
    limits = budget.limits
    try:
        with py7zr.SevenZipFile(io.BytesIO(bytes(data)), mode="r") as archive:
            if archive.needs_password():
                col.add(
                    "SCN-027", "7z archive is encrypted; its content cannot be inspected", "file"
                )
                return "7z"
            infos = [i for i in archive.list() if not i.is_directory]
            if len(infos) > limits.max_members:
                col.add("SCN-023", f"7z archive has {len(infos)} members", "archive")
                infos = infos[: limits.max_members]
            wanted = []
            for info in infos:
                name = info.filename
                if unsafe_member_name(name):
                    col.add("SCN-020", f"7z member {name!r} escapes the extraction folder", name)
                size = int(info.uncompressed or 0)
                if size > limits.max_member_bytes or not budget.take(size):
                    col.add("SCN-022", f"7z member {name!r} inflates to {size} bytes", name)
                    continue
                wanted.append(name)
            if depth + 1 > limits.max_depth:
                col.add("SCN-024", "archive nested deeper than the limit; not analysed", "file")
                return "7z"
            factory = BytesIOFactory(limits.max_member_bytes)
            if wanted:
                archive.extract(targets=wanted, factory=factory)
    except (py7zr.exceptions.ArchiveError, OSError, ValueError, EOFError, KeyError) as exc:
        col.add("SCN-025", f"corrupt 7z archive: {str(exc)[:120]}", "archive")
        return "7z"
    for name in wanted:
        product = factory.products.get(name)
        if product is None:
            continue
        product.seek(0)
        _analyse_member_bytes(name, product.read(), col, analyse, depth)
    return "7z"


def _analyse_member_bytes(
    name: str, data: bytes, col: Collector, analyse: Analyse, depth: int
) -> None:
    """Analyse one extracted member, skipping content that can be neither pickle nor model."""
    if fmt.detect(data[:512], name) == fmt.UNKNOWN and not _worth_reading(name.lower(), data[:1]):
        return
    analyse(memoryview(data), name, col.child(name), depth + 1)
