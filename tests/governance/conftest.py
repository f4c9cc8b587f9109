"""A migrated database holding the small footprint, and a session over it; the demo
governance over either, loaded once a process and restored after (see tests.dbstate)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import with_footprint
from tests.dbstate import file_key, prepared
from tests.web.conftest import PASSWORD, app_settings, client, sign_in
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.governance.demo import load_demo_governance
from wholesystem.store.db import make_engine, make_session_factory, session_scope

__all__ = ["app_settings", "client", "sign_in"]  # the web fixtures, for the route tests


@pytest.fixture
def factory(database_url: str, footprint_file: Path) -> Iterator[sessionmaker[Session]]:
    with_footprint(database_url, footprint_file)
    engine = make_engine(database_url)
    made = make_session_factory(engine)
    yield made
    engine.dispose()


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s


def demo_over_footprint(session: Session, footprint_file: Path, now: datetime) -> Session:
    """``session`` (over the footprint, untouched) with the demo governance at ``now``."""

    def build() -> None:
        load_demo_governance(session, now=now)
        session.commit()

    key = ("footprint", file_key(footprint_file.read_bytes()), "governance demo", now)
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    prepared(url, key, build)
    return session


def over_app(settings: Settings, footprint_file: Path, add: Callable[[Session], object]) -> None:
    """What ``add`` puts in the web tests' database (see ``app_settings``), in one session."""

    def build() -> None:
        engine = make_engine(settings.resolved_database_url)
        with session_scope(make_session_factory(engine)) as s:
            add(s)
        engine.dispose()

    key = ("web app", file_key(footprint_file.read_bytes()), add.__module__, add.__qualname__)
    prepared(settings.resolved_database_url, key, build)


def gail_and_the_demo(s: Session) -> None:
    """Gail, a governance lead, and the demo governance as of today."""
    create_user(
        s,
        username="gail",
        display_name="Gail",
        role="governance_lead",
        organisation_code="QXX",
        password=PASSWORD,
        actor="test",
    )
    load_demo_governance(s)
