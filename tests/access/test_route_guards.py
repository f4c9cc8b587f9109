"""Every route of the real app is either on the public allow-list or guarded by require()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends, FastAPI

from tests.access.conftest import MakeUser
from tests.access.helpers import TestClient, sign_in
from wholesystem.access.permissions import Permission, Role, has_permission
from wholesystem.access.web import (
    PUBLIC_PATHS,
    PUBLIC_PREFIXES,
    app_routes,
    is_public_path,
    permission_of,
    permissions_of,
    require,
    require_user,
)
from wholesystem.config import Settings

# The only routes anyone may reach without signing in. Adding one is a security decision:
# change this list in the same review as the route.
EXPECTED_PUBLIC_PATHS = {
    "/health",
    "/login",
    "/logout",  # ends whatever session the cookie names; CSRF-protected like every form
    "/api/v1/openapi.json",
    "/api/v1/docs",
}
EXPECTED_PUBLIC_PREFIXES = ("/static", "/public")  # /public: the published dashboard


@pytest.fixture
def real_app(tmp_path: Path) -> FastAPI:
    from wholesystem.web.app import create_app

    return create_app(
        Settings(
            mode="test",
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'guards.db'}",
            secret_key="route-guard-test-secret-0123456789abcdef",
        )
    )


def _sample_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X00001", path)


def test_the_public_allow_list_is_exactly_the_agreed_one() -> None:
    assert set(PUBLIC_PATHS) == EXPECTED_PUBLIC_PATHS
    assert tuple(PUBLIC_PREFIXES) == EXPECTED_PUBLIC_PREFIXES
    assert is_public_path("/static/nhsuk/nhsuk-frontend.min.css")
    assert not is_public_path("/staticky")
    assert is_public_path("/public/dashboard")
    assert not is_public_path("/publication")
    assert not is_public_path("/login/extra")


def test_every_route_outside_the_allow_list_is_guarded(real_app: FastAPI) -> None:
    routes = app_routes(real_app)
    unguarded = [
        (route.path, sorted(route.methods or ()))
        for route in routes
        if not is_public_path(route.path or "") and permission_of(route) is None
    ]
    assert unguarded == [], f"routes without require(...): {unguarded}"
    guarded = [r for r in routes if permission_of(r) is not None]
    # The walk really sees the app, including routers included with a prefix.
    paths = {r.path for r in guarded}
    assert {"/admin/users", "/admin/audit", "/admin/users.csv", "/admin/audit.csv"} <= paths
    assert any(p.startswith("/api/v1/") for p in paths)
    # And every public path the app serves is one we expect (nothing public by accident).
    served = {r.path for r in routes if r.path in PUBLIC_PATHS}
    assert served <= EXPECTED_PUBLIC_PATHS
    assert {"/health", "/login", "/logout", "/api/v1/docs", "/api/v1/openapi.json"} <= served


def test_the_admin_pages_demand_the_right_permission(real_app: FastAPI) -> None:
    found = {(r.path, frozenset(r.methods or ())): permissions_of(r) for r in app_routes(real_app)}
    assert found[("/admin/users", frozenset({"GET"}))] == {Permission.manage_users}
    assert found[("/admin/users.csv", frozenset({"GET"}))] == {Permission.manage_users}
    assert found[("/admin/audit", frozenset({"GET"}))] == {Permission.view_audit}
    assert found[("/admin/audit.csv", frozenset({"GET"}))] == {Permission.view_audit}
    for path, method in (
        ("/admin/break-glass", "GET"),
        ("/admin/break-glass.csv", "GET"),
        ("/admin/break-glass/{grant_id}", "GET"),
        ("/admin/break-glass/{grant_id}/review", "POST"),
    ):
        assert found[(path, frozenset({method}))] == {Permission.review_break_glass}, path
    for path, method in (
        ("/admin/opt-outs", "GET"),
        ("/admin/opt-outs.csv", "GET"),
        ("/admin/opt-outs", "POST"),
        ("/admin/opt-outs/withdraw", "POST"),
    ):
        assert found[(path, frozenset({method}))] == {Permission.manage_opt_outs}, path


def test_the_walk_catches_unguarded_routes_at_any_depth() -> None:
    app = FastAPI()
    open_router = APIRouter()

    @open_router.get("/open")
    def open_page() -> dict[str, str]:
        return {}

    @open_router.get("/signed-in-only")
    def signed_in(user: object = Depends(require_user)) -> dict[str, str]:
        return {}

    guarded_router = APIRouter(dependencies=[Depends(require(Permission.view_audit))])

    @guarded_router.get("/guarded")
    def guarded_page() -> dict[str, str]:
        return {}

    def nested_guard(user: object = Depends(require(Permission.manage_users))) -> None:
        return None

    @open_router.get("/nested")
    def nested(_: None = Depends(nested_guard)) -> dict[str, str]:
        return {}

    outer = APIRouter()
    outer.include_router(guarded_router, prefix="/inner")
    app.include_router(open_router)
    app.include_router(outer, prefix="/outer")
    by_path = {r.path: permission_of(r) for r in app_routes(app)}
    assert by_path["/open"] is None
    assert by_path["/signed-in-only"] is None  # signed in is not enough: name a permission
    assert by_path["/outer/inner/guarded"] is Permission.view_audit
    assert by_path["/nested"] is Permission.manage_users
    assert require(Permission.view_audit) is require(Permission.view_audit)


def test_anonymous_requests_to_guarded_routes_never_get_content(
    app: FastAPI, app_client: TestClient
) -> None:
    checked = 0
    for route in app_routes(app):
        if permission_of(route) is None or "GET" not in (route.methods or ()):
            continue
        path = _sample_path(route.path)
        response = app_client.get(path, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, path
            assert response.json() == {"detail": "Sign in to use this service"}
        elif path.startswith("/fhir/"):
            assert response.status_code == 401, path
            assert response.json()["resourceType"] == "OperationOutcome", path
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next="), path
        checked += 1
    assert checked >= 10


def test_roles_without_the_permission_are_refused_everywhere(
    app: FastAPI, app_client: TestClient, make_user: MakeUser
) -> None:
    """Signed in as each role in turn, every guarded GET the role may not use answers 403."""
    for role in Role:
        make_user(role.value.replace("_", "-"), role=role)
    for role in Role:
        app_client.cookies.clear()
        sign_in(app_client, role.value.replace("_", "-"))
        for route in app_routes(app):
            needed = permissions_of(route)
            if not needed or "GET" not in (route.methods or ()):
                continue
            if all(has_permission(role, p) for p in needed):
                continue
            response = app_client.get(_sample_path(route.path), follow_redirects=False)
            assert response.status_code == 403, (role, route.path)
