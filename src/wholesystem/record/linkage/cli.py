"""The ``link-records`` and ``link-eval`` commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from wholesystem.record.linkage.engine import LinkSettings, link
from wholesystem.record.linkage.evaluate import evaluate, source_records_from_synth
from wholesystem.record.linkage.index import assign_person_ids
from wholesystem.record.linkage.records_io import (
    LinkInputError,
    read_link_input,
    write_link_output,
)

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=2)


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        disable=quiet,
        transient=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``link-records``, ``link-eval`` and ``link-index`` to ``app``."""

    @app.command("link-index")
    def link_index() -> None:
        """Build or update the person index from every ingested source record."""
        from wholesystem.config import get_settings
        from wholesystem.record.linkage.pipeline import build_person_index
        from wholesystem.store.db import open_database
        from wholesystem.store.lake import Lake, LakeError

        settings = get_settings()
        try:
            with (
                open_database(settings.resolved_database_url) as factory,
                _progress(False) as progress,
            ):
                progress.add_task("Linking source records", total=None)
                update = build_person_index(factory, Lake(settings.resolved_lake_dir))
        except LakeError as exc:
            raise _fail(str(exc)) from None
        typer.echo(
            f"Person index: {update.index.num_rows:,} records, {update.persons:,} persons, "
            f"{update.new_persons:,} new, {len(update.changes)} merges/splits logged"
        )

    @app.command("link-records")
    def link_records(
        input_csv: Annotated[Path, typer.Argument(help="INPUT.csv (see DESIGN.md)")],
        out: Annotated[Path, typer.Option("--out", help="OUTPUT.csv: record_id, person_id")],
        threshold: Annotated[
            float, typer.Option(help="match probability for a model link")
        ] = LinkSettings().match_probability,
        quiet: Annotated[bool, typer.Option("--quiet", help="no progress or summary")] = False,
    ) -> None:
        """Link person records: one person_id per record_id."""
        if not 0.0 < threshold < 1.0:
            raise _fail(f"--threshold must be between 0 and 1 (got {threshold})")
        console = Console(stderr=True, quiet=quiet)
        with _progress(quiet) as progress:
            task = progress.add_task("reading", total=3)
            try:
                records = read_link_input(input_csv)
            except LinkInputError as exc:
                raise _fail(str(exc)) from None
            progress.update(task, advance=1, description="linking")
            started = time.perf_counter()
            result = link(records, LinkSettings(match_probability=threshold))
            progress.update(task, advance=1, description="writing")
            update = assign_person_ids(result.clusters)
            rids = result.clusters.column("record_id").to_pylist()
            write_link_output(out, rids, [update.person_of[r] for r in rids])
            progress.update(task, advance=1)
        console.print(
            f"{len(rids):,} records -> {update.new_persons:,} persons "
            f"in {time.perf_counter() - started:.1f} s; written to {out}"
        )

    @app.command("link-eval")
    def link_eval(
        truth: Annotated[Path, typer.Option("--truth", help="a `wholesystem synth` output")],
        threshold: Annotated[
            float, typer.Option(help="match probability for a model link")
        ] = LinkSettings().match_probability,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
    ) -> None:
        """Link a synthetic ICS's extracts and score the result against its truth."""
        if not (truth / "truth" / "records.csv").is_file():
            raise _fail(f"{truth} is not a synth output (no truth/records.csv)")
        with _progress(quiet or as_json) as progress:
            task = progress.add_task("reading extracts", total=3)
            try:
                records = source_records_from_synth(
                    truth, lambda m: progress.update(task, description=m)
                )
            except (FileNotFoundError, ValueError) as exc:
                raise _fail(str(exc)) from None
            progress.update(task, advance=1, description=f"linking {records.num_rows:,} records")
            started = time.perf_counter()
            result = link(records, LinkSettings(match_probability=threshold))
            seconds = time.perf_counter() - started
            progress.update(task, advance=1, description="scoring against the truth")
            metrics = evaluate(records, result.clusters, truth)
            progress.update(task, advance=1)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        **metrics.as_dict(),
                        "link_seconds": round(seconds, 2),
                        "engine": result.stats,
                    },
                    indent=2,
                )
            )
            return
        console = Console()
        table = Table(title=f"Linkage of {truth} against its truth")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for label, value in (
            ("source records", f"{metrics.records:,}"),
            ("true persons", f"{metrics.true_persons:,}"),
            ("predicted persons", f"{metrics.predicted_persons:,}"),
            ("pairwise precision", f"{metrics.precision:.5f}"),
            ("pairwise recall", f"{metrics.recall:.5f}"),
            ("pairwise F1", f"{metrics.f1:.5f}"),
            ("cluster purity", f"{metrics.purity:.5f}"),
            ("link time (s)", f"{seconds:.1f}"),
        ):
            table.add_row(label, value)
        console.print(table)
        cases = Table(title="Hard cases (record pairs)")
        cases.add_column("error")
        cases.add_column("cause")
        cases.add_column("pairs", justify="right")
        for kind, counts in (
            ("false merge", metrics.false_merges),
            ("false split", metrics.false_splits),
        ):
            for cause, n in sorted(counts.items()):
                cases.add_row(kind, cause.replace("_", " "), f"{n:,}")
            if not counts:
                cases.add_row(kind, "none", "0")
        console.print(cases)
