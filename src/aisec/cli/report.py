"""``aisec report``: re-render reports of a stored run."""

from __future__ import annotations

from pathlib import Path

import typer

from aisec.cli.assess import (
    report_folder_option,
    report_formats,
    report_formats_option,
    store_option,
)
from aisec.cli.common import err_console, user_errors, verdict_exit
from aisec.cli.output import FINDINGS_EXIT, epilog
from aisec.extras import require_torch


def register(app: typer.Typer) -> None:
    """Add ``aisec report``."""

    @app.command(
        "report",
        epilog=epilog(
            "aisec report --format json,sarif --output reports/",
            "aisec report --list",
            exit_codes=FINDINGS_EXIT + " (fail-on as stored with the run)",
        ),
    )
    @user_errors
    def report(
        run_id: str = typer.Argument(None, help="Run id (default: the newest run in the store)."),
        out: Path = report_folder_option(),
        formats: list[str] | None = report_formats_option(),
        store: Path = store_option(),
        list_runs: bool = typer.Option(False, "--list", help="List stored runs and exit."),
    ) -> None:
        """Re-render report.html, report.json, report.md and report.sarif of RUN_ID from the results store."""
        from aisec.assessment import ResultStore, load_report_data
        from aisec.cli.summary import print_summary
        from aisec.errors import StoreError
        from aisec.report.writer import write_reports

        wanted = report_formats(formats)
        if not store.is_file():
            raise StoreError(
                f"no results store at {str(store)!r}; run `aisec assess` first or pass --store"
            )
        with ResultStore(store) as st:
            runs = st.runs()
            if list_runs:
                for r in runs:
                    state = "finished" if r.finished else "incomplete"
                    typer.echo(f"{r.run_id}\t{r.created}\t{r.units_done}/{r.units_total}\t{state}")
                raise typer.Exit(0)
            require_torch("`aisec report`")
            if run_id is None:
                if not runs:
                    raise StoreError(f"the store {str(store)!r} has no runs yet")
                run_id = runs[0].run_id
            data = load_report_data(st, run_id)
        paths = write_reports(data, out, wanted)
        print_summary(data, err_console)
        err_console.print("Reports: " + ", ".join(str(p) for p in paths.values()))
        raise typer.Exit(verdict_exit(data.failed, data.inconclusive))
