"""``aisec assess``: run an assessment config, store results, write reports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from aisec.cli.common import err_console, threads_option, user_errors, verdict_exit
from aisec.cli.output import FINDINGS_EXIT, choose_formats, epilog, output_option
from aisec.extras import require_torch
from aisec.threads import use_threads

DEFAULT_STORE = ".aisec/results.db"
DEFAULT_OUT = Path("aisec-report")
"""Report folder when ``--output`` is not given."""


def store_option() -> Path:
    """The ``--store`` option shared by assess and report."""
    return typer.Option(
        Path(os.environ.get("AISEC_STORE", DEFAULT_STORE)),
        "--store",
        help="SQLite results store (env AISEC_STORE).",
    )


def report_formats_option() -> Any:
    """The ``--format/-f`` option of the report-writing commands (assess, report, demo)."""
    from aisec.report.writer import FORMATS

    return typer.Option(
        None,
        "--format",
        "-f",
        help=f"Report formats to write: {', '.join(FORMATS)} (repeat or comma-separate; "
        "default: all).",
    )


def report_folder_option() -> Any:
    """The ``--output/-o`` option naming the report folder (``--out`` is an alias)."""
    return output_option("Report folder (--out is an alias).", "--out", default=DEFAULT_OUT)


def report_formats(values: Sequence[str] | None) -> list[str]:
    """The report formats asked for (all when none); an unknown one exits 2 with one line."""
    from aisec.report.writer import FORMATS

    return choose_formats(values, FORMATS)


def execute(
    config_path: Path | None,
    out: Path,
    store_path: Path,
    *,
    resume: str | None,
    fail_on: str | None,
    progress: bool,
    config: object | None = None,
    formats: Sequence[str] | None = None,
    executor: str | None = None,
    address: str | None = None,
) -> int:
    """Run (or resume) an assessment, write its reports and print the summary; return exit code.

    ``formats`` are the report formats to write into ``out`` (default: all); ``executor`` and
    ``address`` override the config's ``executor:`` section.
    """
    from aisec.assessment import ResultStore, load_config, load_report_data, run_assessment
    from aisec.cli.summary import print_summary
    from aisec.records import Severity

    cfg = config if config is not None else load_config(config_path)  # type: ignore[arg-type]
    cfg = with_executor(cfg, executor, address)  # type: ignore[arg-type]
    threshold = Severity.parse(fail_on) if fail_on else None
    with ResultStore(store_path) as store:
        outcome = run_assessment(cfg, store, resume=resume, console=err_console, progress=progress)  # type: ignore[arg-type]
        data = load_report_data(store, outcome.run_id)
    if threshold is not None:
        from dataclasses import replace

        data = replace(data, fail_on=threshold)
    from aisec.report.writer import write_reports

    paths = write_reports(data, out) if formats is None else write_reports(data, out, formats)
    print_summary(data, err_console)
    err_console.print("Reports: " + ", ".join(str(p) for p in paths.values()))
    store_arg = "" if str(store_path) == DEFAULT_STORE else f" --store {store_path}"
    err_console.print(
        f"Run id: {outcome.run_id} (re-render with `aisec report {outcome.run_id}{store_arg}`)"
    )
    return verdict_exit(data.failed, data.inconclusive)


EXECUTORS = ("local", "ray")


def with_executor(config: Any, kind: str | None, address: str | None) -> Any:
    """``config`` with the executor the command line asks for (``--address`` implies Ray)."""
    from aisec.errors import ConfigError

    if kind is not None and kind not in EXECUTORS:
        raise ConfigError([f"--executor must be one of {', '.join(EXECUTORS)}; got {kind!r}"])
    if address is not None and kind == "local":
        raise ConfigError(["--address names a Ray cluster: use it with --executor ray"])
    update: dict[str, Any] = {}
    if kind is not None:
        update["kind"] = kind
    if address is not None:
        update["kind"] = "ray"
        update["address"] = address
    if not update:
        return config
    return config.model_copy(update={"executor": config.executor.model_copy(update=update)})


def executor_options() -> tuple[Any, Any]:
    """The ``--executor`` and ``--address`` options."""
    return (
        typer.Option(
            None,
            "--executor",
            help="Where units run: local (this process) or ray (Ray tasks; needs the ray "
            "extra) (default: the config's executor.kind, else local).",
        ),
        typer.Option(
            None,
            "--address",
            help="Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: the config's "
            "executor.address, else a new local Ray instance).",
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``aisec assess``."""

    @app.command(
        "assess",
        epilog=epilog(
            "aisec assess plan.yaml --output reports/ --format html,json --fail-on high",
            "aisec assess plan.yaml --executor ray --address auto",
            exit_codes=FINDINGS_EXIT,
        ),
    )
    @user_errors
    def assess(
        config: Path = typer.Argument(..., help="Assessment config (YAML)."),
        out: Path = report_folder_option(),
        formats: list[str] | None = report_formats_option(),
        fail_on: str = typer.Option(
            None,
            "--fail-on",
            help="Exit 1 at/above: info|low|medium|high|critical (default: the config's "
            "fail_on, high when it has none).",
        ),
        resume: str = typer.Option(
            None,
            "--resume",
            help="Resume this run id (skips finished units; default: start a new run).",
        ),
        store: Path = store_option(),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Show a progress bar."
        ),
        threads: int | None = threads_option(),
        executor: str | None = executor_options()[0],
        address: str | None = executor_options()[1],
    ) -> None:
        """Run the tests of CONFIG, storing each result as it completes, and write reports."""
        require_torch("`aisec assess`")
        use_threads(threads)
        wanted = report_formats(formats)
        code = execute(
            config,
            out,
            store,
            resume=resume,
            fail_on=fail_on,
            progress=progress,
            formats=wanted,
            executor=executor,
            address=address,
        )
        raise typer.Exit(code)
