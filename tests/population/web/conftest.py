"""An app over the small footprint and a small population lake, with users of every kind."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import with_footprint
from tests.dbstate import file_key, prepared
from tests.population.web.lakefixture import GUS, nhs_for, write_fixture
from wholesystem.access import passwords
from wholesystem.access.models import AuditEvent
from wholesystem.access.opt_outs import record_opt_out
from wholesystem.config import Settings
from wholesystem.store.db import make_engine, make_session_factory, session_scope

PASSWORD = "correct horse battery staple 42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# username: (role, organisation)
USERS = {
    "carer": ("care_team_member", "A00001"),  # Hill Surgery, North PCN
    "pcn": ("care_coordinator", "U00001"),  # North PCN itself
    "hillcoord": ("care_coordinator", "A00001"),
    "quay": ("care_team_member", "A00003"),  # Quay Medical Centre, Harbour PCN
    "acute": ("care_team_member", "RA1"),
    "analyst": ("analyst", "QXX"),
    "admin": ("system_admin", "QXX"),
    "board": ("board_member", "QXX"),
    "cllr": ("councillor", "E06000901"),
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@pytest.fixture
def base_settings(settings: Settings, footprint_file: Path) -> Settings:
    """Migrated database with the footprint, the users and GUS's national data opt-out."""
    url = settings.resolved_database_url
    key = ("population web", file_key(footprint_file.read_bytes()))
    prepared(url, key, lambda: _with_users(url, footprint_file))
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
        record_opt_out(s, nhs_for(GUS), actor="test", source="test list")
    engine.dispose()


@pytest.fixture
def with_lake(base_settings: Settings) -> Settings:
    write_fixture(base_settings.resolved_lake_dir)
    return base_settings


def _app(settings: Settings) -> Iterator[FastAPI]:
    from wholesystem.web.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def app(with_lake: Settings) -> Iterator[FastAPI]:
    yield from _app(with_lake)


@pytest.fixture
def empty_app(base_settings: Settings) -> Iterator[FastAPI]:
    yield from _app(base_settings)


@pytest.fixture
def factory(app: FastAPI) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = app.state.session_factory
    return maker


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def empty_client(empty_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(empty_app, base_url="https://testserver") as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in_as(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


SignIn = Callable[[str], TestClient]


@pytest.fixture
def sign_in(client: TestClient) -> SignIn:
    return lambda username: sign_in_as(client, username)


Audit = Callable[..., list[AuditEvent]]


@pytest.fixture
def audit_rows(factory: sessionmaker[Session]) -> Audit:
    def rows(action: str | None = None) -> list[AuditEvent]:
        with factory() as s:
            query = select(AuditEvent).order_by(AuditEvent.seq)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            found = list(s.scalars(query))
            s.expunge_all()
            return found

    return rows
