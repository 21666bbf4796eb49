"""The command line where PyTorch is not installed (``pip install aisec`` without the extra).

The scanner, manifests, BOMs, threat models, the taxonomy and ``aisec list`` still work; the
commands that need torch stop with one line naming the extra (exit 2), never a traceback.

Each command runs in a fresh process in which ``import torch`` fails as it does where torch is
not installed: a ``sitecustomize`` on ``PYTHONPATH`` puts a finder first in ``sys.meta_path``
that refuses ``torch`` and every ``torch.*`` module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import aisec

BLOCKER = '''"""Make every import of torch fail, as where it is not installed."""

import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
'''

# ``os.system("true")`` by hand: PROTO 2, GLOBAL "os system", the argument, TUPLE1, REDUCE, STOP.
# Written to disk for the scanner only; nothing here ever unpickles it.
HOSTILE_PICKLE = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."

NEEDS_TORCH = "aisec: error: `aisec {}` needs PyTorch: pip install 'aisec[torch]'\n"


def _env(blocker_dir: Path | None) -> dict[str, str]:
    """The environment for a child process running this checkout's aisec."""
    env = os.environ.copy()
    src = str(Path(aisec.__file__).resolve().parent.parent)
    first = [str(blocker_dir)] if blocker_dir is not None else []
    env["PYTHONPATH"] = os.pathsep.join([*first, src, *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which ``import torch`` fails."""
    d = tmp_path_factory.mktemp("no-torch-site")
    (d / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    return _env(d)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a real safetensors model and a hostile pickle."""
    d = tmp_path_factory.mktemp("no-torch-files")
    weights = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(4, np.float32)}
    save_file(weights, str(d / "model.safetensors"))
    (d / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    return d


def python(
    env: dict[str, str], code: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c CODE`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def aisec_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``aisec ARGS`` (as ``python -m aisec.cli``) in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-m", "aisec.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_blocker_makes_torch_unimportable(no_torch: dict[str, str]) -> None:
    r = python(no_torch, "import torch.nn")
    assert r.returncode == 1
    assert "ModuleNotFoundError: No module named 'torch" in r.stderr


@pytest.mark.parametrize("blocked", [True, False], ids=["torch-blocked", "torch-installed"])
def test_importing_the_cli_and_the_api_imports_no_torch(blocked: bool, no_torch) -> None:
    env = no_torch if blocked else _env(None)
    code = (
        "import sys\n"
        "import aisec, aisec.cli.main\n"
        "from aisec import __all__, load_model\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert callable(load_model) and __all__ == ['__version__', 'load_model']\n"
    )
    r = python(env, code)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "args",
    [["--help"], ["scan", "model.safetensors"], ["taxonomy", "evasion-digital"]],
    ids=lambda a: a[0],
)
def test_torch_free_commands_leave_torch_unimported_when_installed(files: Path, args) -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('torch imported:', 'torch' in sys.modules))\n"
        f"sys.argv = ['aisec', *{args!r}]\n"
        "from aisec.cli.main import run\n"
        "run()\n"
    )
    r = python(_env(None), code, cwd=files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("torch imported: False")


def test_scan_flags_the_hostile_pickle_and_passes_the_safetensors(no_torch, files) -> None:
    r = aisec_cli(no_torch, "scan", "--format", "json", "model.safetensors", "evil.pkl", cwd=files)
    assert r.returncode == 1, r.stderr  # a critical finding, at/above the default --fail-on high
    by_path = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert by_path["model.safetensors"]["format"] == "safetensors"
    assert by_path["model.safetensors"]["findings"] == []
    evil = by_path["evil.pkl"]["findings"]
    assert [(f["rule"], f["severity"]) for f in evil] == [("SCN-001", "critical")]
    assert "os.system" in evil[0]["message"]
    clean = aisec_cli(no_torch, "scan", "model.safetensors", cwd=files)
    assert clean.returncode == 0, clean.stderr
    sarif = aisec_cli(no_torch, "scan", "--format", "sarif", "evil.pkl", cwd=files)
    assert sarif.returncode == 1, sarif.stderr
    run = json.loads(sarif.stdout)["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["SCN-001"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "evil.pkl", "uriBaseId": "SRCROOT"}


def test_manifest_create_and_verify(no_torch, tmp_path: Path, files: Path) -> None:
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes((files / "model.safetensors").read_bytes())
    (folder / "config.json").write_text('{"classes": 4}\n', encoding="utf-8")
    created = aisec_cli(no_torch, "manifest", "create", str(folder), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (folder / "aisec-manifest.json").is_file()
    ok = aisec_cli(no_torch, "manifest", "verify", str(folder), "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["ok"] is True and doc["checked"] == 2
    (folder / "config.json").write_text('{"classes": 5}\n', encoding="utf-8")
    bad = aisec_cli(no_torch, "manifest", "verify", str(folder), "--format", "json", cwd=tmp_path)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["changed"] == ["config.json"]


def test_bom_describes_the_model(no_torch, files: Path, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    r = aisec_cli(
        no_torch, "bom", "--model", "model.safetensors", "--scan", "--output", str(out), cwd=files
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    models = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    assert [m["name"] for m in models] == ["model.safetensors"]
    assert any(c["type"] == "library" for c in doc["components"])


def test_threats_derive_a_plan_and_name_the_extra(no_torch, tmp_path: Path) -> None:
    r = aisec_cli(
        no_torch, "threats", "-p", "builtin:digits-classifier", "--format", "json", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["profile"]["name"] == "digits-classifier"
    assert any(t["applicable"] for t in doc["threats"])
    assert "supplychain.scan" in [t["id"] for t in doc["plan"]["tests"]]
    unavailable = {t["id"]: t for t in doc["plan"]["unavailable_tests"]}
    assert "evasion.pgd" in unavailable
    assert unavailable["evasion.pgd"]["install"] == "pip install 'aisec[torch]'"
    assert "evasion.pgd" not in [t["id"] for t in doc["plan"]["planned_tests"]]
    assert "the evasion tests need PyTorch: pip install 'aisec[torch]'" in r.stderr
    assert "the plan lists them as unavailable" in r.stderr


def test_taxonomy_and_list(no_torch, tmp_path: Path) -> None:
    tax = aisec_cli(no_torch, "taxonomy", "--json", cwd=tmp_path)
    assert tax.returncode == 0, tax.stderr
    assert "evasion-digital" in [t["id"] for t in json.loads(tax.stdout)]
    listed = aisec_cli(no_torch, "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert "supplychain.scan" in doc["tests"] and "digits" in doc["datasets"]
    assert not any(t.startswith("evasion.") for t in doc["tests"])
    assert "the built-in targets need PyTorch: pip install 'aisec[torch]'" in listed.stderr


@pytest.mark.parametrize("command", ["evade", "assess", "demo", "report"])
def test_commands_that_need_torch_say_so_in_one_line(no_torch, tmp_path: Path, command) -> None:
    (tmp_path / "config.yaml").write_text(
        "targets:\n  - name: m\n    builtin: digits-cnn\ntests:\n  - id: evasion.pgd\n",
        encoding="utf-8",
    )
    (tmp_path / "results.db").write_bytes(b"")  # an empty SQLite file: a store with no runs
    args = {
        "evade": ["--model", "builtin:digits-cnn", "--data", "builtin:digits:test"],
        "assess": ["config.yaml"],
        "demo": ["--quick", "--out", "report"],
        "report": ["--store", "results.db"],
    }[command]
    r = aisec_cli(no_torch, command, *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == NEEDS_TORCH.format(command)
    assert r.stdout == ""
