"""Database states built once per test process and restored for every later test.

Migrating a database and loading the footprint, the demo users and the demo governance
take from a third of a second to two seconds a test; most tests then need the very same
state. :func:`prepared` builds a state the first time a process asks for it, keeps a
snapshot of the whole database, and restores that snapshot into every later database
that asks for the same state:

- SQLite: the whole file, through SQLite's backup API (page by page, in place, so an
  engine already open on the file sees the restored state at its next transaction).
- PostgreSQL: the schema's tables, functions and triggers from ``pg_dump --schema-only``
  when the test's schema is still empty, then every table's rows by ``COPY`` with the
  triggers (the audit log's append-only guards, the foreign keys) off for that one
  transaction, and every sequence where the build left it.

A key names a state whole, with the state it starts from: the same key must mean the
same build over the same starting state (a footprint's key holds the footprint's hash).
The day is part of every key, so a build that reads the clock is never restored on
another day. Tests of migrations themselves run Alembic, not this.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Hashable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from wholesystem.store.db import upgrade

__all__ = ["file_key", "migrated", "prepared"]


@dataclass(frozen=True)
class _PgSnapshot:
    schema_sql: str  # pg_dump's DDL with the source schema's name as ``{schema}``
    tables: tuple[tuple[str, bytes], ...]  # each table's rows, COPY text format
    sequences: tuple[tuple[str, int, bool], ...]


_Snapshot = sqlite3.Connection | _PgSnapshot
_SNAPSHOTS: dict[tuple[str, str, Hashable], _Snapshot] = {}


def file_key(data: bytes) -> str:
    """A short key for a state that depends on these bytes (a footprint file, say)."""
    return hashlib.sha256(data).hexdigest()[:16]


def prepared(url: str, key: Hashable, build: Callable[[], object]) -> None:
    """Bring the database at ``url`` to the state ``build`` leaves it in.

    ``build`` runs the first time this process asks for ``key``; after that the state
    is restored from the snapshot taken then. Nothing may hold a transaction open on the
    database while it is restored.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    whole = (backend, datetime.now(UTC).date().isoformat(), key)
    snapshot = _SNAPSHOTS.get(whole)
    if snapshot is None:
        build()
        _SNAPSHOTS[whole] = _take(parsed)
    elif not _restore(parsed, snapshot):
        build()


def migrated(url: str) -> None:
    """The database at ``url``, empty, migrated to the head revisions."""
    prepared(url, "migrated", lambda: upgrade(url))


def _take(url: URL) -> _Snapshot:
    if url.get_backend_name() == "sqlite":
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        with closing(sqlite3.connect(_sqlite_path(url))) as source:
            source.backup(copy)
        return copy
    if url.get_backend_name() == "postgresql":
        return _pg_take(url)
    raise ValueError(f"no snapshot for the {url.get_backend_name()} backend")


def _restore(url: URL, snapshot: _Snapshot) -> bool:
    """Restore ``snapshot`` into the database at ``url``; False when it cannot be (the
    state is then built again)."""
    if isinstance(snapshot, sqlite3.Connection):
        with closing(sqlite3.connect(_sqlite_path(url))) as target:
            snapshot.backup(target)
        return True
    return _pg_restore(url, snapshot)


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise ValueError("a snapshot needs a SQLite file, not a memory database")
    return url.database


def _pg_connect(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    options = url.query.get("options")
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        options=options if isinstance(options, str) else None,
    )


def _pg_schema(con: psycopg.Connection[tuple[object, ...]]) -> str:
    row = con.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise ValueError("the test database has no current schema")
    return str(row[0])


def _pg_names(con: psycopg.Connection[tuple[object, ...]], kind: str) -> list[str]:
    rows = con.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = %s ORDER BY c.relname",
        (kind,),
    ).fetchall()
    return [str(r[0]) for r in rows]


# pg_dump's psql meta-commands (``\restrict`` and ``\unrestrict`` since the August 2025
# releases) and its own ``CREATE SCHEMA``: the test's schema is made by its fixture.
_META = re.compile(r"^\\.*$", re.MULTILINE)


def _pg_schema_sql(url: URL, schema: str) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return ""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    out = subprocess.run(
        [
            pg_dump,
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            f"--schema={schema}",
            f"--host={url.host or '127.0.0.1'}",
            f"--port={url.port or 5432}",
            f"--username={url.username}",
            f"--dbname={url.database}",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    out = _META.sub("", out)
    out = re.sub(rf"^CREATE SCHEMA {re.escape(schema)};$", "", out, flags=re.MULTILINE)
    # Test schemas are named t_ and 12 hex digits: no other text in the dump holds it.
    return out.replace("{", "{{").replace("}", "}}").replace(schema, "{schema}")


def _pg_take(url: URL) -> _PgSnapshot:
    with _pg_connect(url) as con:
        schema = _pg_schema(con)
        tables = []
        for table in _pg_names(con, "r"):
            with con.cursor().copy(
                sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
            ) as cp:
                tables.append((table, b"".join(bytes(chunk) for chunk in cp)))
        sequences = []
        for seq in _pg_names(con, "S"):
            row = con.execute(
                sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(seq))
            ).fetchone()
            assert row is not None
            sequences.append((seq, int(str(row[0])), bool(row[1])))
    return _PgSnapshot(_pg_schema_sql(url, schema), tuple(tables), tuple(sequences))


def _pg_restore(url: URL, snapshot: _PgSnapshot) -> bool:
    with _pg_connect(url) as con:
        if not _pg_names(con, "r"):
            if not snapshot.schema_sql:
                return False  # no pg_dump here: the tables cannot be made but by a build
            schema = _pg_schema(con)
            con.execute(snapshot.schema_sql.format(schema=schema).encode())
            # pg_dump's script empties the search path; the copies below need it back.
            con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        # Replica mode turns the triggers off for this transaction: the audit log's
        # append-only guards and the foreign keys' checks (the rows are consistent).
        con.execute("SET LOCAL session_replication_role = replica")
        for table, _ in snapshot.tables:
            con.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        for table, rows in snapshot.tables:
            if rows:
                cursor = con.cursor()
                with cursor.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as cp:
                    cp.write(rows)
        for seq, value, called in snapshot.sequences:
            con.execute("SELECT setval(%s::regclass, %s, %s)", (f'"{seq}"', value, called))
    return True
