"""Fixtures shared by the whole suite: databases (SQLite and PostgreSQL), settings, the app."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from wholesystem.config import Settings

TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"
PG_ENV = "WHOLESYSTEM_TEST_DATABASE_URL"


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("WHOLESYSTEM_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} is not set but PostgreSQL tests are required here")
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the test PostgreSQL."""
    with empty_database(request.param, tmp_path / "test.db") as url:
        yield url


@contextmanager
def empty_database(kind: str, sqlite_file: Path) -> Iterator[str]:
    """An empty ``kind`` database ("sqlite": at ``sqlite_file``; "postgres": a fresh
    schema in the test PostgreSQL, dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    base = _pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as con:
        con.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as con:
            con.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test-mode settings over a temporary data directory and the chosen database."""
    return Settings(
        mode="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET,
    )


SMALL_FOOTPRINT: dict[str, Any] = {
    "format": "wholesystem-footprint/1",
    "system": {"code": "QXX", "name": "Testshire Integrated Care System"},
    "organisations": [
        {"code": "QXX", "name": "NHS Testshire ICB", "type": "icb"},
        {"code": "RA1", "name": "Testshire Hospitals NHS Foundation Trust", "type": "acute_trust"},
        {
            "code": "RC1",
            "name": "Testshire Community Health",
            "type": "community_trust",
            "serves": ["PL1"],
        },
        {"code": "E06000901", "name": "Testshire Council", "type": "local_authority"},
        {"code": "E06000902", "name": "Seaton Council", "type": "local_authority"},
        {"code": "U00001", "name": "North PCN", "type": "pcn"},
        {"code": "U00002", "name": "Harbour PCN", "type": "pcn"},
        {"code": "A00001", "name": "Hill Surgery", "type": "gp_practice"},
        {"code": "A00002", "name": "Mill Practice", "type": "gp_practice"},
        {"code": "A00003", "name": "Quay Medical Centre", "type": "gp_practice"},
        {"code": "VS001", "name": "Testshire Age Concern", "type": "voluntary_sector"},
    ],
    "places": [
        {
            "code": "PL1",
            "name": "Testshire North",
            "local_authority": "E06000901",
            "neighbourhoods": [
                {
                    "code": "U00001",
                    "name": "North PCN",
                    "practices": [
                        {"code": "A00001", "population": 8000},
                        {"code": "A00002", "population": 7500},
                    ],
                },
            ],
        },
        {
            "code": "PL2",
            "name": "Seaton",
            "local_authority": "E06000902",
            "neighbourhoods": [
                {
                    "code": "U00002",
                    "name": "Harbour PCN",
                    "practices": [
                        {"code": "A00003", "population": 9100},
                    ],
                },
            ],
        },
    ],
}


def with_footprint(url: str, footprint_file: Path) -> None:
    """The database at ``url``, empty, migrated and holding the footprint in the file."""
    from tests.dbstate import file_key, migrated, prepared
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.store.db import make_engine, make_session_factory

    def build() -> None:
        migrated(url)
        engine = make_engine(url)
        try:
            load_footprint_file(make_session_factory(engine), footprint_file)
        finally:
            engine.dispose()

    prepared(url, ("footprint", file_key(footprint_file.read_bytes())), build)


@pytest.fixture
def footprint_data() -> dict[str, Any]:
    """A small, valid footprint (a deep copy each time, so tests may break it)."""
    return json.loads(json.dumps(SMALL_FOOTPRINT))


@pytest.fixture
def footprint_file(tmp_path: Path, footprint_data: dict[str, Any]) -> Path:
    path = tmp_path / "footprint.json"
    path.write_text(json.dumps(footprint_data))
    return path
