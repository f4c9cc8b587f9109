"""A migrated database holding the small footprint, and a session over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import app_settings, client, sign_in
from wholesystem.footprint.pipeline import load_footprint_file
from wholesystem.store.db import make_engine, make_session_factory, upgrade

__all__ = ["app_settings", "client", "sign_in"]  # the web fixtures, for the route tests


@pytest.fixture
def factory(database_url: str, footprint_file: Path) -> Iterator[sessionmaker[Session]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    made = make_session_factory(engine)
    load_footprint_file(made, footprint_file)
    yield made
    engine.dispose()


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s
