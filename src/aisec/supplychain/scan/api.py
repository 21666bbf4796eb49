"""Public scanning API: files and folders in, a report of findings out. Nothing is executed."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisec.errors import ScanError
from aisec.records import Finding, Severity
from aisec.supplychain.scan import archives
from aisec.supplychain.scan import detect as fmt
from aisec.supplychain.scan.formats_gguf import scan_gguf
from aisec.supplychain.scan.formats_keras import scan_hdf5, scan_keras_json
from aisec.supplychain.scan.formats_onnx import scan_onnx
from aisec.supplychain.scan.formats_savedmodel import looks_like_saved_model, scan_saved_model
from aisec.supplychain.scan.formats_templates import (
    TEMPLATE_EXTENSIONS,
    review_json_templates,
    review_template,
)
from aisec.supplychain.scan.formats_tensor import scan_npy, scan_safetensors
from aisec.supplychain.scan.limits import DEFAULT_LIMITS, ScanLimits
from aisec.supplychain.scan.pickle_vm import PickleMachine, scan_pickle_stream, trial_parse
from aisec.supplychain.scan.rules import Collector


@dataclass(frozen=True)
class FileReport:
    """Findings for one scanned file."""

    path: str
    """The file as given (or found under a given folder)."""
    format: str
    """Detected format, e.g. ``pickle``, ``pytorch-zip``, ``safetensors``, ``unknown``."""
    size: int
    """Size in bytes."""
    findings: list[Finding] = field(default_factory=list)
    """Findings, in the order they were found."""

    @property
    def max_severity(self) -> Severity | None:
        """Highest severity among the findings, or None."""
        return max((f.severity for f in self.findings), default=None, key=lambda s: s.rank)

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``aisec scan --format json``."""
        return {
            "path": self.path,
            "format": self.format,
            "size": self.size,
            "findings": [
                {
                    "severity": f.severity.value,
                    "rule": f.rule,
                    "message": f.title,
                    "location": f.location,
                }
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class ScanReport:
    """Findings for every file of one scan."""

    files: list[FileReport] = field(default_factory=list)
    """One report per file, in scan order."""

    @property
    def findings(self) -> list[Finding]:
        """Every finding, flattened."""
        return [f for fr in self.files for f in fr.findings]

    @property
    def max_severity(self) -> Severity | None:
        """Highest severity of any finding, or None when there is none."""
        return max((f.severity for f in self.findings), default=None, key=lambda s: s.rank)

    def summary(self) -> dict[str, Any]:
        """Counts by severity and rule."""
        findings = self.findings
        by_sev = Counter(f.severity.value for f in findings)
        top = self.max_severity
        return {
            "files": len(self.files),
            "findings": len(findings),
            "max_severity": top.value if top else None,
            "by_severity": {s.value: by_sev.get(s.value, 0) for s in Severity},
            "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        }

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON schema documented in docs/scanner.md."""
        return {"files": [f.to_dict() for f in self.files], "summary": self.summary()}


class _Scan:
    """One top-level file's analysis: dispatch by content, recursion through containers."""

    def __init__(self, limits: ScanLimits, base_dir: Path | None) -> None:
        self.limits = limits
        self.budget = archives.Budget(limits)
        self.base_dir = base_dir

    def analyse(self, data: memoryview, name: str, col: Collector, depth: int) -> str:
        head = bytes(data[:512])
        kind = fmt.detect(head, name)
        if kind in (fmt.UNKNOWN, fmt.PICKLE) and head[:1] not in (b"", b"\x80"):
            # No protocol 2-5 header: CPython's loader needs none, so the content decides,
            # whatever the name says. A stream that reaches STOP, or imports anything before it
            # breaks off (the loader has run those opcodes by then), is a pickle; a file named
            # like one whose bytes are not is reported as unrecognised, not as a bad pickle.
            kind = fmt.PICKLE if trial_parse(data, self.limits) else fmt.UNKNOWN
        ext = os.path.splitext(name.lower())[1]
        expected = fmt.SAFE_EXTENSIONS.get(ext)
        if (
            expected
            and kind != expected
            and kind in (fmt.PICKLE, fmt.TORCH_LEGACY, fmt.ZIP, fmt.NUMPY)
            and not (ext == ".keras" and kind == fmt.ZIP)
        ):
            col.add("SCN-092", f"{ext} file holds {kind} content", "file", format=kind)
        if kind in (fmt.ZIP, fmt.TAR, fmt.GZIP, fmt.BZIP2, fmt.XZ, fmt.LZMA, fmt.ZLIB) and (
            depth > self.limits.max_depth
        ):
            col.add("SCN-024", "archive nested deeper than the limit; not analysed", "file")
            return kind
        if kind == fmt.PICKLE:
            outcomes = scan_pickle_stream(data, col, self.limits, depth)
            imports = {i for o in outcomes for i in o.imports}
            return "joblib" if any(i.startswith("joblib.") for i in imports) else "pickle"
        if kind == fmt.TORCH_LEGACY:
            self._torch_legacy(data, col, depth)
            return kind
        if kind == fmt.ZIP:
            return archives.scan_zip(data, col, self.analyse, self.budget, depth)
        if kind == fmt.TAR:
            return archives.scan_tar(data, col, self.analyse, self.budget, depth)
        if kind in (fmt.GZIP, fmt.BZIP2, fmt.XZ, fmt.LZMA, fmt.ZLIB):
            inner = archives.decompress(data, kind, col, self.budget)
            if inner is not None:
                stem = name[: -len(ext)] if ext in (".gz", ".bz2", ".xz", ".lzma", ".z") else name
                sub = self.analyse(memoryview(inner), stem, col, depth + 1)
                return f"{kind}+{sub}"
            return kind
        if kind == fmt.NUMPY:
            scan_npy(data, col, self.limits, depth)
        elif kind == fmt.SAFETENSORS:
            scan_safetensors(data, col, self.limits)
        elif kind == fmt.GGUF:
            scan_gguf(data, col, self.limits)
        elif kind == fmt.HDF5:
            scan_hdf5(data, col, self.limits)
        elif kind == fmt.ONNX:
            scan_onnx(data, col)
        elif kind == fmt.UNKNOWN and ext == ".pb" and looks_like_saved_model(data):
            scan_saved_model(data, col)
            return "tensorflow-savedmodel"
        elif kind == fmt.SEVENZIP:
            return archives.scan_7z(data, col, self.analyse, self.budget, depth)
        elif ext in TEMPLATE_EXTENSIONS and kind in (fmt.JSON, fmt.UNKNOWN):
            if len(data) <= self.limits.max_text_bytes:
                review_template(bytes(data).decode("utf-8", "replace"), col, "template")
            return "jinja"
        elif kind == fmt.JSON:
            text = bytes(data[: self.limits.max_text_bytes])
            if len(data) <= self.limits.max_text_bytes and b'"class_name"' in text:
                scan_keras_json(text, col, "config")
            if len(data) <= self.limits.max_text_bytes and b'"chat_template"' in text:
                review_json_templates(text, col)
        else:
            col.add("SCN-090", "format not recognised; not analysed", "file")
        return kind

    def _torch_legacy(self, data: memoryview, col: Collector, depth: int) -> None:
        """Legacy torch.save: magic, protocol, sys_info, object and storage-key pickles."""
        pos = 0
        for i in range(5):
            sub = col if i == 3 else col.child(f"pickle #{i + 1}")
            out = PickleMachine(data, pos, sub, self.limits, depth).run()
            if out.end is None:
                return
            pos = out.end
            if pos >= len(data):
                return


def _scan_buffer(
    data: memoryview, name: str, size: int, limits: ScanLimits, base_dir: Path | None
) -> FileReport:
    col = Collector(name)
    scan = _Scan(limits, base_dir)
    try:
        kind = scan.analyse(data, name, col, 0)
    except RecursionError:
        col.add("SCN-013", "analysis stopped: nesting too deep", "file")
        kind = "unknown"
    except MemoryError:
        col.add("SCN-013", "analysis stopped: out of memory", "file")
        kind = "unknown"
    except Exception as exc:  # the scanner must never crash on hostile input
        col.add(
            "SCN-091",
            f"file could not be analysed ({type(exc).__name__}: {str(exc)[:120]})",
            "file",
        )
        kind = "unknown"
    return FileReport(path=name, format=kind, size=size, findings=col.findings)


def scan_bytes(data: bytes, name: str, limits: ScanLimits | None = None) -> FileReport:
    """Scan an in-memory file; ``name`` is used for reports and extension checks."""
    return _scan_buffer(memoryview(data), name, len(data), limits or DEFAULT_LIMITS, None)


_READ_WHOLE = 64 << 10


def scan_file(path: Path, limits: ScanLimits | None = None) -> FileReport:
    """Scan one file through a read-only memory map (tensor data is never paged in)."""
    limits = limits or DEFAULT_LIMITS
    name = str(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return _scan_buffer(memoryview(b""), name, 0, limits, path.parent)
            head = fh.read(512)
            if fmt.detect(head, name) == fmt.SAFETENSORS:
                # Only the header is needed: read it instead of mapping the file.
                hlen = int.from_bytes(head[:8], "little")
                header = head + fh.read(max(0, min(hlen, limits.max_header_bytes) + 8 - 512))
                return _scan_safetensors_file(header, name, size, limits)
            if size <= _READ_WHOLE or fmt.detect(head, name) == fmt.TORCH_LEGACY:
                # Small files, and the pickles at the start of legacy torch files, are cheaper
                # to read than to map; a legacy file whose pickles run past the read is mapped.
                data = head + fh.read(_READ_WHOLE - len(head))
                report = _scan_buffer(memoryview(data), name, size, limits, path.parent)
                if len(data) == size or not any(
                    f.rule in ("SCN-010", "SCN-013") for f in report.findings
                ):
                    return report
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        col = Collector(name)
        col.add("SCN-091", f"file cannot be read ({exc.strerror or exc})", "file")
        return FileReport(path=name, format="unknown", size=0, findings=col.findings)
    view = memoryview(mm)
    try:
        return _scan_buffer(view, name, size, limits, path.parent)
    finally:
        view.release()
        # A slice may still be referenced; the map then closes when it is collected.
        with contextlib.suppress(BufferError):
            mm.close()


def _scan_safetensors_file(header: bytes, name: str, size: int, limits: ScanLimits) -> FileReport:
    col = Collector(name)
    try:
        scan_safetensors(header, col, limits, size=size)
    except Exception as exc:  # the scanner must never crash on hostile input
        col.add(
            "SCN-091",
            f"file could not be analysed ({type(exc).__name__}: {str(exc)[:120]})",
            "file",
        )
    return FileReport(path=name, format=fmt.SAFETENSORS, size=size, findings=col.findings)


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for fname in sorted(filenames):
            p = Path(dirpath) / fname
            if p.is_file():
                yield p


def scan_paths(paths: Iterable[Path | str], limits: ScanLimits | None = None) -> ScanReport:
    """Scan files and folders (recursively).

    Raises:
        ScanError: A path does not exist, or a folder holds no regular file at any depth
            (a scan of nothing would pass).
    """
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ScanError(f"path not found: {', '.join(missing)}; check the spelling")
    found = {p: list(_walk(p)) for p in paths if p.is_dir()}
    empty = [str(p) for p, files in found.items() if not files]
    if empty:
        verb = "holds" if len(empty) == 1 else "hold"
        raise ScanError(
            f"{', '.join(empty)} {verb} no files to scan; name a folder with model or data files"
        )
    reports: list[FileReport] = []
    for p in paths:
        if p.is_dir():
            reports.extend(scan_file(t, limits) for t in found[p])
        elif p.is_file():
            reports.append(scan_file(p, limits))
        else:  # FIFOs and devices would block or never end: report instead of opening
            col = Collector(str(p))
            col.add("SCN-091", "not a regular file (device, FIFO or socket); not read", "file")
            reports.append(FileReport(path=str(p), format="unknown", size=0, findings=col.findings))
    return ScanReport(files=reports)
