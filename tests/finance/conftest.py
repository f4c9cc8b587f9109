"""A migrated database over the small footprint, and an app with finance users signed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import with_footprint
from wholesystem.access import passwords
from wholesystem.config import Settings
from wholesystem.store.db import make_engine, make_session_factory, session_scope

PASSWORD = "correct horse battery staple 42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# username, role, organisation
USERS = (
    ("fin_ra1", "finance_lead", "RA1"),
    ("fin_qxx", "finance_lead", "QXX"),
    ("board", "board_member", "QXX"),
    ("board2", "board_member", "RA1"),
    ("gov", "governance_lead", "QXX"),
    ("carer", "care_team_member", "A00001"),
)


@pytest.fixture
def ledger_db(settings: Settings, footprint_file: Path) -> Iterator[sessionmaker[Session]]:
    """A session factory over a migrated database holding the small footprint."""
    with_footprint(settings.resolved_database_url, footprint_file)
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    try:
        yield factory
    finally:
        engine.dispose()


@pytest.fixture
def finance_client(
    settings: Settings, ledger_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from wholesystem.access.users import create_user
    from wholesystem.web.app import create_app

    # Cheap hashing: these tests check permissions, not hashing cost.
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)
    with session_scope(ledger_db) as s:
        for username, role, org in USERS:
            create_user(
                s,
                username=username,
                display_name=username,
                role=role,
                organisation_code=org,
                password=PASSWORD,
                actor="test",
            )
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def sign_in_as(finance_client: TestClient) -> Callable[[str], TestClient]:
    def _sign_in(username: str) -> TestClient:
        finance_client.cookies.clear()
        token = csrf_from(finance_client.get("/login").text)
        response = finance_client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return finance_client

    return _sign_in
