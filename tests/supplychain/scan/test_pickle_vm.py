"""The symbolic pickle machine on real pickles of every protocol and on crafted streams."""

from __future__ import annotations

import collections
import datetime
import decimal
import os
import pickle

import numpy as np
import pytest

from aisec.supplychain.scan import ScanLimits, scan_bytes
from aisec.supplychain.scan.pickle_vm import PickleMachine
from aisec.supplychain.scan.policy import Verdict, classify
from aisec.supplychain.scan.rules import Collector

_BENIGN = {
    "ints": [0, 1, -1, 255, 256, 65535, 2**31, -(2**31), 2**70, -(2**70)],
    "floats": [0.5, float("inf"), -1e300],
    "text": ["", "ascii", "ünïcode", "x" * 300, "y" * 5000],
    "bytes": [b"", b"\x00\xff", b"z" * 300, b"w" * 70000],
    "containers": ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], {}, {1: 2}, {"a": [1, {2}]}),
    "sets": [set(), {1, 2}, frozenset(), frozenset({"a"})],
    "misc": [None, True, False, bytearray(b"ab"), complex(1, 2), slice(1, 5, 2), range(3)],
    "stdlib": [
        collections.OrderedDict(a=1),
        collections.Counter("abca"),
        collections.deque([1, 2]),
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        datetime.date(2020, 1, 1),
        datetime.timedelta(days=3),
        decimal.Decimal("1.5"),
    ],
    "numpy": [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.float64(1.5),
        np.int8(3),
        np.dtype("<U5"),
        np.array(["a", "bc"]),
    ],
}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_real_benign_pickles_of_every_protocol_are_clean(protocol):
    data = pickle.dumps(_BENIGN, protocol=protocol)
    shared = [1, 2]
    data_memo = pickle.dumps({"a": shared, "b": shared}, protocol=protocol)
    for blob in (data, data_memo):
        report = scan_bytes(blob, "state.pkl")
        assert report.format == "pickle"
        assert report.findings == [], [(f.rule, f.title) for f in report.findings]


def test_protocol5_out_of_band_buffers_parse():
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(
        pickle.PickleBuffer(bytearray(b"abc")), protocol=5, buffer_callback=buffers.append
    )
    assert scan_bytes(data, "b.pkl").findings == []


class _Reduce:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_reduce_of_dangerous_callable_is_critical_in_every_protocol():
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(_Reduce(os.system, ("true",)), protocol=protocol)
        report = scan_bytes(data, "x.pkl")
        assert [f.rule for f in report.findings] == ["SCN-001"], protocol
        assert report.max_severity.value == "critical"


def test_allowlist_leads_and_denylist_covers_advisories():
    assert classify("torch._utils", "_rebuild_tensor_v2") is Verdict.SAFE
    assert classify("collections", "OrderedDict") is Verdict.SAFE
    assert classify("numpy.core.multiarray", "_reconstruct") is Verdict.SAFE
    for module, name in [
        ("cProfile", "run"),
        ("idlelib.pyshell", "main"),
        ("ensurepip", "_run_pip"),
        ("asyncio.subprocess", "create_subprocess_shell"),
        ("torch.hub", "load"),
        ("torch", "load"),
        ("numpy", "load"),
        ("builtins", "getattr"),
        ("importlib", "import_module"),
        ("shutil", "rmtree"),
        ("socket", "create_connection"),
        ("torch.serialization", "pickle.loads"),
        ("builtins", "dict.__class__"),
    ]:
        assert classify(module, name) is Verdict.DANGEROUS, (module, name)
    assert classify("mypkg.helpers", "run") is Verdict.UNKNOWN
    assert classify("builtins", "map") is Verdict.UNKNOWN
    assert classify("sklearn.svm._classes", "SVC") is Verdict.LIBRARY
    assert classify("sklearn.utils", "some_function") is Verdict.UNKNOWN


def test_multiple_pickles_and_trailing_data_are_reported():
    one = pickle.dumps([1, 2], protocol=2)
    assert [f.rule for f in scan_bytes(one + one, "a.pkl").findings] == ["SCN-011"]
    trailing = scan_bytes(one + b"\x01\x02 trailing", "a.pkl").findings
    assert [f.rule for f in trailing] == ["SCN-012"]
    assert trailing[0].location == f"offset {len(one)}"


@pytest.mark.parametrize(
    "stream, fragment",
    [
        (b"\x80\x04N", "without STOP"),
        (b"\x80\x04h\x07.", "memo key 7"),
        (b"\x80\x04R.", "stack underflow"),
        (b"\x80\x09N.", "unsupported pickle protocol"),
        (b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\x00\x00.", "truncated"),
        (b"\x80\x04\x95\xff\xff\x00\x00\x00\x00\x00\x00N.", "FRAME longer"),
        (b"\x80\x04e.", "no MARK"),
    ],
)
def test_malformed_streams_are_findings(stream, fragment):
    findings = scan_bytes(stream, "bad.pkl").findings
    assert any(f.rule == "SCN-010" and fragment in f.title for f in findings), findings


def test_limits_stop_hostile_streams_quickly():
    deep = b"\x80\x04" + b"(" * 200_000 + b"N."
    findings = scan_bytes(deep, "deep.pkl", ScanLimits(max_stack=10_000)).findings
    assert [f.rule for f in findings] == ["SCN-013"]
    many = b"\x80\x04" + b"N0" * 100_000 + b"N."
    findings = scan_bytes(many, "many.pkl", ScanLimits(max_pickle_ops=1000)).findings
    assert [f.rule for f in findings] == ["SCN-013"]


def test_stack_global_on_computed_value_is_unresolvable():
    # STACK_GLOBAL whose module is the result of a call that cannot be folded.
    stream = b"\x80\x04\x8c\x08builtins\x8c\x03str\x93(K\x01tR\x8c\x06system\x93."
    rules = [f.rule for f in scan_bytes(stream, "x.pkl").findings]
    assert "SCN-004" in rules


def test_machine_records_imports_in_order():
    col = Collector("t")
    data = pickle.dumps(collections.OrderedDict(a=np.zeros(2)), protocol=4)
    out = PickleMachine(memoryview(data), 0, col, ScanLimits()).run()
    assert out.end == len(data)
    assert out.imports[0] == "collections.OrderedDict"
    assert any("_reconstruct" in i for i in out.imports)
