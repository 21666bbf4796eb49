"""The registered supply-chain tests on real targets and real files, as an assessment runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from aisec.records import Finding, Result, Severity, Status
from aisec.registry import _BUILTIN_MODULES, get_test
from aisec.supplychain.manifest import (
    MANIFEST_NAME,
    create_manifest,
    generate_keypair,
    load_private_key,
)
from aisec.targets.base import InputSpec
from aisec.targets.torch import TorchClassifier


class Net(torch.nn.Module):
    """A small classifier over 6 features."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def make_net() -> torch.nn.Module:
    """Factory for :class:`Net`."""
    return Net()


class WritesMarker:
    """Unpickling this runs ``exec`` and creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.fixture()
def release(tmp_path: Path) -> Path:
    """A folder with safetensors weights, a benign checkpoint and a config."""
    torch.manual_seed(0)
    net = Net()
    save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    torch.save(net.state_dict(), tmp_path / "net.pt")
    (tmp_path / "config.json").write_text('{"classes": 3}')
    return tmp_path


@pytest.fixture()
def target(release: Path) -> TorchClassifier:
    """A target loaded the way an assessment loads one: factory plus safetensors weights."""
    return TorchClassifier.from_factory(
        f"{__name__}:make_net", release / "net.safetensors", input_shape=(6,)
    )


def _roundtrip(result: Result) -> Result:
    """What the results store does: JSON out and back."""
    return Result.from_dict(json.loads(json.dumps(result.to_dict())))


def test_both_tests_are_registered() -> None:
    assert "aisec.supplychain.test" in _BUILTIN_MODULES
    scan, manifest = get_test("supplychain.scan"), get_test("supplychain.manifest")
    for cls in (scan, manifest):
        assert cls.needs_data is False and cls.requires == frozenset()
        assert cls.family == "supplychain"
    assert "unsafe-model-serialization" in scan.threats


def test_planner_passes_target_files_as_paths(release: Path) -> None:
    from aisec.assessment.config import parse_config
    from aisec.assessment.plan import expand

    files = [str(release / "net.pt"), str(release / "config.json")]
    config = parse_config(
        {
            "version": 1,
            "targets": [{"name": "m", "builtin": "digits-cnn", "files": files}],
            "tests": [{"id": "supplychain.scan"}],
        }
    )
    (unit,) = [u for u in expand(config) if u.test_id == "supplychain.scan"]
    assert unit.params["paths"] == files


def test_scan_defaults_to_the_targets_own_file(target: TorchClassifier) -> None:
    result = get_test("supplychain.scan")().run(target, None, seed=0)
    assert result.status is Status.OK, result.message
    assert result.metrics["paths"] == [target.source]
    (entry,) = result.metrics["files"]
    assert entry["path"] == target.source and entry["format"]
    assert entry["size"] == Path(target.source).stat().st_size
    worst = result.metrics["max_severity"]
    assert worst is None or Severity(worst) <= Severity.LOW


def test_scan_reports_a_malicious_checkpoint(target, release: Path) -> None:
    marker = release / "marker"
    torch.save({"w": torch.zeros(2), "x": WritesMarker(marker)}, release / "evil.pt")
    test = get_test("supplychain.scan")(paths=[str(release / "net.pt"), str(release / "evil.pt")])
    result = _roundtrip(test.run(target, None, seed=0))
    assert Severity(result.metrics["max_severity"]) >= Severity.HIGH
    by_file = {Path(f["path"]).name: f for f in result.metrics["files"]}
    assert set(by_file) == {"net.pt", "evil.pt"}
    assert all(Severity(f["severity"]) <= Severity.LOW for f in by_file["net.pt"]["findings"])
    findings = test.findings(result)
    assert findings and all(isinstance(f, Finding) for f in findings)
    assert len({f.id for f in findings}) == len(findings)
    serious = [f for f in findings if f.severity >= Severity.HIGH]
    assert serious and all("evil.pt" in f.location for f in serious)
    for f in findings:
        assert f.test_id == "supplychain.scan" and f.target == target.name and f.threats
    assert not marker.exists()


def test_scan_without_a_file_is_skipped() -> None:
    in_memory = TorchClassifier(model=Net(), spec=InputSpec(shape=(6,), n_classes=3))
    result = get_test("supplychain.scan")().run(in_memory, None, seed=0)
    assert result.status is Status.SKIPPED and "files:" in result.message
    assert get_test("supplychain.scan")().findings(result) == []


def test_manifest_check_finds_tampering_and_bad_signatures(target, release: Path) -> None:
    private, public = generate_keypair(release.parent / f"{release.name}-key")
    create_manifest(release, private_key=load_private_key(private)).save(release / MANIFEST_NAME)
    test = get_test("supplychain.manifest")(
        manifest=str(release / MANIFEST_NAME), public_key=str(public)
    )
    clean = _roundtrip(test.run(target, None, seed=0))
    assert clean.metrics["ok"] is True and test.findings(clean) == []

    torch.manual_seed(1)
    save_file(Net().state_dict(), str(release / "net.safetensors"))  # weights swapped
    (release / "config.json").unlink()
    (release / "extra.pkl").write_bytes(b"\x80\x04K\x01.")
    manifest = json.loads((release / MANIFEST_NAME).read_text())
    manifest["created"] = "2000-01-01T00:00:00+00:00"  # any edit breaks the signature
    (release / MANIFEST_NAME).write_text(json.dumps(manifest))
    result = _roundtrip(test.run(target, None, seed=0))
    findings = {f.rule: f for f in test.findings(result)}
    assert set(findings) == {"MAN-001", "MAN-002", "MAN-003", "MAN-004"}
    assert findings["MAN-001"].severity is Severity.HIGH
    assert findings["MAN-001"].evidence["path"] == "net.safetensors"
    assert findings["MAN-001"].evidence["kind"] == "model"
    assert findings["MAN-002"].evidence["kind"] == "config"
    assert findings["MAN-003"].severity is Severity.MEDIUM
    assert findings["MAN-004"].severity is Severity.CRITICAL
    assert all(f.test_id == "supplychain.manifest" for f in findings.values())
