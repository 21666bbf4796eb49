"""``aisec probe`` and ``aisec serve``: bad input is one line and exit 2, before any model loads."""

from __future__ import annotations

import socket

from tests.cli_invoke import invoke, one_line_error


def test_unknown_family_and_target(tmp_path) -> None:
    """A misspelt family or target reference names the choices."""
    out = str(tmp_path / "r")
    one_line_error(
        invoke("probe", "--target", "builtin:support-bot", "--probes", "jailbrake", "--out", out),
        "unknown probe family 'prompt.jailbrake'",
    )
    one_line_error(
        invoke("probe", "--target", "ollama:llama3", "--no-progress", "--out", out),
        "unknown chat target 'ollama:llama3'",
        "openai:http://HOST:PORT/v1#MODEL",
    )


def test_missing_files_and_a_probe_file_that_does_not_parse(tmp_path) -> None:
    """Missing prompt and document files, and a bad probe line, are named with their path."""
    out = str(tmp_path / "r")
    one_line_error(
        invoke(
            "probe",
            "--target",
            "builtin:support-bot",
            "--system-prompt",
            str(tmp_path / "nope.txt"),
            "--no-progress",
            "--out",
            out,
        ),
        "system prompt file",
        "nope.txt",
    )
    one_line_error(
        invoke(
            "probe",
            "--target",
            "builtin:smollm2",
            "--docs",
            str(tmp_path / "kb"),
            "--no-progress",
            "--out",
            out,
        ),
        "documents folder",
    )
    bad = tmp_path / "probes.jsonl"
    bad.write_text('{"payload": "x"}\n{oops\n')
    one_line_error(
        invoke("probe", "--target", "builtin:support-bot", "--probe-file", str(bad), "--out", out),
        "probes.jsonl:2 is not valid JSON",
    )


def test_unreachable_endpoint(tmp_path) -> None:
    """An endpoint nobody listens on: one line saying to start the server or fix the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke(
        "probe", "--target", f"openai:http://127.0.0.1:{port}/v1#m", "--no-progress",
        "--out", str(tmp_path / "r"),
    )  # fmt: skip
    one_line_error(result, f"127.0.0.1:{port}")


def test_serve_refuses_what_it_cannot_serve() -> None:
    """Only built-in chat targets are served."""
    one_line_error(invoke("serve", "openai:http://x/v1#m"), "serves built-in targets")
