"""Fixtures for the access tests: migrated databases, organisations, users, the app and a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.access.helpers import PASSWORD, TestClient
from tests.dbstate import migrated
from wholesystem.access import passwords
from wholesystem.access.models import User
from wholesystem.access.permissions import Role
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.footprint.models import Organisation
from wholesystem.store.db import make_engine, make_session_factory, session_scope, utcnow

ORGANISATIONS = (
    ("QXX", "NHS Testshire ICB", "icb", True),
    ("RA1", "Testshire Hospitals NHS Foundation Trust", "acute_trust", True),
    ("E06000901", "Testshire Council", "local_authority", True),
    ("U00001", "North PCN", "pcn", True),
    ("A00001", "Hill Surgery", "gp_practice", True),
    ("OLD01", "Closed Practice", "gp_practice", False),
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the tests check behaviour, not hashing cost."""
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@pytest.fixture
def db_url(database_url: str) -> str:
    """A database (SQLite or PostgreSQL) migrated to head: 0001, 0002 and 0003_access."""
    migrated(database_url)
    return database_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def orgs(factory: sessionmaker[Session]) -> dict[str, str]:
    """Partner organisations (one inactive) as {code: type}."""
    with session_scope(factory) as s:
        for code, name, org_type, active in ORGANISATIONS:
            s.add(Organisation(code=code, name=name, type=org_type, serves=[], active=active))
    return {code: org_type for code, _n, org_type, _a in ORGANISATIONS}


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(factory: sessionmaker[Session], orgs: dict[str, str]) -> MakeUser:
    """Create a user (committed) with sensible defaults."""

    def make(
        username: str = "alice",
        role: Role = Role.system_admin,
        organisation_code: str = "QXX",
        password: str = PASSWORD,
        display_name: str | None = None,
    ) -> User:
        with session_scope(factory) as s:
            return create_user(
                s,
                username=username,
                display_name=display_name or username.title(),
                role=role,
                organisation_code=organisation_code,
                password=password,
                actor="system",
            )

    return make


@dataclass
class Clock:
    """A clock the tests move by hand (installed as ``app.state.clock``)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow())


@pytest.fixture
def access_settings(tmp_path: Path, db_url: str, settings: Settings) -> Settings:
    """Test settings over the migrated database (Secure cookies, as in production)."""
    return settings.model_copy(update={"database_url": db_url, "cookie_secure": True})


@pytest.fixture
def app(access_settings: Settings, clock: Clock, orgs: dict[str, str]) -> Iterator[FastAPI]:
    from wholesystem.web.app import create_app

    application = create_app(access_settings)
    application.state.clock = clock
    yield application
    application.state.engine.dispose()


@pytest.fixture
def app_client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client over https, so Secure cookies flow."""
    with TestClient(app, base_url="https://testserver") as client:
        yield client


# ------------------------------------------------------------- information governance


@pytest.fixture
def footprint_factory(
    factory: sessionmaker[Session], footprint_file: Path
) -> sessionmaker[Session]:
    """The migrated database holding the small Testshire footprint (no ``orgs`` rows).

    North PCN (U00001) has practices A00001 and A00002; Harbour PCN (U00002) has A00003;
    RA1 is an acute trust, RC1 a community trust, QXX the ICB.
    """
    from wholesystem.footprint.pipeline import load_footprint_file

    load_footprint_file(factory, footprint_file)
    return factory


class UserMaker:
    """Creates committed users over the footprint and hands them back detached."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __call__(self, username: str, role: Role, organisation_code: str) -> User:
        with session_scope(self.factory) as s:
            user = create_user(
                s,
                username=username,
                display_name=username.title(),
                role=role,
                organisation_code=organisation_code,
                password=PASSWORD,
                actor="test",
            )
            s.flush()
            s.expunge(user)
            return user


@pytest.fixture
def user_maker(footprint_factory: sessionmaker[Session]) -> UserMaker:
    return UserMaker(footprint_factory)
