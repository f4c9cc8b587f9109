"""`wholesystem governance ...`: demo data, the scheme of delegation, the place/system split."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["register"]

err = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    """Add the `governance` commands to the top-level CLI."""
    gv = typer.Typer(help="Bodies, decisions, interests and conflicts.", no_args_is_help=True)

    @gv.command("demo")
    def demo() -> None:
        """Create the demo bodies, members, interests and routed decisions (idempotent)."""
        from wholesystem.config import get_settings
        from wholesystem.governance.demo import load_demo_governance
        from wholesystem.governance.services import GovernanceError
        from wholesystem.store.db import open_database, session_scope

        try:
            with (
                open_database(get_settings().resolved_database_url) as factory,
                session_scope(factory) as session,
            ):
                message = load_demo_governance(session)
        except GovernanceError as exc:
            err.print(f"[red]Not loaded.[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        out.print(message, highlight=False)

    @gv.command("scheme")
    def scheme() -> None:
        """Check and summarise the scheme of delegation."""
        from wholesystem.governance.scheme import SchemeError, load_scheme

        try:
            s = load_scheme()
        except SchemeError as exc:
            err.print(f"[red]Invalid scheme.[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        out.print(
            f"{s.name} {s.version}: place limit £{s.default_place_limit:,}; "
            f"reserved: {', '.join(sorted(s.reserved_matters))}",
            highlight=False,
        )

    @gv.command("split")
    def split(
        start: Annotated[str, typer.Argument(help="First day, YYYY-MM-DD")],
        end: Annotated[str, typer.Argument(help="Last day, YYYY-MM-DD")],
    ) -> None:
        """Decisions made at place and at system in a period (the aim is about 80/20)."""
        from wholesystem.config import get_settings
        from wholesystem.governance.metrics import decision_split
        from wholesystem.store.db import open_database

        with open_database(get_settings().resolved_database_url) as factory, factory() as s:
            result = decision_split(s, date.fromisoformat(start), date.fromisoformat(end))
        share = "n/a" if result.place_share is None else f"{result.place_share:.0%}"
        out.print(
            f"place {result.place}, system {result.system}, at place {share}", highlight=False
        )

    @gv.command("raise-metric-concerns")
    def raise_metric_concerns() -> None:
        """Raise a concern for each metric failing its agreed definition (idempotent)."""
        from wholesystem.config import get_settings
        from wholesystem.governance.concerns.services import raise_metric_concerns_now
        from wholesystem.store.db import open_database

        with open_database(get_settings().resolved_database_url) as factory:
            out.print(raise_metric_concerns_now(factory), highlight=False, soft_wrap=True)

    app.add_typer(gv, name="governance")
