"""Fixtures for record ingest: a migrated database, a lake and an ingest helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.record.ingest import IngestSummary, ingest_path
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake

CORPUS = Path(__file__).parent / "corpus"


def parquet(sql: str, path: Path | str) -> list[tuple[Any, ...]]:
    """Run ``sql``, whose ``read_parquet(?)`` reads ``path`` (a file or a glob)."""
    return duckdb.execute(sql, [str(path)]).fetchall()


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database (the route tests also run on PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


Ingest = Callable[..., IngestSummary]


@pytest.fixture
def ingest(factory: sessionmaker[Session], lake: Lake) -> Ingest:
    def _ingest(path: Path, **kwargs: object) -> IngestSummary:
        return ingest_path(factory, lake, path, actor="tester", **kwargs)  # type: ignore[arg-type]

    return _ingest
