"""Format analysers on real files: safetensors, NumPy, GGUF, ONNX, Keras, archives, folders."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from aisec.errors import ScanError
from aisec.records import Severity
from aisec.supplychain.scan import ScanLimits, scan_bytes, scan_paths

from corpus import gguf_file, onnx_model


def _rules(report) -> list[str]:
    return [f.rule for f in report.findings]


def test_real_safetensors_clean_and_tampered_variants():
    good = st_save({"w": torch.zeros(3, 4), "b": torch.ones(4)})
    assert scan_bytes(good, "m.safetensors").findings == []
    assert _rules(scan_bytes(good + b"\x00" * 16, "m.safetensors")) == ["SCN-051"]
    (hlen,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + hlen])
    header["w"]["dtype"] = "F99"
    raw = json.dumps(header).encode()
    bad = struct.pack("<Q", len(raw)) + raw + good[8 + hlen :]
    assert "SCN-050" in _rules(scan_bytes(bad, "m.safetensors"))
    assert _rules(scan_bytes(good[:20], "m.safetensors")) == ["SCN-050"]


def test_numpy_headers():
    buf = io.BytesIO()
    np.save(buf, np.arange(10.0))
    data = buf.getvalue()
    assert scan_bytes(data, "a.npy").findings == []
    assert _rules(scan_bytes(data[:-8], "a.npy")) == ["SCN-071"]
    assert _rules(scan_bytes(data[:12] + b"{'descr': __import__('os')}", "a.npy")) == ["SCN-071"]


def test_gguf_template_review_and_parse():
    safe = gguf_file("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}")
    assert scan_bytes(safe, "m.gguf").findings == []
    for template in [
        "{{ self.__init__.__globals__['os'] }}",
        "{{ x.mro() }}",
        "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    ]:
        report = scan_bytes(gguf_file(template), "m.gguf")
        assert report.max_severity is Severity.CRITICAL, template
    assert _rules(scan_bytes(gguf_file("{% for %}"), "m.gguf")) == ["SCN-062"]
    assert _rules(scan_bytes(safe[:30], "m.gguf")) == ["SCN-060"]


def test_onnx_domains_metadata_and_external_data():
    assert scan_bytes(onnx_model(), "m.onnx").findings == []
    assert _rules(scan_bytes(onnx_model(location="weights/w.bin"), "m.onnx")) == []
    assert _rules(scan_bytes(onnx_model(domain="com.acme.ops"), "m.onnx")) == ["SCN-041"]
    assert _rules(scan_bytes(onnx_model(metadata=b"x" * (2 << 20)), "m.onnx")) == ["SCN-042"]
    assert _rules(scan_bytes(onnx_model(location="C:\\Windows\\x"), "m.onnx")) == ["SCN-040"]
    assert _rules(scan_bytes(onnx_model()[:-3], "m.onnx")) == ["SCN-043"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def test_archive_limits_links_and_depth():
    many = _zip({f"f{i}.txt": b"x" for i in range(30)})
    assert _rules(scan_bytes(many, "a.zip", ScanLimits(max_members=10))) == ["SCN-023"]
    nested = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R."
    for _ in range(6):
        nested = _zip({"inner.zip" if nested[:2] == b"PK" else "m.pkl": nested})
    assert "SCN-024" in _rules(scan_bytes(nested, "deep.zip", ScanLimits(max_depth=3)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("hard")
        info.type = tarfile.LNKTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
        info = tarfile.TarInfo("dev")
        info.type = tarfile.CHRTYPE
        tf.addfile(info)
    assert _rules(scan_bytes(buf.getvalue(), "a.tar")) == ["SCN-021", "SCN-021"]
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    assert _rules(scan_bytes(zbuf.getvalue(), "a.zip")) == ["SCN-021"]
    assert _rules(scan_bytes(b"PK\x03\x04" + b"\x00" * 40, "a.zip")) == ["SCN-025"]


def test_keras_custom_objects_and_torch_full_model():
    config = {
        "class_name": "Functional",
        "config": {
            "layers": [{"module": "my_project.layers", "class_name": "Fancy", "config": {}}]
        },
    }
    report = scan_bytes(
        _zip({"config.json": json.dumps(config).encode(), "metadata.json": b"{}"}), "m.keras"
    )
    assert report.format == "keras"
    assert _rules(report) == ["SCN-031"]
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buf)
    report = scan_bytes(buf.getvalue(), "full.pt")
    assert report.format == "pytorch-zip"
    assert report.max_severity is Severity.LOW


def test_scan_paths_recurses_and_reports(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.safetensors").write_bytes(st_save({"w": torch.zeros(2)}))
    (tmp_path / "notes.txt").write_bytes(b"hello")
    (tmp_path / "empty.bin").write_bytes(b"")
    report = scan_paths([tmp_path])
    formats = {p.split("/")[-1]: fr.format for fr in report.files for p in [fr.path]}
    assert formats == {
        "w.safetensors": "safetensors",
        "notes.txt": "unknown",
        "empty.bin": "unknown",
    }
    doc = report.to_dict()
    assert set(doc) == {"files", "summary"}
    assert doc["summary"]["files"] == 3 and doc["summary"]["max_severity"] == "info"
    for fr in doc["files"]:
        assert {"path", "format", "findings"} <= set(fr)
        for f in fr["findings"]:
            assert set(f) == {"severity", "rule", "message", "location"}
    with pytest.raises(ScanError, match="path not found"):
        scan_paths([tmp_path / "missing.pt"])


def test_legacy_torch_with_large_pickles_is_read_in_full(tmp_path):
    from aisec.supplychain.scan import scan_file

    state = {f"block{i}.weight": torch.zeros(2) for i in range(3000)}
    path = tmp_path / "big_legacy.pt"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    assert path.stat().st_size > 200_000
    report = scan_file(path)
    assert report.format == "torch-legacy" and report.findings == []


def test_special_files_are_reported_not_opened(tmp_path):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    report = scan_paths([fifo])
    assert [f.rule for f in report.findings] == ["SCN-091"]
    # a folder of nothing but special files holds nothing to scan
    with pytest.raises(ScanError, match="holds no files to scan"):
        scan_paths([tmp_path])
    (tmp_path / "w.npy").write_bytes(b"\x93NUMPY")
    files = scan_paths([tmp_path]).files  # folders skip special files
    assert [f.path.rsplit("/", 1)[-1] for f in files] == ["w.npy"]


def _encrypt_flag(data: bytes) -> bytes:
    """Set the 'encrypted' bit of every member, in the local headers and the central directory."""
    out = bytearray(data)
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = out.find(sig)
        while i >= 0:
            out[i + at] |= 0x01
            i = out.find(sig, i + 4)
    return bytes(out)


def test_encrypted_members_cannot_be_inspected_and_say_so():
    rng = np.random.default_rng(0)
    cipher = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()  # what ZipCrypto data looks like
    locked = _encrypt_flag(_zip({"weights/data.bin": cipher}))
    assert zipfile.ZipFile(io.BytesIO(locked)).infolist()[0].flag_bits & 1
    (finding,) = scan_bytes(locked, "locked.zip").findings
    assert finding.rule == "SCN-027" and finding.severity is Severity.MEDIUM
    assert "cannot be inspected" in finding.title


def test_members_python_refuses_are_read_as_pytorch_reads_them():
    evil = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x05touch\x85R."
    flagged = _encrypt_flag(_zip({"archive/data.pkl": evil, "archive/version": b"3\n"}))
    rules = [(f.rule, f.location) for f in scan_bytes(flagged, "model.pt").findings]
    assert ("SCN-025", "archive/data.pkl") in rules
    assert any(r == "SCN-001" and loc.startswith("archive/data.pkl") for r, loc in rules)
    plain = bytearray(_zip({"archive/data.pkl": evil, "archive/version": b"3\n"}))
    i = plain.find(b"PK\x01\x02")
    plain[i + 16 : i + 20] = b"\x00\x00\x00\x00"  # central directory CRC now wrong
    findings = scan_bytes(bytes(plain), "model.pt").findings
    assert any("fails Python's zip checks" in f.title for f in findings)
    assert any(f.rule == "SCN-001" for f in findings)
    renamed = bytearray(_zip({"archive/data.pkl": evil, "archive/version": b"3\n"}))
    i = renamed.find(b"archive/data.pkl")  # the local header's copy of the name
    renamed[i : i + 16] = b"archive/DATA.pkl"
    findings = scan_bytes(bytes(renamed), "model.pt").findings
    assert any("fails Python's zip checks" in f.title for f in findings)
    assert any(f.rule == "SCN-001" and f.location.startswith("archive/data.pkl") for f in findings)


def test_7z_archives_are_opened_in_memory_and_their_members_analysed(tmp_path, monkeypatch):
    py7zr = pytest.importorskip("py7zr")
    evil = b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x05touch\x85R."
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        z.writestr(evil, "archive/data.pkl")
        z.writestr(b"3\n", "archive/version")
    monkeypatch.chdir(tmp_path)
    report = scan_bytes(buf.getvalue(), "model.7z")
    assert report.format == "7z"
    rules = {(f.rule, f.location.split(":")[0]) for f in report.findings}
    assert ("SCN-001", "archive/data.pkl") in rules
    assert list(tmp_path.iterdir()) == []  # nothing was extracted to disk


def test_7z_without_py7zr_is_reported_as_not_inspected(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_py7zr(name, *args, **kwargs):
        if name.startswith("py7zr"):
            raise ModuleNotFoundError(name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_py7zr)
    head = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24)
    report = scan_bytes(head + b"\x80\x04N." * 4, "model.7z")
    assert report.format == "7z"
    (finding,) = report.findings
    assert finding.rule == "SCN-028" and finding.severity is Severity.MEDIUM
    assert "aisec[archives]" in finding.title
