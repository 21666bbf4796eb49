"""Integrity manifests: SHA-256 hashes of a model folder, with optional Ed25519 signatures.

A manifest is a JSON file listing every regular file under a folder with its relative path,
size, SHA-256 digest and kind (``model``, ``data``, ``config`` or ``other``)::

    {
      "version": 1,
      "created": "2026-01-01T00:00:00+00:00",
      "algorithm": "sha256",
      "files": [{"path": "weights.safetensors", "size": 1024, "sha256": "…", "kind": "model"}],
      "signature": {"algorithm": "ed25519", "key_id": "…", "value": "…"}
    }

The signature is embedded: it is computed over the canonical JSON form of the manifest without
its ``signature`` member (keys sorted, no insignificant whitespace, UTF-8), so the manifest stays
one file. ``key_id`` is the SHA-256 of the raw public key, to tell keys apart; it is never used
to verify (a key that travels with the manifest proves nothing).

Walking rules: symbolic links to directories are never entered; a symbolic link to a file is
hashed only when its target lies inside the folder, otherwise it is listed in ``skipped``. The
manifest file itself is never hashed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aisec.errors import AisecError

MANIFEST_NAME = "aisec-manifest.json"
"""Default file name of a manifest, at the top of the folder it describes."""
MANIFEST_VERSION = 1
"""Schema version written into every manifest."""

_CHUNK = 1 << 20

_MODEL_EXTENSIONS = frozenset(
    {
        ".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".onnx", ".gguf", ".ggml", ".h5",
        ".hdf5", ".keras", ".pkl", ".pickle", ".joblib", ".tflite", ".pb", ".mlmodel",
        ".pte", ".mar", ".msgpack", ".model", ".torchscript",
    }
)  # fmt: skip
_DATA_EXTENSIONS = frozenset(
    {
        ".npy", ".npz", ".csv", ".tsv", ".parquet", ".arrow", ".feather", ".jsonl", ".ndjson",
        ".tfrecord", ".avro", ".orc", ".png", ".jpg", ".jpeg", ".wav", ".flac", ".txt", ".zst",
    }
)  # fmt: skip
_CONFIG_EXTENSIONS = frozenset(
    {".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".jinja", ".tokenizer"}
)
_KINDS = ("model", "data", "config", "other")


class ManifestError(AisecError):
    """A manifest, key or folder cannot be used as given (a usage error, exit code 2)."""


@dataclass(frozen=True)
class FileEntry:
    """One file recorded in a manifest."""

    path: str
    """Path relative to the manifest's folder, with ``/`` separators."""
    size: int
    """Size in bytes."""
    sha256: str
    """Lower-case hexadecimal SHA-256 digest of the content."""
    kind: str
    """``model``, ``data``, ``config`` or ``other`` (see :func:`file_kind`)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "kind": self.kind}


@dataclass(frozen=True)
class Manifest:
    """The hashes of every file under a folder at one point in time."""

    files: tuple[FileEntry, ...]
    """Recorded files, sorted by path."""
    created: str
    """ISO 8601 UTC time of creation."""
    version: int = MANIFEST_VERSION
    """Schema version."""
    algorithm: str = "sha256"
    """Digest algorithm of every entry."""
    signature: Mapping[str, str] | None = None
    """Embedded Ed25519 signature (``algorithm``, ``key_id``, ``value``), or None if unsigned."""
    skipped: tuple[str, ...] = ()
    """Paths that were not hashed (symbolic links leaving the folder), for information."""

    def payload(self) -> dict[str, Any]:
        """The signed content: everything except the signature."""
        out: dict[str, Any] = {
            "version": self.version,
            "created": self.created,
            "algorithm": self.algorithm,
            "files": [f.to_dict() for f in self.files],
        }
        if self.skipped:
            out["skipped"] = list(self.skipped)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, signature included when present."""
        out = self.payload()
        if self.signature is not None:
            out["signature"] = dict(self.signature)
        return out

    def to_json(self) -> str:
        """Pretty JSON text as written to disk."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the manifest to ``path`` and return it."""
        p = Path(path)
        p.write_text(self.to_json(), encoding="utf-8")
        return p

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "manifest") -> Manifest:
        """Parse and check a manifest dict; raise :class:`ManifestError` naming the problem."""
        if not isinstance(data, Mapping):
            raise ManifestError(
                f"{source} is not a JSON object; create it with `aisec manifest create`"
            )
        version = data.get("version")
        if version != MANIFEST_VERSION:
            raise ManifestError(
                f"{source} has version {version!r}; this aisec reads version {MANIFEST_VERSION}"
            )
        if data.get("algorithm") != "sha256":
            raise ManifestError(
                f"{source} uses algorithm {data.get('algorithm')!r}; expected 'sha256'"
            )
        raw_files = data.get("files")
        if not isinstance(raw_files, list):
            raise ManifestError(
                f"{source} has no `files` list; recreate it with `aisec manifest create`"
            )
        entries = []
        for i, item in enumerate(raw_files):
            try:
                entry = FileEntry(
                    path=str(item["path"]),
                    size=int(item["size"]),
                    sha256=str(item["sha256"]).lower(),
                    kind=str(item.get("kind", "other")),
                )
            except (KeyError, TypeError, ValueError):
                raise ManifestError(
                    f"{source}: entry {i} lacks a valid path, size or sha256"
                ) from None
            if not _is_safe_relative(entry.path):
                raise ManifestError(f"{source}: entry {i} has an unsafe path {entry.path!r}")
            entries.append(entry)
        signature = data.get("signature")
        if signature is not None and not (
            isinstance(signature, Mapping) and isinstance(signature.get("value"), str)
        ):
            raise ManifestError(f"{source} has a malformed `signature` member")
        return cls(
            files=tuple(sorted(entries, key=lambda e: e.path)),
            created=str(data.get("created", "")),
            version=MANIFEST_VERSION,
            algorithm="sha256",
            signature=dict(signature) if signature is not None else None,
            skipped=tuple(str(s) for s in data.get("skipped", ())),
        )

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read a manifest file; raise :class:`ManifestError` if it is missing or malformed."""
        p = Path(path)
        if not p.is_file():
            raise ManifestError(
                f"manifest {str(p)!r} does not exist; create one with `aisec manifest create DIR`"
            )
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"manifest {str(p)!r} is not valid JSON ({exc})") from None
        return cls.from_dict(data, source=f"manifest {str(p)!r}")


@dataclass(frozen=True)
class Verification:
    """What changed between a manifest and the folder it describes."""

    added: tuple[str, ...] = ()
    """Files present now but not in the manifest."""
    removed: tuple[str, ...] = ()
    """Files in the manifest that are gone (or are now links leaving the folder)."""
    changed: tuple[str, ...] = ()
    """Files whose size or SHA-256 differs."""
    signature: str = "absent"
    """``valid``, ``invalid``, ``absent`` (unsigned), ``unverified`` (signed, no key given) or
    ``missing`` (a key was given but the manifest is unsigned)."""
    checked: int = 0
    """Number of files compared."""
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per changed path: expected and actual size and digest."""

    @property
    def ok(self) -> bool:
        """True when nothing was added, removed or changed and no signature check failed."""
        return not (self.added or self.removed or self.changed) and self.signature not in (
            "invalid",
            "missing",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "ok": self.ok,
            "signature": self.signature,
            "checked": self.checked,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "details": {k: dict(v) for k, v in self.details.items()},
        }


# -- walking and hashing ----------------------------------------------------------------------
def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_kind(path: str | Path, head: bytes | None = None) -> str:
    """Classify a file as ``model``, ``data``, ``config`` or ``other``.

    The content decides first (magic numbers of model and data formats), then the extension.
    ``head`` is the file's first bytes when already read (at least 16 are used).
    """
    p = Path(path)
    if head is None:
        try:
            with open(p, "rb") as fh:
                head = fh.read(64)
        except OSError:
            head = b""
    by_content = _kind_from_content(p, head)
    if by_content is not None:
        return by_content
    suffix = p.suffix.lower()
    if suffix in _MODEL_EXTENSIONS:
        return "model"
    if suffix in _DATA_EXTENSIONS:
        return "data"
    if suffix in _CONFIG_EXTENSIONS:
        return "config"
    return "other"


_FORMAT_KINDS = {
    "safetensors": "model", "torchscript": "model", "torch-zip": "model", "pickle": "model",
    "gguf": "model", "hdf5": "model", "keras": "model", "onnx": "model",
    "numpy": "data", "npz": "data",
}  # fmt: skip


def _kind_from_content(path: Path, head: bytes) -> str | None:
    from aisec.supplychain.loading import sniff_format

    if head.startswith(b"PAR1"):
        return "data"
    try:
        return _FORMAT_KINDS.get(sniff_format(path))
    except OSError:
        return None


def _is_safe_relative(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts and "" not in parts


def _walk(root: Path, exclude: set[Path]) -> tuple[dict[str, Path], list[str]]:
    """Regular files under ``root`` by relative path, and links that were skipped."""
    files: dict[str, Path] = {}
    skipped: list[str] = []
    root_real = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                skipped.append((here / d).relative_to(root).as_posix() + "/")
                dirnames.remove(d)
        dirnames.sort()
        for name in sorted(filenames):
            p = here / name
            rel = p.relative_to(root).as_posix()
            if p.resolve() in exclude or p.absolute() in exclude:
                continue
            if p.is_symlink():
                target = p.resolve()
                if not target.is_relative_to(root_real) or not target.is_file():
                    skipped.append(rel)
                    continue
            elif not p.is_file():  # sockets, fifos, devices
                skipped.append(rel)
                continue
            files[rel] = p
    return files, sorted(skipped)


def _entry(rel: str, path: Path) -> FileEntry:
    with open(path, "rb") as fh:
        head = fh.read(64)
        fh.seek(0)
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        size = fh.tell()
    return FileEntry(path=rel, size=size, sha256=digest, kind=file_kind(path, head))


def check_folder(root: str | Path) -> Path:
    """Return ``root`` as a Path, or raise :class:`ManifestError` if it is not a folder."""
    p = Path(root)
    if not p.exists():
        raise ManifestError(f"folder {str(p)!r} does not exist; give the folder holding the model")
    if not p.is_dir():
        raise ManifestError(f"{str(p)!r} is not a folder; give the folder holding the model files")
    return p


def _excluded(root: Path, manifest_paths: Iterable[str | Path | None]) -> set[Path]:
    out = {(root / MANIFEST_NAME).absolute(), (root / MANIFEST_NAME).resolve()}
    for m in manifest_paths:
        if m is not None:
            out |= {Path(m).absolute(), Path(m).resolve()}
    return out


# -- signing ----------------------------------------------------------------------------------
def canonical_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def generate_keypair(prefix: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair to ``PREFIX.key.pem`` (private) and ``PREFIX.pub.pem``.

    The private key is PKCS#8 PEM without encryption, written with mode 0600.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    base = str(prefix)
    priv_path, pub_path = Path(base + ".key.pem"), Path(base + ".pub.pem")
    for p in (priv_path, pub_path):
        if p.exists() and not overwrite:
            raise ManifestError(f"{str(p)!r} already exists; choose another --out prefix")
    if not priv_path.parent.is_dir():
        raise ManifestError(f"folder {str(priv_path.parent)!r} does not exist; create it first")
    key = Ed25519PrivateKey.generate()
    priv_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(priv_pem)
    pub_path.write_bytes(pub_pem)
    return priv_path, pub_path


def load_private_key(path: str | Path) -> Any:
    """Read an Ed25519 private key (PEM, unencrypted) or raise :class:`ManifestError`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_key(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ManifestError(
            f"{str(path)!r} is not an unencrypted PEM private key ({exc}); "
            "create one with `aisec manifest keygen`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ManifestError(
            f"{str(path)!r} is not an Ed25519 key; create one with `aisec manifest keygen`"
        )
    return key


def load_public_key(path: str | Path) -> Any:
    """Read an Ed25519 public key (PEM) or raise :class:`ManifestError`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_key(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ManifestError(
            f"{str(path)!r} is not a PEM public key ({exc}); "
            "use the .pub.pem from `aisec manifest keygen`"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ManifestError(f"{str(path)!r} is not an Ed25519 public key")
    return key


def _read_key(path: str | Path, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise ManifestError(f"{what} {str(p)!r} does not exist; check the path")
    return p.read_bytes()


def _key_id(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign_manifest(manifest: Manifest, private_key: Any) -> Manifest:
    """Return a copy of ``manifest`` with an embedded Ed25519 signature."""
    value = private_key.sign(canonical_bytes(manifest.payload()))
    signature = {
        "algorithm": "ed25519",
        "key_id": _key_id(private_key.public_key()),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return Manifest(
        files=manifest.files,
        created=manifest.created,
        signature=signature,
        skipped=manifest.skipped,
    )


def check_signature(manifest: Manifest, public_key: Any) -> bool:
    """True when the embedded signature was made by ``public_key`` over this manifest."""
    from cryptography.exceptions import InvalidSignature

    if manifest.signature is None or manifest.signature.get("algorithm", "ed25519") != "ed25519":
        return False
    try:
        value = base64.b64decode(manifest.signature["value"], validate=True)
        public_key.verify(value, canonical_bytes(manifest.payload()))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- public operations ------------------------------------------------------------------------
def create_manifest(
    root: str | Path,
    *,
    private_key: Any | None = None,
    exclude: Sequence[str | Path] = (),
) -> Manifest:
    """Hash every file under ``root`` (see the module docstring for the walking rules).

    Args:
        root: The folder to describe.
        private_key: An Ed25519 private key (see :func:`load_private_key`) to sign with.
        exclude: Further paths never to hash (e.g. where the manifest will be written).
    """
    base = check_folder(root)
    files, skipped = _walk(base, _excluded(base, exclude))
    entries = tuple(_entry(rel, p) for rel, p in sorted(files.items()))
    manifest = Manifest(
        files=entries,
        created=datetime.now(UTC).replace(microsecond=0).isoformat(),
        skipped=tuple(skipped),
    )
    return sign_manifest(manifest, private_key) if private_key is not None else manifest


def verify_manifest(
    root: str | Path,
    manifest: Manifest | str | Path | None = None,
    *,
    public_key: Any | None = None,
) -> Verification:
    """Compare ``root`` against a manifest (default ``ROOT/aisec-manifest.json``).

    Files are re-hashed only when their size matches, so a size change is detected cheaply.
    The signature is checked when ``public_key`` is given; an unsigned manifest then fails.
    """
    base = check_folder(root)
    manifest_path: Path | None = None
    if not isinstance(manifest, Manifest):
        manifest_path = Path(manifest) if manifest is not None else base / MANIFEST_NAME
        manifest = Manifest.load(manifest_path)
    files, _ = _walk(base, _excluded(base, [manifest_path]))
    expected = {e.path: e for e in manifest.files}
    added = sorted(set(files) - set(expected))
    removed = sorted(set(expected) - set(files))
    changed: list[str] = []
    details: dict[str, dict[str, Any]] = {}
    for rel in sorted(set(files) & set(expected)):
        entry = expected[rel]
        size = files[rel].stat().st_size
        digest = sha256_file(files[rel]) if size == entry.size else None
        if size != entry.size or digest != entry.sha256:
            changed.append(rel)
            details[rel] = {
                "expected_size": entry.size,
                "actual_size": size,
                "expected_sha256": entry.sha256,
                "actual_sha256": digest if digest is not None else sha256_file(files[rel]),
            }
    if public_key is not None:
        if manifest.signature is None:
            signature = "missing"
        else:
            signature = "valid" if check_signature(manifest, public_key) else "invalid"
    else:
        signature = "unverified" if manifest.signature is not None else "absent"
    return Verification(
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
        signature=signature,
        checked=len(expected),
        details=details,
    )
