"""The ``wholesystem synth`` command."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from wholesystem.synth.config import SynthConfig, SynthError
from wholesystem.synth.pipeline import generate, manifest_summary

__all__ = ["register"]

_OPTION_OF_FIELD = {
    "people": "--people",
    "seed": "--seed",
    "end_date": "--end-date",
    "noise_scale": "--noise-scale",
}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code=2)


def _config(people: int, seed: int, end_date: str, noise_scale: float) -> SynthConfig:
    try:
        end = dt.date.fromisoformat(end_date)
    except ValueError:
        raise _fail(f"--end-date must be a date written YYYY-MM-DD (got {end_date!r})") from None
    try:
        return SynthConfig(people=people, seed=seed, end_date=end, noise_scale=noise_scale)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{_OPTION_OF_FIELD.get(field, field)} {msg}")
        raise _fail("; ".join(problems)) from None


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to ``app``."""

    @app.command("synth")
    def synth(
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help="Folder to write the synthetic ICS "
                "to (must be empty, absent or a previous output).",
            ),
        ],
        people: Annotated[
            int, typer.Option("--people", help="People ever resident in the five years.")
        ] = 20_000,
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed: same seed, same bytes.")
        ] = 42,
        noise_scale: Annotated[
            float,
            typer.Option(
                "--noise-scale", help="Multiplier on all identity-noise rates (0 = clean)."
            ),
        ] = 1.0,
        end_date: Annotated[
            str,
            typer.Option("--end-date", help="Last day of the five years of history (YYYY-MM-DD)."),
        ] = "2026-03-31",
        quiet: Annotated[
            bool, typer.Option("--quiet", help="No progress bars or summary.")
        ] = False,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers", help="Processes generating chunks (default: up to 2).", min=1
            ),
        ] = None,
    ) -> None:
        """Generate a synthetic integrated care system ("Northshire") with ground truth."""
        config = _config(people, seed, end_date, noise_scale)
        started = time.perf_counter()
        try:
            manifest = generate(config, out, progress=not quiet, workers=workers)
        except SynthError as exc:
            raise _fail(str(exc)) from None
        if quiet:
            return
        seconds = time.perf_counter() - started
        console = Console()
        table = Table(title=f"Northshire: {config.people:,} people, seed {config.seed}")
        table.add_column("file / dataset")
        table.add_column("rows", justify="right")
        for name, rows in manifest_summary(manifest).items():
            table.add_row(name, f"{rows:,}")
        console.print(table)
        console.print(
            f"Written to {out} in {seconds:.1f} s "
            f"({config.people / max(seconds, 1e-9):,.0f} people/s)."
        )
