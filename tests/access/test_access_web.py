"""Sign-in, sessions, CSRF, security headers and the admin pages, through the real app."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from urllib.parse import quote

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.access.conftest import Clock, MakeUser
from tests.access.helpers import (
    PASSWORD,
    TestClient,
    csrf_from,
    drop_audit_triggers,
    page_csrf,
    sign_in,
    table_counts,
)
from wholesystem.access import audit
from wholesystem.access.models import AuditEvent, AuthSession, User
from wholesystem.access.permissions import Permission, Role
from wholesystem.access.users import deactivate_user
from wholesystem.access.web import (
    CSRF_FAILURE_MESSAGE,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    CurrentUser,
    app_routes,
    require,
)
from wholesystem.store.db import session_scope

EXPIRED = "Your session has expired. Sign in again."


def _post_login(
    client: TestClient, username: str, password: str, next_path: str = ""
) -> tuple[int, str, str | None]:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )
    return response.status_code, response.text, response.headers.get("location")


def _audit_actions(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as s:
        rows = s.execute(select(AuditEvent.actor, AuditEvent.action).order_by(AuditEvent.seq))
        return [(actor, action) for actor, action in rows]


def _cookie_header(response_headers: list[tuple[str, str]], name: str) -> str:
    for key, value in response_headers:
        if key.lower() == "set-cookie" and value.startswith(f"{name}="):
            return value
    raise AssertionError(f"no Set-Cookie for {name}")


# ----------------------------------------------------------------------------- sign in


def test_login_page_is_an_nhs_form_with_a_csrf_cookie(app_client: TestClient) -> None:
    response = app_client.get("/login")
    assert response.status_code == 200
    assert '<h1 class="nhsuk-heading-xl">Sign in</h1>' in response.text
    assert 'name="username"' in response.text
    assert 'type="password"' in response.text
    assert 'autocomplete="current-password"' in response.text
    cookie = _cookie_header(response.headers.multi_items(), "ws_csrf")
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute in cookie
    assert csrf_from(response.text)


def test_signing_in_starts_a_server_side_session(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice", display_name="Alice Admin")
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login",
        data={"username": "Alice", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = _cookie_header(response.headers.multi_items(), SESSION_COOKIE)
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute in cookie
    raw = app_client.cookies[SESSION_COOKIE]
    with factory() as s:
        row = s.execute(select(AuthSession)).scalar_one()
    # Only the SHA-256 of the token is stored.
    assert row.id == hashlib.sha256(raw.encode()).hexdigest()
    assert row.id != raw
    assert row.user_agent == "testclient"
    page = app_client.get("/admin/users")
    assert page.status_code == 200
    assert "Alice Admin (System administrator)" in page.text
    assert ("alice", "login") in _audit_actions(factory)


@pytest.mark.parametrize(
    ("username", "password", "messages"),
    [
        ("", "", ["Enter your username", "Enter your password"]),
        ("alice", "", ["Enter your password"]),
        ("  ", PASSWORD, ["Enter your username"]),
    ],
)
def test_missing_fields_get_specific_messages(
    app_client: TestClient, make_user: MakeUser, username: str, password: str, messages: list[str]
) -> None:
    make_user("alice")
    status, html, _ = _post_login(app_client, username, password)
    assert status == 400
    assert "There is a problem" in html
    for message in messages:
        assert f'href="#{"username" if "username" in message else "password"}"' in html
        assert message in html
    assert "The username or password is not correct" not in html


def test_wrong_password_and_unknown_user_look_identical(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    wrong = _post_login(app_client, "alice", "not-the-password-1")
    unknown = _post_login(app_client, "nobody", PASSWORD)

    def strip(html: str) -> str:
        html = re.sub(r'value="[^"]*"', "", html)
        return re.sub(r"nonce-?=?\"?[A-Za-z0-9_-]+", "", html)

    assert wrong[0] == unknown[0] == 400
    assert "The username or password is not correct" in wrong[1]
    assert strip(wrong[1]) == strip(unknown[1])
    assert app_client.cookies.get(SESSION_COOKIE) is None
    assert _audit_actions(factory)[-2:] == [("alice", "login_failed"), ("nobody", "login_failed")]


def test_the_typed_username_is_kept_but_never_the_password(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    _status, html, _ = _post_login(app_client, "alice", "secret-typo-password")
    assert 'value="alice"' in html
    assert "secret-typo-password" not in html


def test_repeated_failures_lock_out_with_a_time(
    app_client: TestClient, make_user: MakeUser, clock: Clock
) -> None:
    make_user("alice")
    for _ in range(5):
        assert _post_login(app_client, "alice", "wrong-password-99")[0] == 400
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in 15 minutes." in response.text
    assert response.headers["retry-after"] == "900"
    assert app_client.cookies.get(SESSION_COOKIE) is None
    clock.advance(minutes=10)
    assert "Try again in 5 minutes." in _post_login(app_client, "alice", PASSWORD)[1]
    clock.advance(minutes=5, seconds=1)
    assert _post_login(app_client, "alice", PASSWORD)[0] == 303


def test_a_signed_in_visit_to_login_goes_on(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("alice")
    sign_in(app_client)
    response = app_client.get("/login?next=/admin/audit", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/audit")


# ---------------------------------------------------------------------- open redirect


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:evil.example", "/"),
        ("/\r\nLocation: https://evil.example", "/"),
        # Still a path on this site: the encoded CR LF stays encoded in the Location header.
        ("/%0d%0aLocation:%20https://evil.example", "/%0d%0aLocation:%20https://evil.example"),
    ],
)
def test_next_never_leaves_the_site(
    app_client: TestClient, make_user: MakeUser, target: str, expected: str
) -> None:
    make_user("alice")
    page = app_client.get("/login", params={"next": target})
    assert f'name="next" value="{expected}"' in page.text
    status, _html, location = _post_login(app_client, "alice", PASSWORD, next_path=target)
    assert (status, location) == (303, expected)


def test_next_keeps_a_same_site_path(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("alice")
    page = app_client.get("/admin/users?x=1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=" + quote("/admin/users?x=1", safe="")
    login = app_client.get(page.headers["location"])
    assert 'name="next" value="/admin/users?x=1"' in login.text
    status, _html, location = _post_login(app_client, "alice", PASSWORD, "/admin/users?x=1")
    assert (status, location) == (303, "/admin/users?x=1")


# ----------------------------------------------------------------------------- sessions


def test_idle_sessions_expire_and_say_so(
    app_client: TestClient, make_user: MakeUser, clock: Clock
) -> None:
    make_user("alice")
    sign_in(app_client)
    for _ in range(3):  # activity keeps the session alive past 30 minutes in total
        clock.advance(minutes=29)
        assert app_client.get("/admin/users").status_code == 200
    clock.advance(minutes=30)
    response = app_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    login = app_client.get(response.headers["location"])
    assert EXPIRED in login.text
    assert "Sign in" in login.text


def test_sessions_end_at_the_absolute_limit_however_active(
    app_client: TestClient, make_user: MakeUser, clock: Clock
) -> None:
    make_user("alice")
    sign_in(app_client)
    for _ in range(12 * 3 - 1):  # every 20 minutes for just under 12 hours
        clock.advance(minutes=20)
        assert app_client.get("/admin/users").status_code == 200
    clock.advance(minutes=20)  # 12 hours exactly
    response = app_client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert EXPIRED in app_client.get("/login").text


def test_session_id_rotates_at_sign_in(
    app: FastAPI, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    """Session fixation: a token planted before sign-in is useless afterwards."""
    make_user("alice")
    make_user("mallory", role=Role.analyst)
    with TestClient(app, base_url="https://testserver") as attacker:
        sign_in(attacker, "mallory")
        planted = attacker.cookies[SESSION_COOKIE]
    with TestClient(app, base_url="https://testserver") as victim:
        victim.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
        sign_in(victim, "alice")
        fresh = victim.cookies[SESSION_COOKIE]
        assert fresh != planted
        assert victim.get("/admin/users").status_code == 200
    with factory() as s:
        old = s.get(AuthSession, hashlib.sha256(planted.encode()).hexdigest())
        assert old is not None
        assert old.revoked_at is not None
    with TestClient(app, base_url="https://testserver") as attacker:
        attacker.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
        assert attacker.get("/admin/audit", follow_redirects=False).status_code == 303


def test_made_up_session_tokens_are_anonymous(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        for value in ("x", "a" * 43, "a" * 5000, "'; DROP TABLE app_user; --"):
            client.cookies.set(SESSION_COOKIE, value, domain="testserver.local")
            response = client.get("/admin/users", follow_redirects=False)
            assert response.status_code == 303
            assert EXPIRED not in client.get("/login").text


def test_logout_revokes_the_session(
    app: FastAPI, app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    token = sign_in(app_client)
    stolen = app_client.cookies[SESSION_COOKIE]
    response = app_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?signed_out=1")
    cleared = _cookie_header(response.headers.multi_items(), SESSION_COOKIE)
    assert "Max-Age=0" in cleared or "expires=" in cleared.lower()
    assert "You have signed out." in app_client.get("/login?signed_out=1").text
    with factory() as s:
        assert s.execute(select(AuthSession.revoked_at)).scalar_one() is not None
    assert _audit_actions(factory)[-1] == ("alice", "logout")
    # A copy of the old cookie no longer works.
    with TestClient(app, base_url="https://testserver") as thief:
        thief.cookies.set(SESSION_COOKIE, stolen, domain="testserver.local")
        assert thief.get("/admin/users", follow_redirects=False).status_code == 303


def test_deactivating_a_user_ends_their_session_at_once(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    sign_in(app_client)
    with session_scope(factory) as s:
        deactivate_user(s, username="alice", actor="system")
    assert app_client.get("/admin/users", follow_redirects=False).status_code == 303


# ------------------------------------------------------------------------------- CSRF


def _unsafe_page_routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for route in app_routes(app):
        path = route.path or ""
        if not path.startswith("/api/"):
            for method in sorted((route.methods or set()) & UNSAFE_METHODS):
                out.append((method, re.sub(r"\{[^}]+\}", "X", path)))
    return out


def _forgeries(client: TestClient, valid: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("missing", {}),
        ("empty", {"csrf_token": ""}),
        ("forged", {"csrf_token": "0" * 64}),
        ("truncated", {"csrf_token": valid[:-1]}),
    ]


def _assert_refused(response_status: int, html: str) -> None:
    assert response_status == 403
    assert CSRF_FAILURE_MESSAGE in html


def test_every_form_refuses_missing_or_forged_tokens_and_changes_nothing(
    app: FastAPI, app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    routes = _unsafe_page_routes(app)
    assert ("POST", "/login") in routes
    assert ("POST", "/logout") in routes
    make_user("alice")
    anonymous_token = csrf_from(app_client.get("/login").text)
    before = table_counts(factory)
    for method, path in routes:
        for label, data in _forgeries(app_client, anonymous_token):
            form = {"username": "alice", "password": PASSWORD, **data}
            response = app_client.request(method, path, data=form, follow_redirects=False)
            assert response.status_code == 403, (method, path, label)
            _assert_refused(response.status_code, response.text)
    assert table_counts(factory) == before

    signed_in_token = sign_in(app_client)
    before = table_counts(factory)
    for method, path in routes:
        for label, data in [
            *_forgeries(app_client, signed_in_token),
            ("anonymous token", {"csrf_token": anonymous_token}),
        ]:
            response = app_client.request(method, path, data=data, follow_redirects=False)
            assert response.status_code == 403, (method, path, label)
            _assert_refused(response.status_code, response.text)
    assert table_counts(factory) == before
    # Still signed in: the refused sign-out did nothing.
    assert app_client.get("/admin/users").status_code == 200


def test_a_token_from_another_session_is_refused(
    app: FastAPI, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    make_user("bob", role=Role.analyst)
    with (
        TestClient(app, base_url="https://testserver") as alice,
        TestClient(app, base_url="https://testserver") as bob,
    ):
        sign_in(alice, "alice")
        bobs_token = sign_in(bob, "bob")
        before = table_counts(factory)
        response = alice.post("/logout", data={"csrf_token": bobs_token}, follow_redirects=False)
        _assert_refused(response.status_code, response.text)
        assert table_counts(factory) == before


def test_a_cross_site_origin_is_refused_even_with_a_token(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    _assert_refused(response.status_code, response.text)
    same = app_client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_an_origin_matching_the_proxys_forwarded_host_is_accepted(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    token = csrf_from(app_client.get("/login").text)
    response = app_client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://ics.example.nhs.uk", "X-Forwarded-Host": "ics.example.nhs.uk"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_header_token_works_and_non_form_bodies_need_it(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    token = sign_in(app_client)
    refused = app_client.post("/logout", json={"csrf_token": token}, follow_redirects=False)
    _assert_refused(refused.status_code, refused.text)
    accepted = app_client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert accepted.status_code == 303


def test_routes_still_read_the_form_after_the_check(
    app: FastAPI, app_client: TestClient, make_user: MakeUser
) -> None:
    """The middleware spools and replays the body: urlencoded and multipart alike."""

    async def echo(
        request: Request, user: CurrentUser = Depends(require(Permission.view_audit))
    ) -> JSONResponse:
        async with request.form() as form:
            upload = form.get("file")
            content = await upload.read() if hasattr(upload, "read") else None
            note = form.get("note")
        return JSONResponse({"note": note, "size": len(content) if content is not None else None})

    app.add_api_route("/test-echo", echo, methods=["POST"])
    make_user("alice")
    token = sign_in(app_client)
    short = app_client.post("/test-echo", data={"csrf_token": token, "note": "hello é"})
    assert short.json() == {"note": "hello é", "size": None}
    big = b"x" * (3 * 1024 * 1024 + 7)  # beyond the in-memory spool
    multi = app_client.post(
        "/test-echo",
        data={"csrf_token": token, "note": "upload"},
        files={"file": ("extract.csv", big, "text/csv")},
    )
    assert multi.json() == {"note": "upload", "size": len(big)}
    forged = app_client.post(
        "/test-echo",
        data={"csrf_token": "nope", "note": "upload"},
        files={"file": ("extract.csv", b"a,b\n", "text/csv")},
    )
    _assert_refused(forged.status_code, forged.text)


def test_api_writes_with_the_session_cookie_need_the_header(
    app: FastAPI, app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    def write(
        request: Request, user: CurrentUser = Depends(require(Permission.view_audit))
    ) -> dict[str, str]:
        with session_scope(request.app.state.session_factory) as s:
            audit.append(s, actor=user.username, action="api_write", object_type="t", object_id="1")
        return {"ok": "yes"}

    app.add_api_route("/api/v1/test-write", write, methods=["POST"])
    anonymous = app_client.post("/api/v1/test-write", json={})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Sign in to use this service"}
    make_user("alice")
    token = sign_in(app_client)
    before = table_counts(factory)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = app_client.post("/api/v1/test-write", json={}, headers=headers)
        assert refused.status_code == 403
        assert refused.json() == {"detail": CSRF_FAILURE_MESSAGE}
    # A form field does not count for the API: only the header does.
    refused = app_client.post("/api/v1/test-write", data={"csrf_token": token})
    assert refused.status_code == 403
    assert table_counts(factory) == before
    ok = app_client.post("/api/v1/test-write", json={}, headers={"X-CSRF-Token": token})
    assert ok.json() == {"ok": "yes"}
    assert _audit_actions(factory)[-1] == ("alice", "api_write")


# ---------------------------------------------------------------------- security headers

CSP_PARTS = (
    "default-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
)


def _assert_security_headers(headers: dict[str, str], *, page: bool = True) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert "camera=()" in headers["permissions-policy"]
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["cross-origin-opener-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    for part in CSP_PARTS:
        assert part in csp
    assert "unsafe-inline" not in csp
    assert "cdn.jsdelivr.net" not in csp
    if page:
        assert headers["cache-control"] == "no-store"


def test_pages_carry_the_security_headers_and_the_nonce(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    login = app_client.get("/login")
    _assert_security_headers(dict(login.headers))
    nonce = re.search(
        r"script-src 'self' 'nonce-([^']+)'", login.headers["content-security-policy"]
    )
    assert nonce
    assert f'nonce="{nonce.group(1)}"' in login.text
    assert (
        app_client.get("/login").headers["content-security-policy"]
        != login.headers["content-security-policy"]
    )  # a fresh nonce per response
    sign_in(app_client)
    for path in ("/admin/users", "/admin/audit", "/admin/users.csv", "/no-such-page"):
        _assert_security_headers(dict(app_client.get(path).headers))
    api = app_client.get("/api/v1/openapi.json")
    _assert_security_headers(dict(api.headers))


def test_static_files_are_cacheable_but_still_protected(app_client: TestClient) -> None:
    response = app_client.get("/static/wholesystem.css")
    assert response.status_code == 200
    _assert_security_headers(dict(response.headers), page=False)
    assert response.headers.get("cache-control") != "no-store"


def test_server_errors_carry_the_headers_too(app: FastAPI, make_user: MakeUser) -> None:
    def boom(user: CurrentUser = Depends(require(Permission.view_audit))) -> HTMLResponse:
        raise RuntimeError("boom")

    app.add_api_route("/test-boom", boom, methods=["GET"])
    make_user("alice")
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        sign_in(client)
        response = client.get("/test-boom")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    _assert_security_headers(dict(response.headers))


def test_the_api_docs_page_works_under_its_own_policy(app_client: TestClient) -> None:
    response = app_client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "http" not in csp  # nothing is fetched from outside: Swagger UI is served locally
    assert "/static/swagger/swagger-ui-bundle.js" in response.text
    assert "frame-ancestors 'none'" in csp
    # The page's inline script is allowed by its exact hash, not by 'unsafe-inline'.
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline
    import base64

    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "script-src 'self' 'sha256-" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert int(response.headers["content-length"]) == len(response.content)


# -------------------------------------------------------------------------- admin pages


def test_admin_pages_need_sign_in_and_the_right_role(
    app_client: TestClient, make_user: MakeUser
) -> None:
    for path in ("/admin/users", "/admin/users.csv", "/admin/audit", "/admin/audit.csv"):
        response = app_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=" + quote(path, safe="")
    make_user("gail", role=Role.governance_lead)
    sign_in(app_client, "gail")
    assert app_client.get("/admin/audit").status_code == 200
    denied = app_client.get("/admin/users")
    assert denied.status_code == 403
    assert "Your role (Governance lead) does not include &#39;manage users&#39;" in denied.text


def test_an_analyst_sees_neither_admin_page(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("ana", role=Role.analyst)
    sign_in(app_client, "ana")
    for path in ("/admin/users", "/admin/users.csv", "/admin/audit", "/admin/audit.csv"):
        assert app_client.get(path).status_code == 403


def test_users_page_and_csv(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice", display_name="Alice Admin")
    make_user(
        "gp1",
        role=Role.care_team_member,
        organisation_code="A00001",
        display_name='=HYPERLINK("http://evil")',
    )
    with session_scope(factory) as s:
        deactivate_user(s, username="gp1", actor="alice")
    sign_in(app_client)
    page = app_client.get("/admin/users")
    assert page.status_code == 200
    for text_ in (
        "Alice Admin",
        "System administrator",
        "NHS Testshire ICB (QXX)",
        "Care-team member",
        "Hill Surgery (A00001)",
        "Deactivated",
        "Never",
        "Download this table as CSV",
        'data-testid="data-as-at"',
    ):
        assert text_ in page.text, text_
    response = app_client.get("/admin/users.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="users.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["username"] for r in rows] == ["alice", "gp1"]
    assert rows[1]["active"] == "no"
    assert rows[1]["display_name"].startswith("'=")  # defused for spreadsheets
    assert rows[0]["last_login_at"]
    assert _audit_actions(factory)[-1] == ("alice", "export")


def test_audit_page_verifies_pages_and_audits_itself(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session], engine: Engine
) -> None:
    make_user("alice")
    with session_scope(factory) as s:
        for i in range(60):
            audit.append(s, actor="system", action="load", object_type="batch", object_id=str(i))
    sign_in(app_client)
    page = app_client.get("/admin/audit")
    assert page.status_code == 200
    # user_created, 60 loads, login, and this view: 63 events.
    assert "Audit log intact: 63 rows verified" in page.text
    assert "Showing events 1 to 50 of 63, newest first." in page.text
    assert 'data-testid="data-as-at"' in page.text
    first_rows = re.findall(r"Row </span>(\d+)", page.text)
    assert first_rows[:2] == ["63", "62"]
    assert "Older events" in page.text
    second = app_client.get("/admin/audit?page=2")
    assert "Showing events 51 to 64 of 64, newest first." in second.text
    assert "Newer events" in second.text
    filtered = app_client.get("/admin/audit", params={"actor": "alice"})
    assert re.findall(r"Who </span>(\w+)", filtered.text) == ["alice"] * 4
    with factory() as s:
        views = s.execute(
            select(AuditEvent.object_id, AuditEvent.detail).where(AuditEvent.action == "view")
        ).all()
    assert [v[0] for v in views] == ["page 1", "page 2", "page 1"]
    assert views[-1][1] == {"filters": {"actor": "alice"}}

    exported = app_client.get("/admin/audit.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1]["action"] == "export"
    assert all(len(r["hash"]) == 64 and len(r["prev_hash"]) == 64 for r in rows)

    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 17"))
    tampered = app_client.get("/admin/audit")
    assert "The audit log has been tampered with" in tampered.text
    assert "row 17 was edited (hash mismatch)" in tampered.text


def test_the_page_shell_offers_sign_out_with_a_token(
    app_client: TestClient, make_user: MakeUser, factory: sessionmaker[Session]
) -> None:
    make_user("alice")
    sign_in(app_client)
    page = app_client.get("/admin/users")
    token = page_csrf(app_client)
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in page.text
    assert app_client.post("/logout", data={"csrf_token": token}).status_code == 200
    with factory() as s:
        assert s.execute(select(User.username)).scalar_one() == "alice"
