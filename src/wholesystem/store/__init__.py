"""Storage: the operational database (SQLAlchemy + Alembic) and the Parquet/DuckDB lake."""

from wholesystem.store.db import (
    Base,
    UTCDateTime,
    make_engine,
    make_session_factory,
    open_database,
    session_scope,
    upgrade,
    utcnow,
)
from wholesystem.store.lake import Lake, LakeError

__all__ = [
    "Base",
    "Lake",
    "LakeError",
    "UTCDateTime",
    "make_engine",
    "make_session_factory",
    "open_database",
    "session_scope",
    "upgrade",
    "utcnow",
]
