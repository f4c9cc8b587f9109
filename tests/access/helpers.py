"""Helpers shared by the access tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.models import AuditEvent, AuditHead, AuthSession, LoginAttempt, User
from wholesystem.footprint.models import Organisation

__all__ = [
    "PASSWORD",
    "TestClient",
    "csrf_from",
    "drop_audit_triggers",
    "page_csrf",
    "sign_in",
    "table_counts",
]

PASSWORD = "a-long-test-password-42"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(
    client: TestClient, username: str = "alice", password: str = PASSWORD, next_path: str = ""
) -> str:
    """Sign in through the form; returns the page's CSRF token after signing in."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": next_path,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return page_csrf(client)


def page_csrf(client: TestClient) -> str:
    """The CSRF token the service currently hands this client.

    Signed in, every page carries it in the header's sign-out form; signed out, the
    sign-in form does.
    """
    response = client.get("/login")
    return csrf_from(response.text)


def table_counts(factory: sessionmaker[Session]) -> dict[str, object]:
    """A fingerprint of everything the access capability stores."""
    with factory() as s:
        head = s.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one_or_none()
        return {
            "users": s.execute(
                select(User.username, User.active, User.password_hash).order_by(User.username)
            ).all(),
            "sessions": s.execute(
                select(AuthSession.id, AuthSession.revoked_at).order_by(AuthSession.id)
            ).all(),
            "attempts": s.execute(select(func.count()).select_from(LoginAttempt)).scalar_one(),
            "audit": s.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
            "head": tuple(head) if head else None,
            "orgs": s.execute(select(func.count()).select_from(Organisation)).scalar_one(),
        }


def drop_audit_triggers(engine: Engine) -> None:
    """What a DBA attacker does first: remove the append-only triggers."""
    with engine.begin() as con:
        if engine.dialect.name == "postgresql":
            con.execute(text("DROP TRIGGER audit_event_no_update_delete ON audit_event"))
            con.execute(text("DROP TRIGGER audit_head_guard ON audit_head"))
        else:
            for name in (
                "audit_event_no_update",
                "audit_event_no_delete",
                "audit_head_no_delete",
                "audit_head_no_rewind",
            ):
                con.execute(text(f"DROP TRIGGER {name}"))
