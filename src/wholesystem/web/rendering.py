"""Turn a template and a presenter's output into a page with the shell around it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.times import uk_stamp
from wholesystem.web.navigation import navigation_for

__all__ = ["HOME", "NO_DATA", "Crumb", "Db", "PageMeta", "format_as_at", "get_db", "render"]

SERVICE_NAME = "wholesystem"


@dataclass(frozen=True)
class Crumb:
    text: str
    href: str


HOME = Crumb("Home", "/")
"""The first crumb of every page's breadcrumbs."""


@dataclass(frozen=True)
class PageMeta:
    title: str
    breadcrumbs: Sequence[Crumb] = field(default_factory=tuple)


def format_as_at(moment: datetime | None) -> str | None:
    """'23 November 2026, 19:40 GMT' (UK time) for the data-as-at stamp."""
    if moment is None:
        return None
    return uk_stamp(moment, "%-d %B %Y, %H:%M")


class _NoData:
    """Marks a page that shows no data, so it carries no data-as-at stamp."""


NO_DATA = _NoData()


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request; committed by the route when it writes."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Db = Annotated[Session, Depends(get_db)]
"""A route parameter: the request's database session."""


def _account(request: Request) -> dict[str, Any]:
    user = getattr(request.state, "user", None)
    if user is None:
        return {"items": [{"href": "/login", "text": "Sign in", "icon": True}]}
    token = getattr(request.state, "csrf_token", "")
    signout = (
        '<form class="nhsuk-header__account-form" action="/logout" method="post">'
        f'<input type="hidden" name="csrf_token" value="{token}">'
        '<button class="nhsuk-header__account-button" type="submit">Sign out</button></form>'
    )
    return {
        "items": [
            {"text": f"{user.display_name} ({user.role.label})", "icon": True},
            {"html": signout},
        ]
    }


_HEADER_CACHE_SIZE = 2048


def _header_html(
    request: Request, navigation: list[dict[str, object]], account: dict[str, Any]
) -> Markup:
    """The rendered header, kept per user, session (its sign-out token) and section.

    The NHS.UK header macro costs more than the rest of a cached dashboard page; its
    inputs change only with who is signed in and which section is current.
    """
    state = request.app.state
    cache: OrderedDict[str, Markup] | None = getattr(state, "header_cache", None)
    if cache is None:
        cache = state.header_cache = OrderedDict()
    key = repr((navigation, account))
    with _HEADER_LOCK:
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
    env: Environment = state.jinja
    html = Markup(  # noqa: S704 - the template autoescapes; this is its output
        env.get_template("_header.html").render(
            service_name=SERVICE_NAME, navigation=navigation, account=account
        )
    )
    with _HEADER_LOCK:
        cache[key] = html
        while len(cache) > _HEADER_CACHE_SIZE:
            cache.popitem(last=False)
    return html


_HEADER_LOCK = threading.Lock()


def render(
    request: Request,
    template: str,
    page: PageMeta,
    *,
    data_as_at: datetime | _NoData | None = NO_DATA,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` inside the NHS.UK shell."""
    env: Environment = request.app.state.jinja
    user = getattr(request.state, "user", None)
    navigation = navigation_for(user.role if user else None, request.url.path)
    account = _account(request)
    html = env.get_template(template).render(
        request=request,
        page=page,
        service_name=SERVICE_NAME,
        navigation=navigation,
        account=account,
        header_html=_header_html(request, navigation, account),
        current_user=user,
        csrf_token=getattr(request.state, "csrf_token", ""),
        cspNonce=getattr(request.state, "csp_nonce", None),
        shows_data=not isinstance(data_as_at, _NoData),
        data_as_at=None if isinstance(data_as_at, _NoData) else format_as_at(data_as_at),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
