"""Chat targets from a reference: ``builtin:support-bot``, ``builtin:smollm2`` or
``openai:http://HOST:PORT/v1#MODEL``, optionally wrapped as an application with a system prompt
file and a folder of documents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from aisec.errors import ConfigError, DataError
from aisec.targets.llm_app import Document, LLMApplication

CHAT_REFS = "builtin:support-bot, builtin:smollm2 or openai:http://HOST:PORT/v1#MODEL"


def read_documents(folder: str | Path) -> tuple[Document, ...]:
    """Every ``.txt`` and ``.md`` file of ``folder`` as a document (title: the file's stem)."""
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"documents folder {path} does not exist; give a folder of .txt/.md files")
    docs = []
    for f in sorted(path.iterdir()):
        if f.suffix.lower() in (".txt", ".md") and f.is_file():
            try:
                docs.append(Document(f.stem, f.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                raise DataError(f"document {f} is not UTF-8 text; convert or remove it") from None
    if not docs:
        raise DataError(f"documents folder {path} holds no .txt or .md files; add some")
    return tuple(docs)


def _read_prompt(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"system prompt file {p} does not exist; give a text file")
    text = p.read_text(encoding="utf-8").strip()
    if not text:
        raise DataError(f"system prompt file {p} is empty; write the application's instructions")
    return text


def chat_target(
    ref: str,
    *,
    name: str | None = None,
    system_prompt: str | Path | None = None,
    docs: str | Path | None = None,
    canary: str | None = None,
    api_key_env: str | None = None,
    max_new_tokens: int = 48,
) -> Any:
    """The chat target ``ref`` names, as an application when a prompt, documents or a canary
    are given (the built-in support bot always is)."""
    prompt = _read_prompt(system_prompt) if system_prompt else None
    corpus = read_documents(docs) if docs else ()
    if ref in ("builtin:support-bot", "builtin:smollm2"):
        from aisec.targets.builtin.llm import load_smollm2
        from aisec.targets.builtin.support_bot import support_bot

        model = load_smollm2(max_new_tokens=max_new_tokens)
        if ref == "builtin:support-bot":
            app = support_bot(model)
            # a prompt of the user's replaces the bot's, and with it the bot's canary
            return replace(
                app,
                system_prompt=prompt or app.system_prompt,
                corpus=corpus or app.corpus,
                canary=canary or ("" if prompt else app.canary),
                name=name or app.name,
            )
        base: Any = model
    elif ref.startswith("openai:"):
        from aisec.targets.openai_http import OpenAIChatTarget

        base = OpenAIChatTarget.from_ref(ref, api_key_env=api_key_env, max_tokens=max_new_tokens)
        base.check()
    else:
        raise ConfigError([f"unknown chat target {ref!r}; use {CHAT_REFS}"])
    if name:
        base.name = name
    if prompt or corpus or canary:
        return LLMApplication(
            base, prompt or "", corpus=corpus, name=name or base.name, canary=canary or ""
        )
    return base
