"""Metrics commands: `spc`, `returns load`, `publish` and `snapshots list|show|compare`.

`wholesystem spc INPUT.csv`: Making Data Count SPC for analysts and for checking the
reference. The points go to ``--out`` (written whole or not at all) or to standard output as
CSV; the variation and assurance icons go to standard error. Bad input exits with status 2,
says which file and line, and writes nothing.
"""

from __future__ import annotations

import contextlib
import getpass
import math
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from wholesystem.config import Settings
from wholesystem.metrics.spc import Improvement, SpcError, analyse
from wholesystem.metrics.spc_io import (
    InputError,
    icon_lines,
    parse_rebase_dates,
    points_csv,
    read_series,
)

__all__ = ["register", "register_publishing", "write_atomically"]

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
    """Add the `spc`, `returns`, `publish` and `snapshots` commands to a Typer app."""
    register_publishing(app)

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


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "system"
    return f"cli:{name}"[:64]


def _settings() -> Settings:
    from wholesystem.config import ConfigError, get_settings

    try:
        return get_settings()
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _returns_load(folder: Path) -> None:
    from wholesystem.metrics.pipeline import PublishError, load_returns_step
    from wholesystem.metrics.returns import ReturnsError
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake

    settings = _settings()
    try:
        with open_database(settings.resolved_database_url) as factory:
            outcomes = load_returns_step(
                factory, Lake(settings.resolved_lake_dir), folder, actor=_actor()
            )
    except (ReturnsError, PublishError) as exc:
        raise _fail(str(exc)) from None
    rejected = 0
    for o in outcomes:
        if o.status == "loaded":
            typer.echo(
                f"{o.return_name}: {o.rows_loaded:,} rows loaded, "
                f"{o.rows_quarantined:,} quarantined ({o.path})"
            )
        else:
            rejected += 1
            typer.echo(
                f"{o.return_name}: rejected, nothing written: {o.reason} ({o.path})", err=True
            )
    if any(o.rows_quarantined for o in outcomes):
        typer.echo("Quarantined rows are in the lake table return_quarantine (file, line, reason).")
    if rejected:
        raise typer.Exit(1)


def _publish(cut_off: str | None, note: str) -> None:
    from wholesystem.metrics.pipeline import PublishError, publish
    from wholesystem.metrics.snapshots import list_snapshots
    from wholesystem.store.db import open_database, session_scope
    from wholesystem.store.lake import Lake

    settings = _settings()
    day = _parse_date(cut_off, "--cut-off")
    try:
        with open_database(settings.resolved_database_url) as factory:
            info = publish(
                factory,
                Lake(settings.resolved_lake_dir),
                actor=_actor(),
                data_cut_off=day,
                note=note,
            )
            with session_scope(factory) as session:
                earlier = [s for s in list_snapshots(session) if s.id != info.id]
    except PublishError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"Published snapshot {info.id}: {info.metric_count} metrics, {info.value_count:,} "
        f"values, data cut-off {info.data_cut_off.isoformat()}, "
        f"content hash {info.content_hash}."
    )
    if earlier and earlier[0].content_hash == info.content_hash:
        typer.echo(f"The values are identical to snapshot {earlier[0].id} (same content hash).")
    # Governance (issue 7): a metric meeting its failure definition raises a concern.
    from wholesystem.governance.concerns.services import raise_metric_concerns_now

    with open_database(settings.resolved_database_url) as factory:
        typer.echo(raise_metric_concerns_now(factory, actor=_actor()))


def _snapshot_lines(info: object) -> list[str]:
    from wholesystem.metrics.snapshots import SnapshotInfo

    assert isinstance(info, SnapshotInfo)
    return [
        f"snapshot        {info.id}",
        f"published at    {info.published_at.isoformat(timespec='seconds')}",
        f"published by    {info.published_by}",
        f"data cut-off    {info.data_cut_off.isoformat()}",
        f"metrics         {info.metric_count}",
        f"values          {info.value_count:,}",
        f"content hash    {info.content_hash}",
        f"audit head      {info.audit_head_seq} {info.audit_head_hash}",
        f"note            {info.note}",
    ]


def register_publishing(app: typer.Typer) -> None:
    """Add `returns load`, `publish` and `snapshots list|show|compare` to a Typer app."""
    returns_app = typer.Typer(help="Monthly aggregate returns.", no_args_is_help=True)
    snapshots_app = typer.Typer(help="Published metric snapshots.", no_args_is_help=True)
    app.add_typer(returns_app, name="returns")
    app.add_typer(snapshots_app, name="snapshots")

    @returns_app.command("load")
    def returns_load(
        folder: Annotated[
            Path,
            typer.Argument(
                metavar="DIR",
                help="Folder with finance.csv, workforce.csv and/or beds.csv "
                "(or a synth output with a returns/ folder).",
                show_default=False,
            ),
        ],
    ) -> None:
        """Load the monthly returns into the lake; bad rows go to quarantine with the reason.

        A file missing a required column is rejected and writes nothing (exit status 1).
        """
        _returns_load(folder)

    @app.command("publish")
    def publish_command(
        cut_off: Annotated[
            str | None,
            typer.Option(
                "--cut-off",
                metavar="DATE",
                help="Data cut-off (YYYY-MM-DD); default: the end of the month of the "
                "latest activity in the lake.",
                show_default=False,
            ),
        ] = None,
        note: Annotated[
            str, typer.Option("--note", metavar="TEXT", help="A note kept with the snapshot.")
        ] = "",
    ) -> None:
        """Compute every metric and publish an immutable, versioned snapshot."""
        _publish(cut_off, note)

    @snapshots_app.command("list")
    def snapshots_list() -> None:
        """Every published snapshot, newest first."""
        from wholesystem.metrics.snapshots import list_snapshots
        from wholesystem.store.db import open_database, session_scope

        settings = _settings()
        with (
            open_database(settings.resolved_database_url) as factory,
            session_scope(factory) as session,
        ):
            rows = list_snapshots(session)
        if not rows:
            typer.echo("No snapshot has been published yet: run `wholesystem publish`.")
            return
        typer.echo("id\tpublished_at\tpublished_by\tdata_cut_off\tvalues\tcontent_hash\tnote")
        for s in rows:
            typer.echo(
                f"{s.id}\t{s.published_at.isoformat(timespec='seconds')}\t{s.published_by}\t"
                f"{s.data_cut_off.isoformat()}\t{s.value_count}\t{s.content_hash}\t{s.note}"
            )

    @snapshots_app.command("show")
    def snapshots_show(
        snapshot_id: Annotated[int, typer.Argument(metavar="ID", show_default=False)],
    ) -> None:
        """One snapshot, with its content hash checked against its stored values."""
        from wholesystem.metrics.pipeline import stored_content_hash
        from wholesystem.metrics.snapshots import get_snapshot
        from wholesystem.store.db import open_database, session_scope

        settings = _settings()
        with (
            open_database(settings.resolved_database_url) as factory,
            session_scope(factory) as session,
        ):
            info = get_snapshot(session, snapshot_id)
            recomputed = stored_content_hash(session, snapshot_id) if info else ""
        if info is None:
            raise _fail(f"no published snapshot {snapshot_id}")
        for line in _snapshot_lines(info):
            typer.echo(line)
        if recomputed == info.content_hash:
            typer.echo("hash check      the stored values match the content hash")
        else:
            typer.echo(
                f"hash check      MISMATCH: the stored values hash to {recomputed}", err=True
            )
            raise typer.Exit(1)

    @snapshots_app.command("compare")
    def snapshots_compare(
        a: Annotated[int, typer.Argument(metavar="A", show_default=False)],
        b: Annotated[int, typer.Argument(metavar="B", show_default=False)],
        limit: Annotated[
            int | None, typer.Option("--limit", min=1, help="Show at most this many changes.")
        ] = None,
    ) -> None:
        """Values that differ between snapshots A and B (CSV), or exist in one only."""
        from wholesystem.metrics.snapshots import compare, get_snapshot
        from wholesystem.store.db import open_database, session_scope

        settings = _settings()
        with (
            open_database(settings.resolved_database_url) as factory,
            session_scope(factory) as session,
        ):
            missing = [i for i in (a, b) if get_snapshot(session, i) is None]
            changes = [] if missing else compare(session, a, b, limit=limit)
        if missing:
            raise _fail(f"no published snapshot {missing[0]}")
        typer.echo("metric_id,area_code,period,before,after")
        for c in changes:
            before = "" if c.before is None else format(c.before, "f")
            after = "" if c.after is None else format(c.after, "f")
            typer.echo(f"{c.metric_id},{c.area_code},{c.period.isoformat()},{before},{after}")
        typer.echo(f"{len(changes)} value(s) differ between snapshots {a} and {b}.", err=True)
