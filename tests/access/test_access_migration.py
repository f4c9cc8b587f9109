"""Migration 0003_access: the schema matches the models, triggers exist, and it reverses."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from wholesystem.store.db import make_engine, migrations_config, upgrade
from wholesystem.store.models import all_metadata

ACCESS_TABLES = {"app_user", "auth_session", "login_attempt", "audit_event", "audit_head"}


def _triggers(con: object, dialect: str) -> set[str]:
    if dialect == "postgresql":
        sql = (
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {row[0] for row in con.execute(text(sql))}  # type: ignore[attr-defined]


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as con:
            diff = compare_metadata(MigrationContext.configure(con), all_metadata())
            tables = set(inspect(con).get_table_names())
            head = con.execute(text("SELECT id, last_seq, last_hash FROM audit_head")).all()
            triggers = _triggers(con, engine.dialect.name)
            uniques = inspect(con).get_unique_constraints("app_user")
    finally:
        engine.dispose()
    ours = [d for d in diff if any(t in repr(d) for t in ACCESS_TABLES)]
    assert ours == []
    assert tables >= ACCESS_TABLES
    assert head == [(1, 0, "0" * 64)]
    assert {u["name"] for u in uniques} == {"uq_app_user_username"}

    if engine.dialect.name == "postgresql":
        assert {
            "audit_event_no_update_delete",
            "audit_event_no_truncate",
            "audit_head_guard",
            "audit_head_no_truncate",
        } <= triggers
    else:
        assert {
            "audit_event_no_update",
            "audit_event_no_delete",
            "audit_head_no_delete",
            "audit_head_no_rewind",
        } <= triggers


def test_the_migration_reverses_and_reapplies(db_url: str) -> None:
    command.downgrade(migrations_config(db_url), "0002_footprint")
    engine = make_engine(db_url)
    try:
        with engine.connect() as con:
            tables = set(inspect(con).get_table_names())
            assert not tables & ACCESS_TABLES
            assert "organisation" in tables
            assert not _triggers(con, engine.dialect.name)
    finally:
        engine.dispose()
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as con:
            assert set(inspect(con).get_table_names()) >= ACCESS_TABLES
    finally:
        engine.dispose()


def test_the_database_keeps_usernames_lower_case(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    try:
        with engine.begin() as con:
            con.execute(
                text(
                    "INSERT INTO organisation (code, name, type, serves, active) "
                    "VALUES ('QXX', 'ICB', 'icb', '[]', true)"
                )
            )
        with engine.begin() as con, pytest.raises(IntegrityError):
            con.execute(
                text(
                    "INSERT INTO app_user (username, display_name, password_hash, role, "
                    "organisation_code, active, created_at) VALUES ('Alice', 'A', 'x', "
                    "'analyst', 'QXX', true, '2026-01-01 00:00:00')"
                )
            )
    finally:
        engine.dispose()
