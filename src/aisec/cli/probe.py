"""``aisec probe`` (prompt injection, leakage and jailbreak probes of an LLM application) and
``aisec serve`` (an OpenAI-compatible server over a built-in chat target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aisec.cli.assess import report_folder_option, report_formats, report_formats_option
from aisec.cli.common import EXIT_OK, EXIT_USAGE, user_errors
from aisec.cli.output import epilog

FAMILIES = ("prompt.injection", "prompt.indirect-injection", "prompt.leakage", "prompt.jailbreak")
"""The black-box probe families ``aisec probe`` runs by default."""
OPTIONAL = ("prompt.gcg",)
"""Families run only when asked for (white-box, slow)."""
TARGET_HELP = (
    "builtin:support-bot (the built-in LLM application), builtin:smollm2 (the bare model) or "
    "openai:http://HOST:PORT/v1#MODEL (any OpenAI-compatible endpoint)."
)


def _families(values: list[str] | None) -> list[str]:
    from aisec.errors import ConfigError

    wanted = [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
    wanted = [v if v.startswith("prompt.") else f"prompt.{v}" for v in wanted] or list(FAMILIES)
    bad = [v for v in wanted if v not in FAMILIES + OPTIONAL]
    if bad:
        choices = ", ".join(FAMILIES + OPTIONAL)
        raise ConfigError([f"unknown probe family {bad[0]!r}; choose from {choices}"])
    return wanted


def probe_config(
    target: str,
    *,
    families: list[str],
    system_prompt: Path | None,
    docs: Path | None,
    canary: str | None,
    api_key_env: str | None,
    max_new_tokens: int,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The assessment config ``aisec probe`` runs: one chat target, one unit per family."""
    entry: dict[str, Any] = {"name": "llm-app", "chat": target, "max_new_tokens": max_new_tokens}
    for key, value in (
        ("system_prompt", system_prompt),
        ("docs", docs),
        ("canary", canary),
        ("api_key_env", api_key_env),
    ):
        if value is not None:
            entry[key] = str(value)
    return {
        "name": "probe",
        "targets": [entry],
        "tests": [{"id": f, "params": dict(params) if f in FAMILIES else {}} for f in families],
    }


def register(app: typer.Typer) -> None:
    """Add ``aisec probe`` and ``aisec serve``."""

    @app.command(
        "probe",
        epilog=epilog(
            "aisec probe --target builtin:support-bot --probes leakage,indirect-injection",
            "aisec probe --target openai:http://127.0.0.1:8000/v1#my-model "
            "--system-prompt prompt.txt --docs kb/ --canary SECRET-123",
            exit_codes=f"{EXIT_OK} ok (whatever the findings), {EXIT_USAGE} usage or input error",
        ),
    )
    @user_errors
    def probe(
        target: str = typer.Option(..., "--target", "-t", help=TARGET_HELP),
        probes: list[str] | None = typer.Option(
            None,
            "--probes",
            "-p",
            help="Probe families, comma-separated: injection, indirect-injection, leakage, "
            "jailbreak, gcg (default: the first four).",
        ),
        system_prompt: Path | None = typer.Option(
            None,
            "--system-prompt",
            help="Text file with the application's system prompt (default: the target's own).",
        ),
        docs: Path | None = typer.Option(
            None,
            "--docs",
            help="Folder of .txt/.md documents the application retrieves (default: none).",
        ),
        canary: str | None = typer.Option(
            None,
            "--canary",
            help="Secret planted in the system prompt, for leakage (default: the target's own).",
        ),
        transforms: list[str] | None = typer.Option(
            None,
            "--transform",
            help="Payload transform (repeatable): none, base64, leetspeak, homoglyph, "
            "translation, or a+b (default: none).",
        ),
        defences: list[str] | None = typer.Option(
            None,
            "--defence",
            help="Prompt defence measured (repeatable): none, spotlight, sandwich, filter "
            "(default: none).",
        ),
        probe_file: Path | None = typer.Option(
            None,
            "--probe-file",
            help="JSONL file of further templates (default: aisec's own only).",
        ),
        limit: int | None = typer.Option(
            None, "--limit", min=1, help="Templates per family and transform (default: all)."
        ),
        api_key_env: str | None = typer.Option(
            None,
            "--api-key-env",
            help="Environment variable holding the endpoint's API key (default: none).",
        ),
        max_new_tokens: int = typer.Option(48, "--max-new-tokens", min=1, help="Longest answer."),
        out: Path = report_folder_option(),
        formats: list[str] | None = report_formats_option(),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Show a progress bar."
        ),
    ) -> None:
        """Probe an LLM application for prompt injection, leakage and jailbreaks; write reports.

        Replies are stored as they complete (``OUT/results.db.RUN.replies``), so running the
        same command again after an interruption resumes.
        """
        from aisec.assessment.config import AssessmentConfig
        from aisec.cli.assess import execute

        params: dict[str, Any] = {}
        if transforms:
            params["transforms"] = transforms
        if defences:
            params["defences"] = defences
        if probe_file:
            from aisec.attacks.prompt.probes import load_templates

            load_templates(probe_file)  # a file that does not parse stops here, in one line
            params["probe_file"] = str(probe_file)
        if limit:
            params["limit"] = limit
        config = AssessmentConfig.model_validate(
            probe_config(
                target,
                families=_families(probes),
                system_prompt=system_prompt,
                docs=docs,
                canary=canary,
                api_key_env=api_key_env,
                max_new_tokens=max_new_tokens,
                params=params,
            )
        )
        execute(
            None,
            out,
            out / "results.db",
            resume=None,
            fail_on=None,
            progress=progress,
            config=config,
            formats=report_formats(formats),
        )
        raise typer.Exit(EXIT_OK)

    @app.command(
        "serve",
        epilog=epilog("aisec serve builtin:support-bot --port 8000"),
    )
    @user_errors
    def serve(
        target: str = typer.Argument(..., help="builtin:support-bot or builtin:smollm2."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
        max_new_tokens: int = typer.Option(48, "--max-new-tokens", min=1, help="Longest answer."),
    ) -> None:
        """Serve a built-in chat target as an OpenAI-compatible endpoint (chat completions)."""
        from aisec.errors import ConfigError
        from aisec.targets.chat_server import serve as run_server
        from aisec.targets.chat_targets import chat_target

        if not target.startswith("builtin:"):
            raise ConfigError([f"aisec serve serves built-in targets; got {target!r}"])
        model = chat_target(target, max_new_tokens=max_new_tokens)
        typer.echo(f"serving {target} at http://{host}:{port}/v1 (model {model.name})", err=True)
        run_server(model, host=host, port=port, model_name=model.name)
