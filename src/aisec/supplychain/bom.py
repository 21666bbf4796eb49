"""AI bill of materials: a CycloneDX 1.6 ML-BOM of models, data sets and the Python environment.

The BOM is built with ``cyclonedx-python-lib`` and holds:

* one ``machine-learning-model`` component per model file, with its SHA-256, and a model card
  whose fields are only what can be learnt from the file without deserialising it: the format,
  the tensor and parameter counts and dtypes (safetensors headers, GGUF headers), the storage
  count (PyTorch archives), the architecture's class name (TorchScript), and references to the
  data sets given with it;
* one ``data`` component per data file, with its SHA-256 and what its header tells (array
  shapes and dtypes for ``.npy``/``.npz``, rows for CSV);
* one ``library`` component, with a ``pkg:pypi`` package URL, per distribution installed in the
  running Python environment.

The library does not yet model ``modelCard`` and ``data``, so they are added to the JSON it
writes, and the result is checked against the CycloneDX 1.6 JSON schema before it is returned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from aisec.errors import AisecError

_MAX_HEADER = 100 * 1024 * 1024
_MAX_PICKLE_PEEK = 16 * 1024 * 1024


class BomError(AisecError):
    """A model or data file cannot be described (missing, unreadable, not a file)."""


@dataclass(frozen=True)
class FileFacts:
    """What aisec learnt about one model or data file without deserialising it."""

    path: Path
    """The file."""
    format: str
    """Format detected from the content (see :func:`aisec.supplychain.loading.sniff_format`)."""
    size: int
    """Size in bytes."""
    sha256: str
    """Hex SHA-256 of the content."""
    properties: Mapping[str, str] = field(default_factory=dict)
    """Further facts (tensor count, parameters, dtypes, shapes, rows), as strings."""
    architecture: str | None = None
    """Class name of the model's architecture, when the file records it (TorchScript)."""


def describe_file(path: str | Path) -> FileFacts:
    """Hash a model or data file and read what its headers tell, never unpickling anything."""
    from aisec.supplychain.loading import sniff_format

    p = Path(path)
    if not p.is_file():
        raise BomError(f"{str(p)!r} is not an existing file; check the path")
    with open(p, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        size = fh.tell()
    fmt = sniff_format(p)
    if fmt == "unknown" and p.suffix.lower() in (".csv", ".tsv"):
        fmt = "csv"
    props: dict[str, str] = {}
    architecture = None
    try:
        if fmt == "safetensors":
            props = _safetensors_facts(p)
        elif fmt == "gguf":
            props = _gguf_facts(p)
        elif fmt in ("torchscript", "torch-zip"):
            props, architecture = _torch_zip_facts(p, fmt)
        elif fmt == "numpy":
            with open(p, "rb") as fh:
                props = _npy_facts(fh, "array")
        elif fmt == "npz":
            props = _npz_facts(p)
        elif fmt == "csv":
            props = _csv_facts(p)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError):
        props = {"header": "unreadable"}
    return FileFacts(p, fmt, size, digest, props, architecture)


def _safetensors_facts(path: Path) -> dict[str, str]:
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        if n > _MAX_HEADER:
            return {"header": "too large to read"}
        header = json.loads(fh.read(n))
    tensors = {k: v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    params = sum(math.prod(int(d) for d in t.get("shape", [])) for t in tensors.values())
    dtypes = sorted({str(t.get("dtype")) for t in tensors.values()})
    out = {"tensors": str(len(tensors)), "parameters": str(params), "dtypes": ",".join(dtypes)}
    meta = header.get("__metadata__")
    if isinstance(meta, dict):
        for key, value in list(meta.items())[:20]:
            out[f"metadata.{key}"] = str(value)[:200]
    return out


def _gguf_facts(path: Path) -> dict[str, str]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    version = int.from_bytes(head[4:8], "little")
    out = {"gguf_version": str(version)}
    if version >= 2 and len(head) == 24:
        out["tensors"] = str(int.from_bytes(head[8:16], "little"))
        out["metadata_entries"] = str(int.from_bytes(head[16:24], "little"))
    return out


def _torch_zip_facts(path: Path, fmt: str) -> tuple[dict[str, str], str | None]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        storages = [i for i in infos if re.search(r"(^|/)data/\d+$", i.filename)]
        props = {
            "storages": str(len(storages)),
            "storage_bytes": str(sum(i.file_size for i in storages)),
        }
        architecture = None
        if fmt == "torchscript":
            data_pkl = next((i for i in infos if i.filename.endswith("data.pkl")), None)
            if data_pkl is not None and data_pkl.file_size <= _MAX_PICKLE_PEEK:
                architecture = _first_torchscript_class(zf.read(data_pkl))
    return props, architecture


def _first_torchscript_class(data: bytes) -> str | None:
    """The first ``__torch__`` class a TorchScript ``data.pkl`` names (static parse only)."""
    import pickletools

    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL" and isinstance(arg, str):
                module, _, name = arg.partition(" ")
                if module.startswith("__torch__"):
                    return name
            elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and isinstance(arg, str):
                strings.append(arg)
            elif (
                op.name == "STACK_GLOBAL"
                and len(strings) >= 2
                and strings[-2].startswith("__torch__")
            ):
                return strings[-1]
    except Exception:  # a malformed stream just yields no name
        return None
    return None


def _npy_facts(fh: Any, name: str) -> dict[str, str]:
    import numpy as np

    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    return {f"{name}.shape": "x".join(map(str, shape)) or "scalar", f"{name}.dtype": str(dtype)}


def _npz_facts(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with zipfile.ZipFile(path) as zf:
        members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
        out["arrays"] = str(len(members))
        for info in members[:20]:
            with zf.open(info) as fh:
                out.update(_npy_facts(fh, info.filename[: -len(".npy")]))
    return out


def _csv_facts(path: Path) -> dict[str, str]:
    with open(path, "rb") as fh:
        lines = sum(1 for _ in fh)
    return {"lines": str(lines)}


# -- environment ------------------------------------------------------------------------------
def environment_packages() -> list[tuple[str, str]]:
    """``(name, version)`` of every distribution installed in the running environment."""
    seen: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or not dist.version:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        seen.setdefault(key, (name, dist.version))
    return sorted(seen.values(), key=lambda nv: nv[0].lower())


# -- BOM --------------------------------------------------------------------------------------
def _ref(prefix: str, facts: FileFacts, used: set[str]) -> str:
    base = f"{prefix}:{facts.path.name}:{facts.sha256[:12]}"
    ref, i = base, 1
    while ref in used:
        i += 1
        ref = f"{base}:{i}"
    used.add(ref)
    return ref


def build_bom(
    models: Sequence[str | Path],
    data: Sequence[str | Path] = (),
    *,
    name: str | None = None,
    include_environment: bool = True,
    scan: bool = False,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Build a CycloneDX 1.6 ML-BOM as a JSON-ready dict (validated against the schema).

    Args:
        models: Model files (at least one).
        data: Data-set files used with the models.
        name: Name of the system the BOM describes (default: the first model's file stem).
        include_environment: Add the running environment's Python distributions as libraries.
        scan: Scan each model file statically and record the outcome in its model card
            (``scan.max_severity``, ``scan.findings``, ``scan.rules``).
        timestamp: Creation time to record (default: now), for reproducible output.
    """
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from packageurl import PackageURL

    import aisec

    if not models:
        raise BomError("give at least one model file with --model")
    model_facts = [describe_file(m) for m in models]
    if scan:
        model_facts = [_with_scan(f) for f in model_facts]
    data_facts = [describe_file(d) for d in data]
    used: set[str] = set()
    system_name = name or model_facts[0].path.stem
    root = Component(
        type=ComponentType.APPLICATION, name=system_name, bom_ref=f"system:{system_name}"
    )
    used.add(f"system:{system_name}")
    bom = Bom(metadata=BomMetaData(component=root, timestamp=timestamp))
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="aisec", version=aisec.__version__)
    )

    def file_component(facts: FileFacts, kind: ComponentType, ref: str) -> Component:
        props = [Property(name="aisec:format", value=facts.format)]
        props.append(Property(name="aisec:size_bytes", value=str(facts.size)))
        return Component(
            type=kind,
            name=facts.path.name,
            bom_ref=ref,
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=facts.sha256)],
            properties=props,
        )

    model_refs = [_ref("model", f, used) for f in model_facts]
    data_refs = [_ref("data", f, used) for f in data_facts]
    model_components = [
        file_component(f, ComponentType.MACHINE_LEARNING_MODEL, r)
        for f, r in zip(model_facts, model_refs, strict=True)
    ]
    data_components = [
        file_component(f, ComponentType.DATA, r) for f, r in zip(data_facts, data_refs, strict=True)
    ]
    libraries = []
    if include_environment:
        for pkg_name, version in environment_packages():
            canonical = re.sub(r"[-_.]+", "-", pkg_name).lower()
            purl = PackageURL(type="pypi", name=canonical, version=version)
            ref = purl.to_string()
            if ref in used:
                continue
            used.add(ref)
            libraries.append(
                Component(
                    type=ComponentType.LIBRARY,
                    name=pkg_name,
                    version=version,
                    purl=purl,
                    bom_ref=ref,
                )
            )
    for c in (*model_components, *data_components, *libraries):
        bom.components.add(c)
    bom.register_dependency(root, [*model_components, *data_components, *libraries])
    for mc in model_components:
        bom.register_dependency(mc, data_components)

    text = make_outputter(bom, OutputFormat.JSON, SchemaVersion.V1_6).output_as_string()
    doc = json.loads(text)
    cards = {r: _model_card(f, r, data_refs) for f, r in zip(model_facts, model_refs, strict=True)}
    datas = {r: _data_entry(f) for f, r in zip(data_facts, data_refs, strict=True)}
    for comp in doc.get("components", []):
        ref = comp.get("bom-ref")
        if ref in cards:
            comp["modelCard"] = cards[ref]
        elif ref in datas:
            comp["data"] = [datas[ref]]
    problems = validate_bom(doc)
    if problems:  # a bug in aisec, not a user error
        raise RuntimeError("generated ML-BOM violates CycloneDX 1.6: " + "; ".join(problems[:3]))
    return doc


def _with_scan(facts: FileFacts) -> FileFacts:
    """``facts`` with the static scan's verdict added to its properties."""
    from aisec.supplychain.scan import scan_file

    report = scan_file(facts.path)
    worst = report.max_severity
    rules = sorted({f.rule for f in report.findings})
    props = {
        **facts.properties,
        "scan.max_severity": worst.value if worst is not None else "none",
        "scan.findings": str(len(report.findings)),
    }
    if rules:
        props["scan.rules"] = ",".join(rules)
    return dataclasses.replace(facts, properties=props)


def _properties(facts: FileFacts) -> list[dict[str, str]]:
    out = [
        {"name": "format", "value": facts.format},
        {"name": "size_bytes", "value": str(facts.size)},
    ]
    out += [{"name": k, "value": v} for k, v in facts.properties.items()]
    return out


def _model_card(facts: FileFacts, model_ref: str, data_refs: Iterable[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if facts.architecture:
        params["modelArchitecture"] = facts.architecture
    refs = [{"ref": r} for r in data_refs]
    if refs:
        params["datasets"] = refs
    card: dict[str, Any] = {"bom-ref": f"card:{model_ref}"}
    if params:
        card["modelParameters"] = params
    card["properties"] = _properties(facts)
    return card


def _data_entry(facts: FileFacts) -> dict[str, Any]:
    return {
        "type": "dataset",
        "name": facts.path.name,
        "contents": {"properties": _properties(facts)},
        "description": f"{facts.format} file of {facts.size} bytes, sha256 {facts.sha256}",
    }


def validate_bom(doc: Mapping[str, Any] | str) -> list[str]:
    """Problems found by the strict CycloneDX 1.6 JSON-schema validator (empty when valid)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = doc if isinstance(doc, str) else json.dumps(doc)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    return [str(e) for e in errors] if errors else []


def bom_json(doc: Mapping[str, Any]) -> str:
    """Pretty JSON text of a BOM dict."""
    return json.dumps(doc, indent=2) + "\n"
