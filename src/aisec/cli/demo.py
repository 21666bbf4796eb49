"""``aisec demo``: the built-in assessment, end to end, on built-in models and data."""

from __future__ import annotations

from pathlib import Path

import typer

from aisec.cli.common import user_errors
from aisec.extras import require_torch


def register(app: typer.Typer) -> None:
    """Add ``aisec demo``."""

    @app.command("demo")
    @user_errors
    def demo(
        out: Path = typer.Option(Path("aisec-report"), "--out", "-o", help="Report folder."),
        quick: bool = typer.Option(False, "--quick", help="Smaller samples, for a fast look."),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Show a progress bar."
        ),
    ) -> None:
        """Profile → threats → plan → attacks → risk register → reports, on built-in targets."""
        require_torch("`aisec demo`")
        from aisec.assessment.demo import demo_config
        from aisec.cli.assess import execute

        execute(
            None,
            out,
            out / "results.db",
            resume=None,
            fail_on=None,
            progress=progress,
            config=demo_config(quick=quick, files_dir=out / "model-files"),
        )
        raise typer.Exit(0)
