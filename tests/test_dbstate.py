"""The suite's database snapshots (tests/dbstate.py) restore exactly what the build made,
on SQLite and PostgreSQL, and leave the audit log's guards on."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from tests import dbstate
from tests.conftest import empty_database, with_footprint
from tests.dbstate import migrated, prepared
from wholesystem.access.users import create_user
from wholesystem.store.db import (
    make_engine,
    make_session_factory,
    migrations_config,
    session_scope,
    upgrade,
)


def _contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as con:
        return {
            table: sorted(
                (tuple(row) for row in con.execute(text(f'SELECT * FROM "{table}"'))),  # noqa: S608
                key=repr,
            )
            for table in sorted(inspect(con).get_table_names())
        }


def _add_user(engine: Engine, username: str) -> int:
    """A new user's id (an audited write, so the audit chain grows too)."""
    with session_scope(make_session_factory(engine)) as s:
        user = create_user(
            s,
            username=username,
            display_name=username.title(),
            role="analyst",
            organisation_code="QXX",
            password="correct horse battery staple 42",
            actor="test",
        )
        return int(user.id)


def test_a_restored_state_equals_the_built_one_and_keeps_its_guards(
    database_url: str, footprint_file: Path, tmp_path: Path
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    built: list[str] = []

    def build(url: str) -> None:
        built.append(url)
        with_footprint(url, footprint_file)
        engine = make_engine(url)
        _add_user(engine, "ann")
        engine.dispose()

    key = ("dbstate test", uuid.uuid4().hex)  # a state no other test builds
    prepared(database_url, key, lambda: build(database_url))
    with empty_database(kind, tmp_path / "second.db") as second:
        # An engine open before the restore sees the restored rows.
        engine = make_engine(second)
        with engine.connect() as con:
            assert inspect(con).get_table_names() == []
        prepared(second, key, lambda: build(second))
        assert built == [database_url]  # built once, restored the second time
        first = make_engine(database_url)
        try:
            assert _contents(engine) == _contents(first)
            assert _contents(engine)["app_user"]
            # Sequences (PostgreSQL) and SQLite's row ids carry on where the build left them.
            assert _add_user(engine, "later") == _add_user(first, "later")
            # The audit log stays append-only after a restore.
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as con:
                con.execute(text("DELETE FROM audit_event"))
        finally:
            first.dispose()
            engine.dispose()


def _schema(engine: Engine) -> dict[str, object]:
    with engine.connect() as con:
        found = inspect(con)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
                sorted(str(i["column_names"]) for i in found.get_indexes(table)),
                sorted(str(fk["referred_table"]) for fk in found.get_foreign_keys(table)),
            )
            for table in sorted(found.get_table_names())
        }


def test_a_migrated_database_is_what_alembic_makes(database_url: str, tmp_path: Path) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    upgrade(database_url)
    with empty_database(kind, tmp_path / "a.db") as a, empty_database(kind, tmp_path / "b.db") as b:
        migrated(a)
        migrated(b)  # at least one of the two is restored from the snapshot
        engines = [make_engine(url) for url in (database_url, a, b)]
        try:
            made, *copies = (_schema(e) for e in engines)
            assert made
            assert copies == [made, made]
            heads = ScriptDirectory.from_config(migrations_config(a)).get_heads()
            for engine in engines[1:]:
                with engine.connect() as con:
                    versions = con.execute(text("SELECT version_num FROM alembic_version"))
                    assert sorted(versions.scalars()) == sorted(heads)
        finally:
            for engine in engines:
                engine.dispose()


@pytest.mark.postgres
def test_without_pg_dump_an_empty_schema_is_built_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dbstate.shutil, "which", lambda _name: None)
    built: list[str] = []

    def build(url: str) -> None:
        built.append(url)
        upgrade(url)

    key = ("dbstate test, no pg_dump", uuid.uuid4().hex)
    with (
        empty_database("postgres", tmp_path / "x") as a,
        empty_database("postgres", tmp_path / "y") as b,
    ):
        prepared(a, key, lambda: build(a))
        prepared(b, key, lambda: build(b))  # nothing to make the tables from: built
        prepared(a, key, lambda: build(a))  # tables there: the rows are restored
        assert built == [a, b]
