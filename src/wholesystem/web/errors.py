"""NHS-style error pages for people and JSON errors for the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from wholesystem.web.rendering import PageMeta, render

__all__ = ["ErrorPage", "install_error_handlers", "is_api", "is_fhir", "operation_outcome"]


@dataclass(frozen=True)
class ErrorPage:
    heading: str
    lines: tuple[str, ...] = field(default_factory=tuple)
    next_href: str = "/"
    next_text: str = "Go to the home page"


_PAGES = {
    400: ErrorPage("Sorry, there is a problem with the request", ("Check what you entered.",)),
    403: ErrorPage(
        "You do not have permission to see this page",
        ("Your role does not include this. Ask your system administrator if you need it.",),
    ),
    404: ErrorPage(
        "Page not found",
        (
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address.",
        ),
    ),
    405: ErrorPage("Sorry, that action is not allowed on this page"),
    429: ErrorPage(
        "Too many attempts",
        ("Wait a few minutes before you try again.",),
    ),
    500: ErrorPage(
        "Sorry, there is a problem with the service",
        ("Try again later. The problem has been logged.",),
    ),
}


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON or FHIR API (errors as JSON, not pages)."""
    return request.url.path.startswith(("/api/", "/fhir/"))


def is_fhir(request: Request) -> bool:
    """Whether the request is for the FHIR API (errors as an OperationOutcome)."""
    return request.url.path.startswith("/fhir/")


# FHIR R4 IssueType codes (https://hl7.org/fhir/R4/valueset-issue-type.html) per status.
_FHIR_ISSUE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    422: "invalid",
    429: "throttled",
}


def operation_outcome(status: int, text: str) -> JSONResponse:
    """A FHIR R4 OperationOutcome for an error, as FHIR clients expect."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": _FHIR_ISSUE.get(status, "exception" if status >= 500 else "processing"),
                "diagnostics": text,
            }
        ],
    }
    return JSONResponse(body, status, media_type="application/fhir+json")


def _page_for(status: int, detail: str | None) -> ErrorPage:
    base = _PAGES.get(status) or _PAGES[500 if status >= 500 else 400]
    if detail and status < 500:
        return ErrorPage(base.heading, (detail,), base.next_href, base.next_text)
    return base


def _error_response(request: Request, status: int, detail: str | None) -> Response:
    if is_fhir(request):
        return operation_outcome(status, detail or _page_for(status, None).heading)
    if is_api(request):
        return JSONResponse({"detail": detail or _page_for(status, None).heading}, status)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    page = _page_for(status, detail)
    return render(
        request,
        "errors/error.html",
        PageMeta(title=page.heading),
        status_code=status,
        error=page,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into specific, human messages."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = None
        response = _error_response(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        if is_fhir(request):
            return operation_outcome(422, "; ".join(problems))
        if is_api(request):
            return JSONResponse({"detail": problems}, 422)
        return render(
            request,
            "errors/error.html",
            PageMeta(title="There is a problem"),
            status_code=422,
            error=ErrorPage("There is a problem", tuple(problems)),
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("wholesystem.web").exception("unhandled error", exc_info=exc)
        return _error_response(request, 500, None)
