"""The access layer of the web app: sessions, CSRF, security headers and route guards.

:func:`install` adds one pure-ASGI middleware that, for every HTTP request,

* makes a CSP nonce (``request.state.csp_nonce``) and sets the security headers on the
  response, whatever produced it (pages, errors, static files, the API);
* resolves the ``ws_session`` cookie into ``request.state.user`` (a :class:`CurrentUser`)
  or None, enforcing idle and absolute expiry (``request.state.session_expired``);
* puts a CSRF token in ``request.state.csrf_token`` (bound to the session, or to the
  signed ``ws_csrf`` double-submit cookie before sign-in) and refuses any unsafe request
  (POST, PUT, PATCH, DELETE) that does not carry it, before the route runs. The request
  body is spooled and replayed, so routes read their forms as usual.

Routes are guarded with ``Depends(require(Permission.x))``; :func:`permission_of` lets a
test walk every route and prove that each one outside :data:`PUBLIC_PATHS` is guarded.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import IO, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, Response
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wholesystem.access.models import AuthSession, User
from wholesystem.access.permissions import Permission, Role, has_permission
from wholesystem.access.sessions import (
    SessionPolicy,
    SessionState,
    anonymous_csrf_token,
    load_session,
    session_csrf_token,
    tokens_match,
)
from wholesystem.config import Settings
from wholesystem.store.db import utcnow

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FAILURE_MESSAGE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "SESSION_COOKIE",
    "UNSAFE_METHODS",
    "CurrentUser",
    "Requirement",
    "app_routes",
    "clear_session_cookie",
    "client_ip",
    "current_time",
    "install",
    "is_public_path",
    "permission_of",
    "permissions_of",
    "require",
    "require_user",
    "safe_next",
    "session_policy",
    "set_session_cookie",
]

log = logging.getLogger("wholesystem.access")

SESSION_COOKIE = "ws_session"
CSRF_COOKIE = "ws_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FAILURE_MESSAGE = (
    "This form has expired or was not sent from this service. "
    "Go back, reload the page and try again."
)

# Routes anyone may reach without signing in. Everything else must be guarded by require().
PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/login",
        "/logout",
        "/api/v1/openapi.json",
        "/api/v1/docs",
    }
)
# /public: the published dashboard (disclosure-controlled aggregates only, no sign-in).
PUBLIC_PREFIXES = ("/static", "/public")

# The Swagger UI page (served from our own static files, installed from npm) starts with an
# inline script and sets inline styles; its policy allows that script by hash, not wholesale.
DOCS_PATHS = frozenset({"/api/v1/docs"})

# Bodies of unsafe requests are spooled to memory, then disk, to read the CSRF field.
SPOOL_IN_MEMORY = 1024 * 1024
MAX_FORM_BYTES = 1024 * 1024 * 1024

_ROLE_VALUES = frozenset(role.value for role in Role)
_CSRF_COOKIE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person, as routes and templates see them."""

    id: int
    username: str
    display_name: str
    role: Role
    organisation_code: str
    session_id: str

    def can(self, permission: Permission) -> bool:
        return has_permission(self.role, permission)


# ---------------------------------------------------------------- helpers for routes


def current_time(app: Any) -> datetime:
    """Now, from ``app.state.clock`` when a test has set one, else the real clock."""
    clock: Callable[[], datetime] | None = getattr(app.state, "clock", None)
    return clock() if clock is not None else utcnow()


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle_minutes=settings.session_minutes, max_hours=settings.session_max_hours
    )


def client_ip(request: Request) -> str:
    """The peer address (uvicorn rewrites it from trusted proxies' X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def _cookie_params(settings: Settings) -> dict[str, Any]:
    return {"path": "/", "httponly": True, "samesite": "lax", "secure": settings.cookie_secure}


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Send the session cookie (a browser-session cookie; the server enforces expiry)."""
    response.set_cookie(SESSION_COOKIE, token, **_cookie_params(settings))


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, **_cookie_params(settings))


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects).

    Accepted: an absolute path starting with a single "/". Refused: "//host", "/\\host",
    schemes, anything with a backslash or control character, and over-long values.
    """
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def is_public_path(path: str) -> bool:
    """Whether ``path`` is on the public allow-list (no sign-in needed)."""
    return path in PUBLIC_PATHS or any(
        path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC_PREFIXES
    )


# ---------------------------------------------------------------------- route guards


def require_user(request: Request) -> CurrentUser:
    """Dependency: the signed-in user, or 401 (pages then redirect to the sign-in page)."""
    user: CurrentUser | None = getattr(request.state, "user", None)
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in to use this service")
    return user


def _permission_label(permission: Permission) -> str:
    return permission.value.replace("_", " ")


class Requirement:
    """A route guard: a FastAPI dependency that demands one permission."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> CurrentUser:
        user = require_user(request)
        if not has_permission(user.role, self.permission):
            raise HTTPException(
                status_code=403,
                detail=(
                    f"Your role ({user.role.label}) does not include "
                    f"'{_permission_label(self.permission)}'. "
                    "Ask your system administrator if you need it."
                ),
            )
        return user

    def __repr__(self) -> str:
        return f"require(Permission.{self.permission.value})"


@cache
def require(permission: Permission) -> Requirement:
    """Dependency factory: ``Depends(require(Permission.manage_users))``.

    No user gives 401, a user whose role lacks ``permission`` gives 403.
    """
    return Requirement(permission)


def _walk(dependant: Dependant) -> Iterable[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def app_routes(app: FastAPI) -> list[RouteContext]:
    """Every route ``app`` serves, with its full path and effective dependencies.

    FastAPI keeps included routers as branches of ``app.routes``; this flattens them, so
    the prefix and the router-level ``dependencies=[...]`` of each include are applied.
    """
    return list(iter_route_contexts(app.routes))


def permissions_of(route: BaseRoute | RouteContext) -> frozenset[Permission]:
    """Every permission that ``route`` demands through :func:`require`, at any depth.

    Pass a route from :func:`app_routes` so that router-level guards are seen.
    """
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return frozenset()
    return frozenset(
        dep.call.permission for dep in _walk(dependant) if isinstance(dep.call, Requirement)
    )


def permission_of(route: BaseRoute | RouteContext) -> Permission | None:
    """A permission that guards ``route`` (the first by name), or None if it is unguarded."""
    found = sorted(permissions_of(route))
    return found[0] if found else None


# ------------------------------------------------------------------- security headers


def _csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        "font-src 'self'; "
        "connect-src 'self'; "
        "frame-ancestors 'none'; "
        "form-action 'self'; "
        "base-uri 'self'; "
        "object-src 'none'"
    )


def _docs_csp(inline_script_hashes: Iterable[str]) -> str:
    hashes = " ".join(f"'sha256-{h}'" for h in inline_script_hashes)
    return (
        "default-src 'self'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "frame-ancestors 'none'; "
        "form-action 'self'; "
        "base-uri 'self'; "
        "object-src 'none'"
    ).replace("  ", " ")


def _script_hashes(body: bytes) -> list[str]:
    return [
        base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode("ascii")
        for match in _INLINE_SCRIPT.finditer(body)
    ]


_STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _apply_headers(headers: MutableHeaders, *, path: str, csp: str) -> None:
    for name, value in _STATIC_HEADERS.items():
        headers[name] = value
    headers["Content-Security-Policy"] = csp
    if not is_static(path) and "cache-control" not in headers:
        # Pages, exports and API answers may carry personal data: never keep a copy.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"


def is_static(path: str) -> bool:
    return path == "/static" or path.startswith("/static/")


# ------------------------------------------------------------------------ middleware


@dataclass(frozen=True)
class _Auth:
    user: CurrentUser | None
    expired: bool
    session_csrf: str | None


class _CsrfRefused(Exception):
    def __init__(self, status: int = 403, message: str = CSRF_FAILURE_MESSAGE) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AccessMiddleware:
    """Pure ASGI middleware; see the module docstring. One instance per app."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    # -- sessions -------------------------------------------------------------------

    def _resolve_session(self, token: str, settings: Settings, now: datetime) -> _Auth:
        factory = self.fastapi_app.state.session_factory
        with factory() as db:
            loaded = load_session(db, token, policy=session_policy(settings), now=now)
            db.commit()
        if loaded.state is SessionState.expired:
            return _Auth(None, True, None)
        if loaded.state is not SessionState.valid:
            return _Auth(None, False, None)
        row: AuthSession | None = loaded.session
        user: User | None = loaded.user
        if row is None or user is None or user.role not in _ROLE_VALUES:
            return _Auth(None, False, None)
        current = CurrentUser(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=Role(user.role),
            organisation_code=user.organisation_code,
            session_id=row.id,
        )
        secret = settings.secret_key.get_secret_value()
        return _Auth(current, False, session_csrf_token(secret, row))

    # -- the request ------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path: str = scope["path"]
        nonce = secrets.token_urlsafe(18)
        request.state.csp_nonce = nonce
        request.state.user = None
        request.state.session_expired = False
        request.state.csrf_token = ""
        set_cookies: list[tuple[str, str]] = []
        send = self._wrap_send(
            send, path=path, nonce=nonce, cookies=set_cookies, docs=path in DOCS_PATHS
        )
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(request, receive, tracking_send, set_cookies)
        except Exception as exc:
            # Render the error page here too, so it carries the security headers; the
            # outer error middleware still sees the exception (for logs and tests).
            if not started:
                await self._server_error(request, exc, receive, tracking_send)
            raise

    async def _handle(
        self, request: Request, receive: Receive, send: Send, set_cookies: list[tuple[str, str]]
    ) -> None:
        scope = request.scope
        path: str = scope["path"]
        method: str = scope["method"].upper()
        settings: Settings = self.fastapi_app.state.settings
        secret = settings.secret_key.get_secret_value()
        api = path.startswith(("/api/", "/fhir/"))

        auth = _Auth(None, False, None)
        token = request.cookies.get(SESSION_COOKIE)
        if token and not is_static(path):
            now = current_time(self.fastapi_app)
            auth = await run_in_threadpool(self._resolve_session, token, settings, now)
        request.state.user = auth.user
        request.state.session_expired = auth.expired

        if auth.session_csrf is not None:
            expected = auth.session_csrf
        else:
            anon = request.cookies.get(CSRF_COOKIE, "")
            if not _CSRF_COOKIE_PATTERN.fullmatch(anon):
                anon = secrets.token_urlsafe(32)
                if not api and not is_static(path):
                    set_cookies.append((CSRF_COOKIE, anon))
            expected = anonymous_csrf_token(secret, anon)
        request.state.csrf_token = expected

        spool: IO[bytes] | None = None
        downstream_receive = receive
        try:
            # Pages: every unsafe request. API: those authenticated by the session cookie.
            if method in UNSAFE_METHODS and not is_static(path) and (not api or auth.user):
                try:
                    spool = await self._check_csrf(
                        request, receive, expected=expected, header_only=api
                    )
                except _CsrfRefused as refused:
                    await self._refuse(request, send, refused, api=api)
                    return
                if spool is not None:
                    downstream_receive = _replay(spool, receive)
            await self.app(scope, downstream_receive, send)
        finally:
            if spool is not None:
                spool.close()

    async def _server_error(
        self, request: Request, exc: Exception, receive: Receive, send: Send
    ) -> None:
        handler = self.fastapi_app.exception_handlers.get(Exception)
        response: Response = _plain_500()
        if handler is not None:
            try:
                outcome = handler(request, exc)
                maybe = await outcome if isinstance(outcome, Awaitable) else outcome
                if isinstance(maybe, Response):
                    response = maybe
            except Exception:  # the error page itself failed: fall back to plain text
                log.exception("the error handler failed")
        await response(request.scope, receive, send)

    def _wrap_send(
        self, send: Send, *, path: str, nonce: str, cookies: list[tuple[str, str]], docs: bool
    ) -> Send:
        settings: Settings = self.fastapi_app.state.settings
        held: list[Message] = []

        def finish_start(message: Message, csp: str) -> None:
            headers = MutableHeaders(scope=message)
            _apply_headers(headers, path=path, csp=csp)
            for name, value in cookies:
                cookie = Response()
                cookie.set_cookie(name, value, **_cookie_params(settings))
                headers.append("set-cookie", cookie.headers["set-cookie"])

        async def wrapped(message: Message) -> None:
            if not docs:
                if message["type"] == "http.response.start":
                    finish_start(message, _csp(nonce))
                await send(message)
                return
            # Swagger UI: hold the (small) page until it is complete, hash its inline scripts.
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                body = b"".join(m.get("body", b"") for m in held[1:])
                start = held[0]
                finish_start(start, _docs_csp(_script_hashes(body)))
                MutableHeaders(scope=start)["content-length"] = str(len(body))
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})

        return wrapped

    async def _check_csrf(
        self, request: Request, receive: Receive, *, expected: str, header_only: bool
    ) -> IO[bytes] | None:
        """Raise :class:`_CsrfRefused` unless the request carries the token; returns the spool."""
        origin = request.headers.get("origin")
        if origin is not None and not _same_origin(origin, request):
            raise _CsrfRefused()
        header = request.headers.get(CSRF_HEADER)
        if header is not None or header_only:
            if not tokens_match(expected, header):
                raise _CsrfRefused()
            return None
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise _CsrfRefused()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            raise _CsrfRefused(413, "The form is too large to send.")
        spool = await _spool_body(receive)
        try:
            form_request = Request(request.scope, _replay(spool, receive))
            try:
                form = await form_request.form()
            except Exception as exc:  # malformed multipart, too many fields, ...
                log.info("unreadable form refused: %s", exc)
                raise _CsrfRefused(
                    400, "The form could not be read. Reload the page and try again."
                ) from exc
            try:
                given = form.get(CSRF_FIELD)
                if not isinstance(given, str) or not tokens_match(expected, given):
                    raise _CsrfRefused()
            finally:
                await form.close()
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    async def _refuse(
        self, request: Request, send: Send, refused: _CsrfRefused, *, api: bool
    ) -> None:
        response: Response
        if api:
            response = JSONResponse({"detail": refused.message}, status_code=refused.status)
        else:
            from wholesystem.web.errors import ErrorPage
            from wholesystem.web.rendering import PageMeta, render

            heading = (
                "Sorry, we could not accept that form"
                if refused.status == 403
                else "Sorry, there is a problem with the request"
            )
            response = render(
                request,
                "errors/error.html",
                PageMeta(title=heading),
                status_code=refused.status,
                error=ErrorPage(heading, (refused.message,)),
            )

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(request.scope, no_body, send)


def _plain_500() -> Response:
    return Response("Sorry, there is a problem with the service.", status_code=500)


def _same_origin(origin: str, request: Request) -> bool:
    """Whether a browser's Origin header names this site.

    The Host header, or the host a reverse proxy says it received (X-Forwarded-Host).
    Trusting X-Forwarded-Host here only ever lets a request through that also carries a
    valid token, and a cross-site form cannot set that header anyway.
    """
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    hosts = {request.headers.get("host", "")}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        hosts.update(h.strip() for h in forwarded.split(","))
    return parts.netloc.lower() in {h.lower() for h in hosts if h}


async def _spool_body(receive: Receive) -> IO[bytes]:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    total = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _CsrfRefused(400, "The request was interrupted.")
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > MAX_FORM_BYTES:
                raise _CsrfRefused(413, "The form is too large to send.")
            spool.write(chunk)
            if not message.get("more_body", False):
                break
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _replay(spool: IO[bytes], receive: Receive, chunk_size: int = 64 * 1024) -> Receive:
    """A receive channel that plays back ``spool`` and then defers to the real one."""
    spool.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(chunk_size)
        more = len(chunk) == chunk_size
        if not more:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def install(app: FastAPI) -> None:
    """Add the access middleware to ``app`` (call once, in the app factory)."""
    app.add_middleware(AccessMiddleware, fastapi_app=app)
