"""``wholesystem link-lake``: rebuild the linked lake tables (the single care record)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

__all__ = ["register", "run_link_lake"]


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "system"
    return f"cli:{name}"[:64]


def run_link_lake(*, relink: bool = False, quiet: bool = False) -> None:
    """Build the linked tables (after relinking the person index when ``relink``).

    Exits with status 2 and the reason when an input is missing.
    """
    from wholesystem.config import get_settings
    from wholesystem.record.linkage.pipeline import build_person_index
    from wholesystem.record.linked import UNLINKED_TABLE, build_linked_tables
    from wholesystem.record.terms import use_extra_terms
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake, LakeError

    settings = get_settings()
    use_extra_terms(settings.code_terms_file)
    lake = Lake(settings.resolved_lake_dir)
    actor = _actor()
    try:
        with open_database(settings.resolved_database_url) as factory:
            if relink:
                update = build_person_index(factory, lake, actor=actor)
                if not quiet:
                    typer.echo(
                        f"Person index: {update.index.num_rows:,} records, "
                        f"{update.persons:,} persons"
                    )
            summary = build_linked_tables(factory, lake, actor)
    except LakeError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if not quiet:
        typer.echo(f"Linked lake: {summary.describe()}")
        for table, rows in summary.rows.items():
            typer.echo(f"  {table:<16} {rows:>12,} rows")
    if summary.unlinked_total:
        typer.echo(
            f"Warning: {summary.unlinked_total:,} rows have no person; they are listed in the "
            f"lake table {UNLINKED_TABLE} (run `wholesystem link-index`).",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``link-lake`` to ``app``."""

    @app.command("link-lake")
    def link_lake(
        relink: Annotated[
            bool, typer.Option("--relink", help="rebuild the person index first")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="print only warnings")] = False,
    ) -> None:
        """Build the linked lake tables (person, event, condition...) from the staged
        extracts and the person index."""
        run_link_lake(relink=relink, quiet=quiet)
