"""The linked lake: the single care record as person-keyed Parquet tables.

:func:`build_linked_tables` joins every staged row (``staged_<dataset>``) to its source
record (``source_identity``) and that record's person (``person_index``), and writes

``person``, ``source_record``, ``registration``, ``event``, ``condition``, ``observation``,
``medication``, ``allergy`` and ``care_package`` (described column by column in
``docs/lake.md``), plus ``unlinked_record``: staged rows or source records with no person
(none after a fresh ``link-index``; listed, never dropped silently).

Everything runs in DuckDB SQL over the Parquet files (:mod:`wholesystem.record.linked_sql`).
Every table is sorted by ``person_id`` and written in row groups of :data:`ROW_GROUP_SIZE`
rows, so a query for one person reads one or two row groups. All tables are written
beside their targets first and renamed into place together at the end: a failed run
leaves the previous tables. The same inputs give byte-identical files.
"""

from __future__ import annotations

import csv
import logging
import shutil
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.audit import append
from wholesystem.record.linkage.index import INDEX_TABLE
from wholesystem.record.linked_sql import (
    TABLE_ORDER,
    current_registration_sql,
    empty_staged_sql,
    event_raw_sql,
    event_sql,
    gp_events_sql,
    keyed_sql,
    person_sql,
    table_sql,
    unlinked_sql,
)
from wholesystem.record.schemas import staged_datasets
from wholesystem.record.staging import SOURCE_IDENTITY, connect_staged, staged_glob
from wholesystem.record.terms import code_terms
from wholesystem.record.validate import install_macros
from wholesystem.store.db import session_scope
from wholesystem.store.lake import Lake, LakeError
from wholesystem.store.runs import recorded_run

__all__ = [
    "LINKED_STEP",
    "LINKED_TABLES",
    "ROW_GROUP_SIZE",
    "UNLINKED_TABLE",
    "LinkedSummary",
    "build_linked_tables",
    "gp_event_codes",
    "write_linked_tables",
]

log = logging.getLogger("wholesystem.record")

LINKED_STEP = "linked_lake"
LINKED_TABLES: tuple[str, ...] = TABLE_ORDER
"""The tables of the contract, in documentation order."""
UNLINKED_TABLE = "unlinked_record"
ROW_GROUP_SIZE = 32_768
"""Rows per Parquet row group: small enough that a per-person filter skips most of a file."""
_OPTIONS = f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"


@dataclass
class LinkedSummary:
    """What a build wrote: rows per table, staged rows per dataset, rows left unlinked."""

    rows: dict[str, int] = field(default_factory=dict)
    staged: dict[str, int] = field(default_factory=dict)
    unlinked: dict[str, int] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        """Rows of ``person``."""
        return self.rows.get("person", 0)

    @property
    def unlinked_total(self) -> int:
        """Staged rows and source records with no person (0 when the index is current)."""
        return sum(self.unlinked.values())

    def describe(self) -> str:
        """One line for a run summary or the CLI."""
        text = (
            f"{self.persons:,} persons, {self.rows.get('event', 0):,} events, "
            f"{self.rows.get('condition', 0):,} conditions, "
            f"{self.rows.get('observation', 0):,} observations, "
            f"{self.rows.get('medication', 0):,} medications"
        )
        if self.unlinked_total:
            text += (
                f"; {self.unlinked_total:,} rows have no person (see {UNLINKED_TABLE}: "
                "run `wholesystem link-index`)"
            )
        return text


def gp_event_codes() -> list[dict[str, str]]:
    """The rows of ``record/data/gp_event_codes.csv`` (code, class, display, hierarchy)."""
    text = (resources.files("wholesystem.record") / "data" / "gp_event_codes.csv").read_text(
        encoding="utf-8"
    )
    return list(csv.DictReader(text.splitlines()))


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[str]]) -> None:
    """A temporary table ``name`` of text ``columns``."""
    con.register(
        f"{name}_arrow", pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    )
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608
    con.unregister(f"{name}_arrow")


def _prepare(con: duckdb.DuckDBPyConnection, lake: Lake) -> dict[str, int]:
    """Create the ``ws_*`` relations; returns staged rows per dataset."""
    install_macros(con)
    con.execute("SET TimeZone = 'UTC'")
    connect_staged(lake, con)
    for name in (SOURCE_IDENTITY, INDEX_TABLE):
        con.execute(
            f"CREATE VIEW ws_{name} AS SELECT * FROM {lake.scan_sql(name)}"  # noqa: S608
        )
    con.execute("CREATE VIEW ws_index AS SELECT * FROM ws_person_index")
    con.execute(
        "CREATE TEMP TABLE ws_who AS SELECT si.record_id, pi.person_id, si.source, si.dataset, "
        "si.local_patient_id, si.nhs_number, si.given_name, si.family_name, "
        "CAST(si.date_of_birth AS DATE) AS date_of_birth, si.sex, si.postcode "
        "FROM ws_source_identity si LEFT JOIN ws_person_index pi USING (record_id)"
    )
    codes = gp_event_codes()
    _temp_table(con, "ws_codes", {k: [r[k] for r in codes] for k in codes[0]})
    terms = code_terms()
    _temp_table(
        con,
        "ws_terms",
        {
            "system": [system for system, _ in terms],
            "code": [code for _, code in terms],
            "display": list(terms.values()),
        },
    )
    con.execute(
        "CREATE TEMP MACRO ws_term(s, c) AS "
        "(SELECT t.display FROM ws_terms t WHERE t.system = s AND t.code = c)"
    )
    staged: dict[str, int] = {}
    for ds in staged_datasets():
        source = (
            f"staged_{ds.name}"
            if staged_glob(lake, ds.name) is not None
            else f"({empty_staged_sql(ds)})"
        )
        sql = gp_events_sql(source) if ds.name == "gp_events" else keyed_sql(ds.name, source)
        con.execute(f"CREATE TEMP TABLE ws_{ds.name} AS {sql}")
        count = con.execute(f"SELECT count(*) FROM ws_{ds.name}").fetchone()  # noqa: S608
        staged[ds.name] = int(count[0]) if count else 0
    con.execute(f"CREATE TEMP TABLE ws_current AS {current_registration_sql()}")
    con.execute(f"CREATE TEMP TABLE ws_event_raw AS {event_raw_sql()}")
    con.execute(f"CREATE TEMP TABLE ws_event AS {event_sql()}")
    con.execute("DROP TABLE ws_event_raw")
    return staged


def _write_aside(con: duckdb.DuckDBPyConnection, sql: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    con.execute(f"COPY ({sql}) TO {_sql_path(tmp)} {_OPTIONS}")
    return tmp


# DuckDB's own limit is 80% of the machine's memory: a 1M-person build then peaked at
# 14.3 GB; with 4 GB it peaks at 4.4 GB (the joins and sorts spill to disk) and takes 4%
# longer (73.8 s against 71.2 s).
MEMORY_LIMIT = "4GB"


def write_linked_tables(
    lake: Lake, *, threads: int | None = None, memory_limit: str | None = MEMORY_LIMIT
) -> LinkedSummary:
    """Build every linked table from the lake's staged tables and person index.

    The work behind :func:`build_linked_tables` without the run record and audit entry
    (benchmarks time it). Raises :class:`LakeError` when an input is missing.
    ``memory_limit``: DuckDB's (``"4GB"``, ``"512MB"``), past which it spills to a
    folder in the lake; None for DuckDB's default, 80% of the machine's memory.
    """
    for name, hint in ((SOURCE_IDENTITY, "wholesystem ingest"), (INDEX_TABLE, "link-index")):
        if not lake.exists(name):
            raise LakeError(f"no {name} table in the lake yet: run `{hint}` first")
    spill = lake.root / f".linked-{uuid.uuid4().hex}.tmp"
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": str(spill)}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    pending: dict[str, Path] = {}
    try:
        summary = LinkedSummary(staged=_prepare(con, lake))
        queries = {"person": person_sql()} | {t: table_sql(t) for t in TABLE_ORDER if t != "person"}
        queries[UNLINKED_TABLE] = unlinked_sql(tuple(d.name for d in staged_datasets()))
        for table, sql in queries.items():
            pending[table] = _write_aside(con, sql, lake.path(table))
        for table, tmp in pending.items():
            summary.rows[table] = int(pq.ParquetFile(tmp).metadata.num_rows)
        unlinked = con.execute(
            f"SELECT dataset, count(*) FROM read_parquet({_sql_path(pending[UNLINKED_TABLE])}) "  # noqa: S608
            "GROUP BY dataset ORDER BY dataset"
        ).fetchall()
        summary.unlinked = {str(d): int(n) for d, n in unlinked}
        # Everything is written: make it visible together (each rename is atomic).
        for table, tmp in pending.items():
            tmp.replace(lake.path(table))
        pending.clear()
    finally:
        con.close()
        for tmp in pending.values():
            with suppress(FileNotFoundError):
                tmp.unlink()
        shutil.rmtree(spill, ignore_errors=True)
    if summary.unlinked_total:
        log.warning(
            "linked lake: %s rows have no person (%s); they are listed in %s",
            summary.unlinked_total,
            summary.unlinked,
            UNLINKED_TABLE,
        )
    return summary


def build_linked_tables(
    factory: sessionmaker[Session], lake: Lake, actor: str = "system"
) -> LinkedSummary:
    """Rebuild the linked lake tables as the recorded, audited pipeline step ``linked_lake``.

    Run after ``build_person_index``. Idempotent: the same staged tables and index give
    the same files. Rows whose source record has no person are reported in the summary,
    the run record and ``unlinked_record``, not dropped silently.
    """
    with recorded_run(factory, LINKED_STEP) as run:
        summary = write_linked_tables(lake)
        run.summary = summary.describe()
        run.details = {
            "rows": dict(summary.rows),
            "staged": dict(summary.staged),
            "unlinked": dict(summary.unlinked),
        }
        with session_scope(factory) as session:
            append(
                session,
                actor=actor,
                action="linked_lake_built",
                object_type="lake_table",
                object_id="linked",
                detail=run.details,
            )
    return summary
