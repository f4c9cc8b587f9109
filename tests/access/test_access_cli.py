"""`users` and `audit` commands: specific messages, exit codes, no tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.access.conftest import MakeUser
from tests.access.helpers import PASSWORD, drop_audit_triggers
from wholesystem.access.cli import register
from wholesystem.access.models import AuditEvent, User
from wholesystem.access.passwords import verify_password
from wholesystem.config import reset_settings

NEW_PASSWORD = "brand-new-password-77"


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", db_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WHOLESYSTEM_SECRET_KEY", "cli-test-secret-0123456789abcdef0123")
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(tmp_path / "absent.toml"))
    reset_settings()
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wholesystem (test)"""

    register(app)
    yield app
    reset_settings()


def _run(app: typer.Typer, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.stdout, result.stderr


def _create(
    app: typer.Typer,
    username: str = "bob",
    *extra: str,
    role: str = "analyst",
    org: str = "QXX",
    password: str = PASSWORD,
) -> tuple[int, str, str]:
    return _run(
        app,
        "users",
        "create",
        username,
        "--role",
        role,
        "--org",
        org,
        "--name",
        "Bob Smith",
        "--password-stdin",
        *extra,
        stdin=password + "\n",
    )


def test_create_and_list_users(
    cli: typer.Typer, orgs: dict[str, str], factory: sessionmaker[Session]
) -> None:
    code, out, err = _create(cli, "Bob", "--email", "bob@example.nhs.uk")
    assert (code, err) == (0, "")
    assert "Created user 'bob' (Population-health analyst, QXX)" in out
    with factory() as s:
        user = s.execute(select(User)).scalar_one()
        assert (user.username, user.email) == ("bob", "bob@example.nhs.uk")
        assert verify_password(user.password_hash, PASSWORD)[0]
        event = s.execute(select(AuditEvent)).scalar_one()
        assert (event.actor, event.action, event.object_id) == ("system", "user_created", "bob")
    code, out, _ = _run(cli, "users", "list")
    assert code == 0
    for text_ in ("bob", "Bob Smith", "Population-health analyst", "QXX", "active", "Never"):
        assert text_ in out


def test_create_prompts_for_a_hidden_confirmed_password(
    cli: typer.Typer, orgs: dict[str, str], factory: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "users",
            "create",
            "carol",
            "--role",
            "councillor",
            "--org",
            "E06000901",
            "--name",
            "Cllr Carol",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert "Created user 'carol' (Councillor, E06000901)" in result.stdout


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "wizard"}, "Error: unknown role 'wizard'; choose one of system_admin, "),
        ({"org": "ZZZ"}, "Error: unknown organisation code 'ZZZ'"),
        ({"password": "short"}, "Error: Password must be at least 12 characters long"),
        ({"password": "password1234"}, "Error: Password is too common"),
    ],
)
def test_create_errors_are_specific(
    cli: typer.Typer,
    orgs: dict[str, str],
    factory: sessionmaker[Session],
    kwargs: dict[str, str],
    message: str,
) -> None:
    code, out, err = _create(cli, **kwargs)
    assert code == 1
    assert err.startswith(message)
    assert "Traceback" not in out + err
    with factory() as s:
        assert s.execute(select(User)).first() is None
        assert s.execute(select(AuditEvent)).first() is None


def test_a_duplicate_username_is_refused(cli: typer.Typer, orgs: dict[str, str]) -> None:
    assert _create(cli)[0] == 0
    code, _out, err = _create(cli, "BOB")
    assert (code, err.strip()) == (1, "Error: username 'bob' is already taken")


def test_an_empty_password_on_stdin_is_refused(cli: typer.Typer, orgs: dict[str, str]) -> None:
    code, _out, err = _create(cli, password="")
    assert (code, err.strip()) == (1, "Error: no password on standard input")


def test_deactivate_and_set_password(
    cli: typer.Typer, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    code, out, _ = _run(
        cli, "users", "set-password", "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert code == 0
    assert "Password changed for 'alice'" in out
    code, out, _ = _run(cli, "users", "deactivate", "Alice")
    assert (code, out.strip()) == (0, "Deactivated user 'alice'")
    with factory() as s:
        user = s.execute(select(User)).scalar_one()
    assert user.active is False
    assert verify_password(user.password_hash, NEW_PASSWORD)[0]
    assert "deactivated" in _run(cli, "users", "list")[1]
    for args in (
        ("users", "deactivate", "nobody"),
        ("users", "set-password", "nobody", "--password-stdin"),
    ):
        code, _out, err = _run(cli, *args, stdin=NEW_PASSWORD + "\n")
        assert (code, err.strip()) == (1, "Error: no user called 'nobody'")


def test_audit_verify_passes_on_a_clean_log(cli: typer.Typer, make_user: MakeUser) -> None:
    make_user("alice")
    make_user("bob")
    code, out, err = _run(cli, "audit", "verify")
    assert (code, out.strip(), err) == (0, "Audit log intact: 2 rows verified", "")


def test_audit_verify_names_the_tampered_row(
    cli: typer.Typer, make_user: MakeUser, engine: Engine
) -> None:
    for name in ("a1", "a2", "a3", "a4"):
        make_user(name)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("UPDATE audit_event SET object_id = 'zz' WHERE seq = 3"))
    code, out, err = _run(cli, "audit", "verify")
    assert code == 1
    assert out == ""
    assert err.strip() == "Error: Audit log check failed: row 3 was edited (hash mismatch)"
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq = 4"))
    code, _out, err = _run(cli, "audit", "verify")
    assert code == 1
    assert "row 3 was edited" in err


def test_audit_verify_after_deleting_the_tail(
    cli: typer.Typer, make_user: MakeUser, engine: Engine
) -> None:
    for name in ("a1", "a2", "a3"):
        make_user(name)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq = 3"))
    code, _out, err = _run(cli, "audit", "verify")
    assert code == 1
    assert "the log ends at row 2 but the head says 3 (rows deleted from the end)" in err


def test_an_unmigrated_database_gets_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(tmp_path / "absent.toml"))
    reset_settings()
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wholesystem (test)"""

    register(app)
    try:
        for args in (("audit", "verify"), ("users", "list")):
            code, out, err = _run(app, *args)
            assert code == 2
            assert "Error: cannot use the database at sqlite:///" in err
            assert "Run `wholesystem db upgrade`." in err
            assert "Traceback" not in out + err
    finally:
        reset_settings()


def test_bad_configuration_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "production")
    monkeypatch.delenv("WHOLESYSTEM_SECRET_KEY", raising=False)
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(tmp_path / "absent.toml"))
    reset_settings()
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wholesystem (test)"""

    register(app)
    try:
        code, _out, err = _run(app, "audit", "verify")
        assert code == 2
        assert "WHOLESYSTEM_SECRET_KEY is not set" in err
    finally:
        reset_settings()


def test_the_main_cli_has_the_commands() -> None:
    pytest.importorskip("wholesystem.synth.cli", reason="the synth capability is not in yet")
    from wholesystem.cli import app

    result = CliRunner().invoke(app, ["users", "--help"])
    assert result.exit_code == 0
    for command in ("create", "list", "deactivate", "set-password"):
        assert command in result.stdout
    assert "verify" in CliRunner().invoke(app, ["audit", "--help"]).stdout
