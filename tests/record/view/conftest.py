"""An app over the small footprint and a tiny linked lake, with users of every kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import with_footprint
from tests.dbstate import file_key, prepared
from tests.record.view.lakefixture import write_lake
from wholesystem.access import passwords
from wholesystem.access.models import AuditEvent
from wholesystem.config import Settings
from wholesystem.store.db import make_engine, make_session_factory, session_scope, utcnow
from wholesystem.store.lake import Lake

PASSWORD = "correct horse battery staple 42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# username: (role, organisation)
USERS = {
    "carer": ("care_team_member", "A00001"),  # Hill Surgery, North PCN
    "pcn": ("care_coordinator", "U00001"),  # North PCN itself
    "acute": ("care_team_member", "RA1"),  # the acute trust
    "community": ("care_team_member", "RC1"),
    "council": ("care_team_member", "E06000901"),  # social worker at the council
    "quay": ("care_team_member", "A00003"),  # Quay Medical Centre, Harbour PCN
    "analyst": ("analyst", "QXX"),
    "admin": ("system_admin", "QXX"),
    "governor": ("governance_lead", "QXX"),
    "cllr": ("councillor", "E06000901"),
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: these tests check the record, not hashing cost."""
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow())


@pytest.fixture
def view_settings(settings: Settings, footprint_file: Path) -> Settings:
    """Migrated database with the footprint and users; the tiny lake in the lake dir."""
    url = settings.resolved_database_url
    key = ("record view", file_key(footprint_file.read_bytes()))
    prepared(url, key, lambda: _with_users(url, footprint_file))
    write_lake(settings.resolved_lake_dir)
    return settings


def _with_users(url: str, footprint_file: Path) -> None:
    from wholesystem.access.users import create_user

    with_footprint(url, footprint_file)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as s:
        for username, (role, org) in USERS.items():
            create_user(
                s,
                username=username,
                display_name=username.title(),
                role=role,
                organisation_code=org,
                password=PASSWORD,
                actor="test",
            )
    engine.dispose()


@pytest.fixture
def lake(view_settings: Settings) -> Lake:
    return Lake(view_settings.resolved_lake_dir)


@pytest.fixture
def app(view_settings: Settings, clock: Clock) -> Iterator[FastAPI]:
    from wholesystem.web.app import create_app

    application = create_app(view_settings)
    application.state.clock = clock
    yield application
    application.state.engine.dispose()


@pytest.fixture
def factory(app: FastAPI) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = app.state.session_factory
    return maker


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


SignIn = Callable[[str], TestClient]


@pytest.fixture
def sign_in(client: TestClient) -> SignIn:
    def _sign_in(username: str) -> TestClient:
        client.cookies.clear()
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return _sign_in


Audit = Callable[..., list[AuditEvent]]


@pytest.fixture
def audit_rows(factory: sessionmaker[Session]) -> Audit:
    """Audit events, optionally only those with ``action``."""

    def rows(action: str | None = None) -> list[AuditEvent]:
        with factory() as s:
            query = select(AuditEvent).order_by(AuditEvent.seq)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            found = list(s.scalars(query))
            s.expunge_all()
            return found

    return rows
