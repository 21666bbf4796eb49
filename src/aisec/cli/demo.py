"""``aisec demo``: the built-in assessment, end to end, on built-in models and data."""

from __future__ import annotations

from pathlib import Path

import typer

from aisec.cli.assess import (
    executor_options,
    report_folder_option,
    report_formats,
    report_formats_option,
)
from aisec.cli.common import EXIT_OK, EXIT_USAGE, threads_option, user_errors
from aisec.cli.output import epilog
from aisec.extras import require_torch
from aisec.threads import use_threads


def register(app: typer.Typer) -> None:
    """Add ``aisec demo``."""

    @app.command(
        "demo",
        epilog=epilog(
            "aisec demo --quick --output demo-report/ --format html",
            "aisec demo --executor ray",
            exit_codes=f"{EXIT_OK} ok (whatever the findings), {EXIT_USAGE} usage or input error",
        ),
    )
    @user_errors
    def demo(
        out: Path = report_folder_option(),
        formats: list[str] | None = report_formats_option(),
        quick: bool = typer.Option(False, "--quick", help="Smaller samples, for a fast look."),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Show a progress bar."
        ),
        threads: int | None = threads_option(),
        executor: str | None = executor_options()[0],
        address: str | None = executor_options()[1],
    ) -> None:
        """Profile → threats → plan → attacks → risk register → reports, on built-in targets."""
        require_torch("`aisec demo`")
        use_threads(threads)
        from aisec.assessment.demo import demo_config
        from aisec.cli.assess import execute

        wanted = report_formats(formats)
        execute(
            None,
            out,
            out / "results.db",
            resume=None,
            fail_on=None,
            progress=progress,
            config=demo_config(quick=quick, files_dir=out / "model-files"),
            formats=wanted,
            executor=executor,
            address=address,
        )
        raise typer.Exit(EXIT_OK)
