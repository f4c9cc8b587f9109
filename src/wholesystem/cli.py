"""The `wholesystem` command: every pipeline step and admin task, one verb each."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from wholesystem.config import ConfigError, Settings, get_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="wholesystem",
    help="One version of the truth for an integrated care system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


db_app = typer.Typer(help="The operational database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the operational database to the latest schema (idempotent)."""
    from wholesystem.store.db import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    out.print("Database is at the latest schema.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the web app and API."""
    import uvicorn

    from wholesystem.web.app import create_app

    settings = _settings()
    if settings.workers > 1:
        # Each worker process builds the app from the same environment (uvicorn needs an
        # import string, not an app object, to start several).
        uvicorn.run(
            "wholesystem.web.app:create_app",
            factory=True,
            workers=settings.workers,
            host=host or settings.host,
            port=port or settings.port,
            proxy_headers=False,
            log_level="info",
        )
        return
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=False,
        log_level="info",
    )


@app.command()
def demo(
    people: Annotated[int, typer.Option(min=100, help="People in the synthetic ICS.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic ICS.")] = 42,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app when built.")
    ] = True,
) -> None:
    """Build the demo ICS end to end into the data directory, then serve it."""
    os.environ.setdefault("WHOLESYSTEM_MODE", "demo")
    from wholesystem.config import reset_settings
    from wholesystem.demo import build_demo

    reset_settings()
    settings = _settings()
    result = build_demo(settings, people=people, seed=seed)
    out.print(result.report(), highlight=False, soft_wrap=True)
    if serve_after:
        serve(host=None, port=None)


def _register_capabilities() -> None:
    from wholesystem.access.cli import register as register_access
    from wholesystem.finance.cli import register as register_finance
    from wholesystem.footprint.cli import register as register_footprint
    from wholesystem.governance.cli import register as register_governance
    from wholesystem.metrics.cli import register as register_metrics
    from wholesystem.population.cli import register as register_population
    from wholesystem.record.cli import register as register_record
    from wholesystem.record.linkage.cli import register as register_linkage
    from wholesystem.record.linked_cli import register as register_linked
    from wholesystem.synth.cli import register as register_synth

    register_synth(app)
    register_footprint(app)
    register_access(app)
    register_metrics(app)
    register_record(app)
    register_linkage(app)
    register_linked(app)
    register_finance(app)
    register_governance(app)
    register_population(app)


_register_capabilities()


def main() -> None:
    """Console-script entry point: a bad configuration, or a database not yet set up,
    is said plainly, exit status 2."""
    from wholesystem.store.db import DatabaseNotReady

    try:
        app()
    except (ConfigError, DatabaseNotReady) as exc:  # from any command's first step
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise SystemExit(2) from None
