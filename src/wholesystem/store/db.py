"""The operational database: one declarative base, engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "DatabaseNotReady",
    "UTCDateTime",
    "make_engine",
    "make_session_factory",
    "migrations_config",
    "open_database",
    "session_scope",
    "upgrade",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every capability's tables hang off this metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC on the way in and out.

    SQLite has no time zones; storing naive UTC and re-attaching UTC on read keeps
    both backends identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys on and its directory created."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class DatabaseNotReady(RuntimeError):
    """The database's schema is not the one this code needs; the message says what to do."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"The database ({where}) {reason}: run `wholesystem db upgrade` first.")
        self.where = where
        self.reason = reason


def _schema_problem(engine: Engine, url: str) -> str | None:
    """Why the database's schema is not at this code's migrations' head(s); None if it is."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    needed = set(ScriptDirectory.from_config(migrations_config(url)).get_heads())
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError:
        return None  # not a schema problem: the database itself cannot be reached
    if current == needed:
        return None
    return "has no tables yet" if not current else "is not up to date"


@contextmanager
def open_database(url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory over a fresh engine that is disposed of on the way out.

    A database error raised in the block, when the schema is not at this code's
    migrations' head(s), becomes :class:`DatabaseNotReady` (worked out only then, so
    that opening costs nothing more).
    """
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    except SQLAlchemyError as exc:
        problem = _schema_problem(engine, url)
        if problem is None:
            raise
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseNotReady(where, problem) from exc
    finally:
        engine.dispose()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrations_config(url: str) -> Any:
    """An Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent).

    ``heads`` rather than ``head`` so that capabilities developed side by side may each add
    a migration on the same parent before they are put in one line.
    """
    from alembic import command

    command.upgrade(migrations_config(url), revision)
