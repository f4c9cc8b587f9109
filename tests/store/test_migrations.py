"""Migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from wholesystem.store.db import DatabaseNotReady, make_engine, open_database, upgrade
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


@pytest.mark.parametrize(
    ("revision", "reason"),
    [(None, "has no tables yet"), ("0012_finance_contracts", "is not up to date"), ("heads", None)],
)
def test_a_database_error_on_a_schema_behind_the_code_says_what_to_do(
    tmp_path: Path, revision: str | None, reason: str | None
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    if revision is not None:
        upgrade(url, revision)
    failing = pytest.raises(DatabaseNotReady) if reason else pytest.raises(OperationalError)
    with failing as caught, open_database(url) as factory, factory() as s:
        s.execute(text("SELECT * FROM no_such_table"))
    if reason is not None:
        assert isinstance(caught.value, DatabaseNotReady)
        assert caught.value.reason == reason
        assert "run `wholesystem db upgrade` first" in str(caught.value)
