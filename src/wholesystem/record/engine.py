"""Check rows set-based in DuckDB and stage the good ones; shared by CSV, FHIR, OMOP and replay.

A *source* is any DuckDB relation with the dataset's columns as VARCHAR (NULL when
absent), ``line`` (where the row came from), ``_key`` (a record key, or NULL to derive
one) and optionally other ``_``-prefixed columns kept with a quarantined row. One query
adds each row's problems; the good rows are written as a typed Parquet part beside its
target (renamed into place only when the caller commits), the bad ones come back as
:class:`QuarantinedRow` values.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from wholesystem.record.schemas import CodeSystem, Dataset
from wholesystem.record.validate import (
    ERROR_SEP,
    FIELD_SEP,
    SNOMED_PATTERN,
    check_sql,
    install_macros,
    parse_problems,
    snomed_valid,
    typed_sql,
)

__all__ = [
    "FileRejected",
    "PendingPart",
    "QuarantinedRow",
    "StageResult",
    "new_connection",
    "stage",
]


class FileRejected(Exception):
    """A file-level fault: the whole file is refused with ``reason`` and nothing is written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class QuarantinedRow:
    """A row that failed: where, the first problem, every problem's message, the raw row."""

    line: int
    column: str
    rule: str
    message: str
    raw: dict[str, Any]


@dataclass
class PendingPart:
    """A part written aside; :meth:`commit` renames it into place, :meth:`abort` drops it."""

    dataset: str
    target: Path
    tmp: Path
    rows: int

    def commit(self) -> None:
        """Make the part visible (atomic rename)."""
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        """Forget the part."""
        with suppress(FileNotFoundError):
            self.tmp.unlink()


@dataclass
class StageResult:
    """What staging one source for one dataset produced."""

    part: PendingPart
    read: int
    loaded: int
    quarantined: list[QuarantinedRow] = field(default_factory=list)


def new_connection(threads: int = 2) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the validation macros."""
    con = duckdb.connect(":memory:", config={"threads": threads})
    install_macros(con)
    return con


PARQUET_OPTIONS = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _snomed_post_check(con: duckdb.DuckDBPyConnection, ds: Dataset, table: str) -> None:
    """Add the Verhoeff check-digit problem to rows whose SNOMED CT code fails it.

    Only the distinct well-formed codes go through Python; the rows are updated in SQL.
    """
    for col in ds.columns:
        if col.code_system is not CodeSystem.snomed:
            continue
        name = f'"{col.name}"'
        values = con.execute(
            f"SELECT DISTINCT {name} FROM {table} "  # noqa: S608
            f"WHERE regexp_full_match({name}, '{SNOMED_PATTERN}')"
        ).fetchall()
        bad = [v for (v,) in values if not snomed_valid(v)]
        if not bad:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE ws_bad_codes (v VARCHAR)")
        con.executemany("INSERT INTO ws_bad_codes VALUES (?)", [(b,) for b in bad])
        prefix = f"{col.name}{FIELD_SEP}snomed_check_digit{FIELD_SEP}{col.name} '"
        con.execute(
            f"UPDATE {table} SET errs = concat_ws(?, NULLIF(errs, ''), ? || {name} || "  # noqa: S608
            f"''' fails the SNOMED CT Verhoeff check digit') "
            f"WHERE {name} IN (SELECT v FROM ws_bad_codes)",
            [ERROR_SEP, prefix],
        )


def _raw_columns(con: duckdb.DuckDBPyConnection, table: str, ds: Dataset) -> list[str]:
    names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    keep = [c.name for c in ds.columns if c.name in names]
    extras = [n for n in names if n.startswith("_") and n not in keep]
    return keep + extras


def quarantined_rows(
    con: duckdb.DuckDBPyConnection, table: str, ds: Dataset
) -> list[QuarantinedRow]:
    """The failing rows of a checked table, in line order."""
    raw_cols = _raw_columns(con, table, ds)
    select = ", ".join(f'"{c}"' for c in raw_cols)
    result = con.execute(
        f"SELECT line, errs, {select} FROM {table} WHERE errs <> '' ORDER BY line"  # noqa: S608
    ).fetchall()
    rows = []
    for line, errs, *values in result:
        problems = parse_problems(errs)
        raw = {
            c: v
            for c, v in zip(raw_cols, values, strict=True)
            if not (c.startswith("_") and v is None)
        }
        first = problems[0]
        rows.append(
            QuarantinedRow(
                line=int(line),
                column=first.column,
                rule=first.rule,
                message="; ".join(p.message for p in problems),
                raw=raw,
            )
        )
    return rows


def check(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    source: str,
    table: str,
    today: date,
    now: datetime,
) -> None:
    """Materialise ``table``: ``source`` plus ``errs`` (every problem of each row)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {check_sql(ds, source, today, now)}")
    _snomed_post_check(con, ds, table)


def stage(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    table: str,
    target: Path,
    *,
    org_code: str,
    source_file: str,
    run_id: int,
    fmt: str,
    keep_existing: Path | None = None,
) -> StageResult:
    """Write the good rows of checked ``table`` aside of ``target``; collect the bad ones.

    With ``keep_existing``, the rows already in that part are kept (replay appends).
    """
    sql = typed_sql(ds, table, org_code, source_file, run_id, fmt)
    if keep_existing is not None and keep_existing.exists():
        existing = _sql_path(keep_existing)  # quoted; the rest is generated from declarations
        sql = f"SELECT * FROM read_parquet({existing}) UNION ALL BY NAME ({sql})"  # noqa: S608
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        con.execute(f"COPY ({sql}) TO {_sql_path(tmp)} {PARQUET_OPTIONS}")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        counts = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE errs = '') FROM {table}"  # noqa: S608
        ).fetchone()
        bad = quarantined_rows(con, table, ds)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    assert counts is not None
    part = PendingPart(ds.name, target, tmp, int(counts[1]))
    return StageResult(part=part, read=int(counts[0]), loaded=int(counts[1]), quarantined=bad)


def abort_all(parts: Sequence[PendingPart]) -> None:
    """Drop every pending part."""
    for part in parts:
        part.abort()
