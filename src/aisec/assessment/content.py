"""What a run's results depend on beyond its config: the content of models, data and files.

A config names files; the files can change between an interruption and a rerun. Every unit key
and every run's identity therefore include a digest of what the target actually is (its loaded
weights), of the data it is evaluated on (after the subset), and of every file it lists under
``files:``. A changed file starts a new run instead of mixing two models under one verdict.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aisec.assessment.config import TargetConfig
from aisec.data import Dataset
from aisec.targets.base import Target

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ContentDigest:
    """SHA-256 digests of one target's model, data and listed files."""

    model: str
    """Digest of the loaded model's parameters (or its description when it has none)."""
    data: str
    """Digest of the evaluation data as the tests see it (inputs and labels)."""
    files: Mapping[str, str]
    """Digest of each file under the target's ``files:``, by path."""

    @property
    def combined(self) -> str:
        """One digest over all of it."""
        blob = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the run)."""
        return {"model": self.model, "data": self.data, "files": dict(self.files)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContentDigest:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data["model"]), str(data["data"]), dict(data.get("files", {})))


def digest_target(
    tc: TargetConfig, target: Target, data: Dataset, train: Dataset | None = None
) -> ContentDigest:
    """The content digests of one configured target (its training data included, if any)."""
    arrays = [data.x, data.y] + ([train.x, train.y] if train is not None else [])
    return ContentDigest(
        model=model_digest(target),
        data=arrays_digest(arrays),
        files={f: file_digest(Path(f)) for f in tc.files},
    )


def digest_chat_target(tc: TargetConfig, target: Target) -> ContentDigest:
    """The content digests of a chat target: its description (model, decoding, defence) and the
    files it reads (system prompt, documents, listed files)."""
    import json

    named = [tc.system_prompt] if tc.system_prompt else []
    if tc.docs:
        named += [str(p) for p in sorted(Path(tc.docs).glob("*")) if p.is_file()]
    blob = json.dumps(target.describe(), sort_keys=True, default=str).encode()
    return ContentDigest(
        model=hashlib.sha256(blob).hexdigest(),
        data=hashlib.sha256(b"probes").hexdigest(),
        files={f: file_digest(Path(f)) for f in [*named, *tc.files]},
    )


def model_digest(target: Target) -> str:
    """SHA-256 over a model's parameters, read through the adapters' public fields.

    Torch models are hashed over their state dict, scikit-learn estimators over their fitted
    arrays (attributes ending in ``_``); any other target over its description.
    """
    from aisec.targets.sklearn import SklearnClassifier
    from aisec.targets.torch import TorchClassifier

    h = hashlib.sha256()
    if isinstance(target, TorchClassifier):
        for name, tensor in sorted(target.model.state_dict().items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(tensor.detach().cpu().numpy()).tobytes())
    elif isinstance(target, SklearnClassifier):
        fitted = vars(target.estimator)
        for name in sorted(k for k in fitted if k.endswith("_") and not k.startswith("_")):
            value = fitted[name]
            h.update(name.encode())
            if isinstance(value, np.ndarray) and value.dtype != object:
                h.update(np.ascontiguousarray(value).tobytes())
            else:
                h.update(repr(value).encode())
    else:
        h.update(json.dumps(target.describe(), sort_keys=True, default=str).encode())
    return h.hexdigest()


def arrays_digest(arrays: Iterable[np.ndarray]) -> str:
    """SHA-256 over arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content (``missing`` when it is not there)."""
    if not path.is_file():
        return "missing"
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def what_changed(tc: TargetConfig, before: ContentDigest, now: ContentDigest) -> list[str]:
    """Names of what differs, in the user's terms (the model file, the data file, a file)."""
    changed = []
    if before.model != now.model:
        changed.append(tc.torchscript or tc.weights or f"the model of {tc.name!r}")
    if before.data != now.data:
        changed.append(tc.data or f"the data of {tc.name!r}")
    for path in sorted(set(before.files) | set(now.files)):
        if before.files.get(path) != now.files.get(path):
            changed.append(path)
    return changed
