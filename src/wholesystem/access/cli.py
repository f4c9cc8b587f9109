"""`wholesystem users …`, `audit …` and `opt-out …`: accounts, the audit log and opt-outs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access import audit
from wholesystem.access.errors import AccessError
from wholesystem.access.opt_outs import (
    OptOutError,
    current_opt_outs,
    load_opt_outs,
    record_opt_out,
    withdraw_opt_out,
)
from wholesystem.access.presenters import format_time, role_label
from wholesystem.access.users import create_user, deactivate_user, list_users, set_password
from wholesystem.config import ConfigError, get_settings
from wholesystem.store.db import DatabaseNotReady, open_database, session_scope

__all__ = ["CLI_ACTOR", "audit_app", "opt_out_app", "register", "users_app"]

# Changes made from the shell are attributed to "system": only operators have the shell.
CLI_ACTOR = audit.SYSTEM_ACTOR

users_app = typer.Typer(help="Manage who can sign in.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit log.", no_args_is_help=True)
opt_out_app = typer.Typer(
    help="The national data opt-out: NHS numbers left out of analysis and model training.",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _database() -> Iterator[sessionmaker[Session]]:
    """Yield a session factory for the configured database; errors become messages."""
    try:
        url = get_settings().resolved_database_url
    except ConfigError as exc:
        _fail(str(exc), 2)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with open_database(url) as factory:
            yield factory
    except DatabaseNotReady as exc:
        _fail(
            f"cannot use the database at {shown}: it {exc.reason}. Run `wholesystem db upgrade`.", 2
        )
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(
            f"cannot use the database at {shown}: {reason}. "
            "Has it been set up? Run `wholesystem db upgrade`.",
            2,
        )


def _read_password(from_stdin: bool, *, confirm: bool = True) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value


PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of prompting.",
    ),
]


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Sign-in name (stored lower-case).")],
    role: Annotated[str, typer.Option("--role", help="One of the roles, e.g. analyst.")],
    org: Annotated[str, typer.Option("--org", help="Organisation code, e.g. RX1.")],
    name: Annotated[str, typer.Option("--name", help="The person's name as shown.")],
    email: Annotated[str | None, typer.Option("--email", help="Contact email.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user who can sign in straight away."""
    password = _read_password(password_stdin)
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                user = create_user(
                    session,
                    username=username,
                    display_name=name,
                    role=role,
                    organisation_code=org,
                    password=password,
                    email=email,
                    actor=CLI_ACTOR,
                )
                summary = (
                    f"Created user '{user.username}' ({role_label(user.role)}, "
                    f"{user.organisation_code})"
                )
        except AccessError as exc:
            _fail(str(exc))
    typer.echo(summary)


@users_app.command("list")
def users_list() -> None:
    """List every user with role, organisation, status and last sign-in."""
    with _database() as factory, factory() as session:
        users = list_users(session)
        table = Table(title=f"{len(users)} users")
        table.add_column("Username", no_wrap=True)
        table.add_column("Name")
        table.add_column("Role")
        table.add_column("Organisation", no_wrap=True)
        table.add_column("Status")
        table.add_column("Last signed in")
        for user in users:
            table.add_row(
                user.username,
                user.display_name,
                role_label(user.role),
                user.organisation_code,
                "active" if user.active else "deactivated",
                format_time(user.last_login_at),
            )
    Console(width=160).print(table)


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Stop a user signing in and end their sessions (their history is kept)."""
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                user = deactivate_user(session, username=username, actor=CLI_ACTOR)
                done = f"Deactivated user '{user.username}'"
        except AccessError as exc:
            _fail(str(exc))
    typer.echo(done)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument()], password_stdin: PasswordStdin = False
) -> None:
    """Give a user a new password; all their sessions end."""
    password = _read_password(password_stdin)
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                user = set_password(session, username=username, password=password, actor=CLI_ACTOR)
                done = f"Password changed for '{user.username}'; their sessions have ended"
        except AccessError as exc:
            _fail(str(exc))
    typer.echo(done)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain and head of the audit log; exit 1 naming the first bad row."""
    with _database() as factory, factory() as session:
        result = audit.verify(session)
    if not result.ok:
        _fail(result.summary)
    typer.echo(result.summary)


Source = Annotated[
    str | None,
    typer.Option("--source", help="Where the opt-out came from (default: cli, or the file name)."),
]


@opt_out_app.command("add")
def opt_out_add(
    nhs_number: Annotated[str, typer.Argument(help="Ten digits; spaces allowed if quoted.")],
    source: Source = None,
) -> None:
    """Record an opt-out for one NHS number."""
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                row = record_opt_out(session, nhs_number, actor=CLI_ACTOR, source=source or "cli")
                digits = row.nhs_number
        except OptOutError as exc:
            _fail(str(exc))
    typer.echo(f"Recorded the opt-out of NHS number {digits}.")


@opt_out_app.command("remove")
def opt_out_remove(
    nhs_number: Annotated[str, typer.Argument(help="Ten digits; spaces allowed if quoted.")],
) -> None:
    """Withdraw the current opt-out of one NHS number (the history is kept)."""
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                digits = withdraw_opt_out(session, nhs_number, actor=CLI_ACTOR).nhs_number
        except OptOutError as exc:
            _fail(str(exc))
    typer.echo(f"Withdrew the opt-out of NHS number {digits}.")


@opt_out_app.command("list")
def opt_out_list(
    include_withdrawn: Annotated[
        bool, typer.Option("--all", help="Include withdrawn opt-outs.")
    ] = False,
) -> None:
    """List current opt-outs, newest first (a listing of NHS numbers, so it is audited)."""
    with _database() as factory, session_scope(factory) as session:
        rows = current_opt_outs(session, include_withdrawn=include_withdrawn)
        audit.append(
            session,
            actor=CLI_ACTOR,
            action="export",
            object_type="opt_out_list",
            object_id="cli list",
            detail={"rows": len(rows), "include_withdrawn": include_withdrawn},
        )
        table = Table("NHS number", "Recorded", "By", "Source", "Withdrawn")
        for row in rows:
            table.add_row(
                row.nhs_number,
                format_time(row.recorded_at),
                row.recorded_by,
                row.source,
                format_time(row.withdrawn_at, never=""),
            )
    Console(width=160).print(table)
    typer.echo(f"{len(rows):,} opt-out{'s' if len(rows) != 1 else ''}.")


@opt_out_app.command("load")
def opt_out_load(
    path: Annotated[Path, typer.Argument(help="CSV file with an nhs_number column.")],
    source: Source = None,
) -> None:
    """Record every NHS number in a CSV file, or none if any row is bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")
    with _database() as factory:
        try:
            with session_scope(factory) as session:
                result = load_opt_outs(session, text, actor=CLI_ACTOR, source=source or path.name)
        except OptOutError as exc:
            _fail(str(exc))
    typer.echo(
        f"Loaded {path.name}: {result.added:,} added, {result.already:,} already opted out, "
        f"{result.repeated:,} repeated in the file."
    )


def register(app: typer.Typer) -> None:
    """Add the ``users``, ``audit`` and ``opt-out`` command groups to the main CLI."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(opt_out_app, name="opt-out")
