"""An app over a loaded footprint, and clients signed in as each kind of user."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import with_footprint
from tests.dbstate import file_key, prepared
from wholesystem.config import Settings
from wholesystem.store.db import make_engine, make_session_factory, session_scope
from wholesystem.web.app import create_app

PASSWORD = "correct horse battery staple 42"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_settings(settings: Settings, footprint_file: Path) -> Settings:
    """Settings whose database is migrated and holds the small footprint."""
    url = settings.resolved_database_url
    prepared(
        url, ("web app", file_key(footprint_file.read_bytes())), lambda: _build(url, footprint_file)
    )
    return settings


def _build(url: str, footprint_file: Path) -> None:
    from wholesystem.access.users import create_user

    with_footprint(url, footprint_file)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        for username, role, org in (
            ("admin", "system_admin", "QXX"),
            ("carer", "care_team_member", "A00001"),
        ):
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
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), base_url="https://testserver") as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the form"
    return match.group(1)


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], TestClient]:
    def _sign_in(username: str) -> TestClient:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return _sign_in
