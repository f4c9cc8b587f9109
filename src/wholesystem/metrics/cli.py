"""`wholesystem spc INPUT.csv`: Making Data Count SPC for analysts and for checking the reference.

The points go to ``--out`` (written whole or not at all) or to standard output as CSV; the
variation and assurance icons go to standard error. Bad input exits with status 2, says which
file and line, and writes nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from wholesystem.metrics.spc import Improvement, SpcError, analyse
from wholesystem.metrics.spc_io import (
    InputError,
    icon_lines,
    parse_rebase_dates,
    points_csv,
    read_series,
)

__all__ = ["register", "write_atomically"]

EXIT_BAD_INPUT = 2


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    """Add the `spc` command to a Typer app."""

    @app.command("spc")
    def spc(
        input_csv: Annotated[
            Path,
            typer.Argument(
                metavar="INPUT.csv",
                help="CSV with a header and `date,value` columns (ISO dates, sorted, unique).",
                show_default=False,
            ),
        ],
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                metavar="OUT.csv",
                help="Write the points here (default: standard output).",
                show_default=False,
            ),
        ] = None,
        improvement: Annotated[
            Improvement,
            typer.Option(
                "--improvement",
                case_sensitive=False,
                help="Which direction is an improvement.",
            ),
        ] = Improvement.neither,
        target: Annotated[
            float | None,
            typer.Option(
                "--target", metavar="X", help="Target, for the assurance icon.", show_default=False
            ),
        ] = None,
        rebase_at: Annotated[
            list[str] | None,
            typer.Option(
                "--rebase-at",
                metavar="DATE,...",
                help="Start new limits at these dates of the series (comma-separated).",
                show_default=False,
            ),
        ] = None,
        screen_outliers: Annotated[
            bool,
            typer.Option(
                "--screen-outliers",
                help="Drop moving ranges >= 3.267 x their mean before computing the limits.",
            ),
        ] = False,
    ) -> None:
        """Making Data Count SPC (XmR) of a `date,value` series: limits, special causes, icons.

        Writes `date,value,mean,lpl,upl,point_type` per point; the icons go to standard error.
        """
        name = str(input_csv)
        if target is not None and not math.isfinite(target):
            raise _fail(f"--target: {target} is not a finite number")
        try:
            series = read_series(input_csv)
            rebase = parse_rebase_dates(rebase_at or [], series, name)
            result = analyse(
                series.dates,
                series.values,
                improvement=improvement,
                target=target,
                rebase_at=rebase,
                screen_outliers=screen_outliers,
            )
        except InputError as exc:
            raise _fail(str(exc)) from None
        except SpcError as exc:
            raise _fail(f"{name}: {exc}") from None
        text = points_csv(result)
        if out is None:
            typer.echo(text, nl=False)
        else:
            try:
                write_atomically(out, text)
            except OSError as exc:
                raise _fail(f"{out}: cannot write: {exc}") from None
        for line in icon_lines(result):
            typer.echo(line, err=True)
