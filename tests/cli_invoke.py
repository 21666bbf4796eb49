"""Running ``aisec`` in-process from the CLI tests, and what a user error must look like."""

from __future__ import annotations

from typer.testing import CliRunner

from aisec.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    """Run ``aisec ARGS`` in-process."""
    return runner.invoke(app, list(args))


def one_line_error(result, *fragments: str) -> None:
    """Exit 2 with a single ``aisec: error:`` line on stderr that holds every fragment."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aisec: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr
