"""Bounded fuzzing of every format parser: hostile bytes never crash, hang or escape as errors.

An internal error would surface as rule SCN-091 (the scanner's last-resort catch), so the
tests assert that it never appears: each parser must turn bad input into its own finding.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import time
import zipfile

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as st_save

from aisec.supplychain.scan import scan_bytes

from corpus import gguf_file, onnx_model


def _seeds() -> list[tuple[str, bytes]]:
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2)
    tbuf = io.BytesIO()
    torch.save(lin.state_dict(), tbuf)
    nbuf = io.BytesIO()
    np.save(nbuf, np.arange(6.0).reshape(2, 3))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("config.json", '{"class_name": "Lambda", "config": {"function": "x"}}')
        zf.writestr("metadata.json", "{}")
        zf.writestr("m.pkl", pickle.dumps({"a": 1}))
    tarbuf = io.BytesIO()
    with tarfile.open(fileobj=tarbuf, mode="w") as tf:
        data = pickle.dumps([1, 2, 3], protocol=2)
        info = tarfile.TarInfo("m.pkl")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return [
        ("m.pt", tbuf.getvalue()),
        ("a.npy", nbuf.getvalue()),
        ("m.safetensors", st_save(lin.state_dict())),
        ("m.gguf", gguf_file("{% for m in messages %}{{ m.content }}{% endfor %}")),
        ("m.onnx", onnx_model(location="w.bin", domain="x.y")),
        ("m.keras", zbuf.getvalue()),
        ("m.tar", tarbuf.getvalue()),
        ("m.pkl.gz", gzip.compress(pickle.dumps({"k": [1.5, "v"]}))),
        *((f"p{p}.pkl", pickle.dumps({"x": [1, (2, 3)], "y": b"z"}, protocol=p)) for p in range(6)),
    ]


SEEDS = _seeds()
_FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _check(data: bytes, name: str) -> None:
    start = time.perf_counter()
    report = scan_bytes(data, name)
    assert time.perf_counter() - start < 5.0
    internal = [f.title for f in report.findings if f.rule == "SCN-091"]
    assert internal == [], (name, internal)


@_FUZZ
@given(
    data=st.binary(max_size=2048),
    name=st.sampled_from(
        ["a.pkl", "b.pt", "c.npy", "d.onnx", "e.safetensors", "f.gguf", "g.h5", "h.zip", "i.bin"]
    ),
)
def test_random_bytes(data, name):
    _check(data, name)


@_FUZZ
@given(
    magic=st.sampled_from(
        [
            b"\x80\x04",
            b"\x80\x02",
            b"PK\x03\x04",
            b"\x93NUMPY\x01\x00",
            b"GGUF\x03\x00\x00\x00",
            b"\x89HDF\r\n\x1a\n",
            b"\x1f\x8b",
            b"BZh",
            b"\xfd7zXZ\x00",
            b"\x08\x08\x12",
            b"(c",
            b"x\x9c",
            b"\x10\x00\x00\x00\x00\x00\x00\x00{",
        ]
    ),
    rest=st.binary(max_size=1024),
)
def test_magic_prefixed_garbage(magic, rest):
    _check(magic + rest, "x.bin")


@_FUZZ
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
)
def test_mutated_valid_files(seed, edits, cut):
    name, data = SEEDS[seed]
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    if cut is not None:
        buf = buf[: cut % (len(buf) + 1)]
    _check(bytes(buf), name)
