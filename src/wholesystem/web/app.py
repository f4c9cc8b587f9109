"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.orm import Session

from wholesystem import __version__
from wholesystem.config import Settings, get_settings
from wholesystem.store.db import make_engine, make_session_factory
from wholesystem.web.errors import install_error_handlers
from wholesystem.web.rendering import get_db
from wholesystem.web.templating import make_environment

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the environment's)."""
    from wholesystem.access import web as access_web
    from wholesystem.access.routes import router as access_router
    from wholesystem.finance.routes import public_router as finance_public_router
    from wholesystem.finance.routes import router as finance_router
    from wholesystem.footprint.routes import api_router as footprint_api
    from wholesystem.footprint.routes import router as footprint_router
    from wholesystem.governance.api import api_router as governance_api
    from wholesystem.governance.concerns.routes import api_router as govconcerns_api
    from wholesystem.governance.concerns.routes import (
        public_router as govconcerns_public_router,
    )
    from wholesystem.governance.concerns.routes import router as govconcerns_router
    from wholesystem.governance.meetings.routes import api_router as govmeetings_api
    from wholesystem.governance.meetings.routes import (
        public_router as govmeetings_public_router,
    )
    from wholesystem.governance.meetings.routes import router as govmeetings_router
    from wholesystem.governance.plan.api import api_router as govplan_api
    from wholesystem.governance.plan.routes import public_router as govplan_public_router
    from wholesystem.governance.plan.routes import router as govplan_router
    from wholesystem.governance.routes import public_router as governance_public_router
    from wholesystem.governance.routes import router as governance_router
    from wholesystem.metrics.public import router as metrics_public_router
    from wholesystem.metrics.routes import router as metrics_router
    from wholesystem.population.routes import router as population_router
    from wholesystem.record.linkage.routes import router as linkage_router
    from wholesystem.record.routes import router as record_router
    from wholesystem.record.terms import use_extra_terms
    from wholesystem.record.view.routes import router as record_view_router
    from wholesystem.web.home import router as home_router

    settings = settings or get_settings()
    use_extra_terms(settings.code_terms_file)  # the record pages name codes with them
    engine = make_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="wholesystem API",
        version=__version__,
        description="One version of the truth for an integrated care system.",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.jinja = make_environment()

    install_error_handlers(app)
    access_web.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    app.include_router(_health_router())
    app.include_router(_docs_router())
    app.include_router(home_router)
    app.include_router(access_router)
    app.include_router(footprint_router)
    app.include_router(footprint_api, prefix="/api/v1")
    app.include_router(record_router)
    app.include_router(record_view_router)
    app.include_router(metrics_router)
    app.include_router(metrics_public_router)
    app.include_router(linkage_router)
    app.include_router(governance_router)
    app.include_router(governance_public_router)
    app.include_router(govconcerns_router)
    app.include_router(govconcerns_public_router)
    app.include_router(govplan_router)
    app.include_router(govplan_public_router)
    app.include_router(govmeetings_router)
    app.include_router(govmeetings_public_router)
    app.include_router(governance_api, prefix="/api/v1")
    app.include_router(govplan_api, prefix="/api/v1")
    app.include_router(govmeetings_api, prefix="/api/v1")
    app.include_router(govconcerns_api, prefix="/api/v1")
    app.include_router(population_router)
    app.include_router(finance_router)
    app.include_router(finance_public_router)
    return app


def _docs_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The interactive API reference, from locally installed Swagger UI assets."""
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="wholesystem API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/nhsuk/assets/images/favicon.ico",
        )

    return router


def _health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health", include_in_schema=False)
    def health(request: Request, db: Session = Depends(get_db)) -> JSONResponse:
        """Liveness and readiness: the database answers and the assets are installed."""
        checks: dict[str, Any] = {}
        try:
            db.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # the point is to report, not raise
            checks["database"] = f"error: {type(exc).__name__}"
        assets = (STATIC_DIR / "nhsuk" / "nhsuk-frontend.min.css").exists()
        checks["assets"] = "ok" if assets else "missing: run make install"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "degraded", "version": __version__, "checks": checks},
            status_code=200 if healthy else 503,
        )

    return router
