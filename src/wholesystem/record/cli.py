"""`wholesystem ingest ...`: partner extracts in, and re-playing quarantined rows."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from wholesystem.record.ingest import IngestProgress

__all__ = ["ingest_progress", "register"]

err = Console(stderr=True)
out = Console()


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "system"
    return f"cli:{name}"[:64]


def _parse_fixes(values: list[str]) -> dict[int, dict[str, str | None]]:
    fixes: dict[int, dict[str, str | None]] = {}
    for value in values:
        head, sep, new = value.partition("=")
        row, colon, column = head.partition(":")
        if not sep or not colon or not row.strip().isdigit() or not column.strip():
            raise typer.BadParameter(
                f"{value!r}: write a fix as ROW_ID:COLUMN=VALUE (an empty VALUE blanks it)"
            )
        fixes.setdefault(int(row), {})[column.strip()] = new if new != "" else None
    return fixes


@contextmanager
def ingest_progress(console: Console | None = None) -> Iterator[IngestProgress]:
    """A progress bar for :func:`~wholesystem.record.ingest.ingest_path`: files, then the
    ``source_identity`` rebuild; gone when the ingest is done."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    with Progress(
        *columns, MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("Ingesting files", total=None)

        def tell(stage: str, done: int, total: int) -> None:
            if stage == "identities":
                bar.update(task, description="Rebuilding source_identity", completed=done, total=1)
            else:
                bar.update(task, completed=done, total=total)

        yield tell


def _ingest(path: Path, org: str | None, dataset: str | None) -> None:
    from wholesystem.config import get_settings
    from wholesystem.record.ingest import IngestError, ingest_path
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake

    settings = get_settings()
    try:
        with open_database(settings.resolved_database_url) as factory, ingest_progress(err) as tell:
            summary = ingest_path(
                factory,
                Lake(settings.resolved_lake_dir),
                path,
                actor=_actor(),
                org=org,
                dataset_name=dataset,
                progress=tell,
            )
    except IngestError as exc:
        err.print(f"[red]Nothing ingested.[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table(
        "run", "organisation", "dataset", "file", "status", "read", "loaded", "quarantined"
    )
    for o in summary.outcomes:
        table.add_row(
            str(o.run_id or ""),
            o.org_code,
            o.dataset,
            Path(o.path).name,
            o.status,
            f"{o.rows_read:,}",
            f"{o.rows_loaded:,}",
            f"{o.rows_quarantined:,}",
        )
    out.print(table)
    for o in summary.outcomes:
        if o.status == "rejected":
            err.print(f"Rejected {o.path}: {o.reason}", highlight=False, soft_wrap=True)
    read, loaded, quarantined = summary.rows
    out.print(
        f"{summary.count('loaded')} loaded, {summary.count('rejected')} rejected, "
        f"{summary.count('unchanged')} unchanged: {read:,} rows read, {loaded:,} loaded, "
        f"{quarantined:,} quarantined.",
        highlight=False,
        soft_wrap=True,
    )
    if summary.count("rejected"):
        raise typer.Exit(1)


def _replay(run_id: int, fix: list[str]) -> None:
    from wholesystem.config import get_settings
    from wholesystem.record.ingest import ReplayError, replay
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake

    settings = get_settings()
    fixes = _parse_fixes(fix)
    try:
        with open_database(settings.resolved_database_url) as factory:
            result = replay(
                factory, Lake(settings.resolved_lake_dir), run_id, actor=_actor(), fixes=fixes
            )
    except ReplayError as exc:
        err.print(f"[red]Nothing re-played.[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    out.print(
        f"Run {run_id}: {result.passed} rows passed and were staged; "
        f"{result.still_failing} still fail.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the `ingest` command (`ingest PATH`, `ingest replay RUN_ID`) to the top-level CLI."""

    @app.command("ingest")
    def ingest(
        path: Annotated[
            str,
            typer.Argument(
                help="A file, or a folder laid out <org>/<dataset>/... (or a synth output); "
                "or the word replay followed by a run id."
            ),
        ],
        run_id: Annotated[
            int | None, typer.Argument(help="With replay: the run whose open rows to re-play.")
        ] = None,
        org: Annotated[str | None, typer.Option("--org", help="Organisation code (ODS).")] = None,
        dataset: Annotated[
            str | None, typer.Option("--dataset", help="Dataset name (gp_events, apc, ...).")
        ] = None,
        fix: Annotated[
            list[str] | None,
            typer.Option(
                "--set", help="With replay: ROW_ID:COLUMN=VALUE, a correction (repeatable)."
            ),
        ] = None,
    ) -> None:
        """Ingest partner extracts (CSV, FHIR R4, OMOP), or re-play quarantined rows.

        `wholesystem ingest PATH [--org CODE] [--dataset NAME]`: every file is loaded,
        rejected with a reason, or unchanged (already loaded).
        `wholesystem ingest replay RUN_ID [--set ROW_ID:COLUMN=VALUE ...]`: re-validate the
        run's open quarantined rows; rows that now pass are staged. (To ingest a file
        named "replay", write ./replay.)
        """
        if path == "replay":
            if run_id is None:
                err.print("Give the run id to re-play: wholesystem ingest replay RUN_ID")
                raise typer.Exit(2)
            _replay(run_id, fix or [])
            return
        if run_id is not None or fix:
            err.print("A run id and --set go with `wholesystem ingest replay RUN_ID` only.")
            raise typer.Exit(2)
        _ingest(Path(path), org, dataset)
