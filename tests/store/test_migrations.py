"""Migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from wholesystem.store.db import make_engine, upgrade
from wholesystem.store.models import all_metadata


def test_migrations_match_models(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # idempotent
    engine = make_engine(database_url)
    try:
        with engine.connect() as con:
            diff = compare_metadata(MigrationContext.configure(con), all_metadata())
            tables = set(inspect(con).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert {"pipeline_run", "organisation", "area", "app_user", "audit_event"} <= tables
