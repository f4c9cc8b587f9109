"""Check rows set-based in DuckDB and stage the good ones; shared by CSV, FHIR, OMOP and replay.

A *source* is any DuckDB relation with the dataset's columns as VARCHAR (NULL when
absent), ``line`` (where the row came from), ``_key`` (a record key, or NULL to derive
one) and optionally other ``_``-prefixed columns kept with a quarantined row. One query
flags each row that breaks a rule (a cheap boolean), and the messages are worked out
for the flagged rows alone; the good rows are written as a typed Parquet part beside its
target (renamed into place only when the caller commits), the bad ones come back as
:class:`QuarantinedRow` values.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from wholesystem.record.schemas import CodeSystem, Dataset
from wholesystem.record.validate import (
    SNOMED_PATTERN,
    check_sql,
    errors_sql,
    install_macros,
    parse_problems,
    snomed_check,
    snomed_valid,
    typed_sql,
)

__all__ = [
    "PART_ID_KEY",
    "Checked",
    "FileRejected",
    "PendingPart",
    "QuarantinedRow",
    "StageResult",
    "new_connection",
    "parquet_options",
    "part_aside",
    "stage",
    "staged",
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


_ROW_GROUP = 122_880  # DuckDB's default rows per Parquet row group


PART_ID_KEY = "ws_part_id"
"""The Parquet footer key of a staged part's id: new for every part written, so that what
is worked out from a part (its identities) can say which part it came from."""


def parquet_options(rows: int, part_id: str | None = None) -> str:
    """``COPY`` options for a staged part of ``rows`` rows, stamped ``part_id`` if given.

    A small string dictionary page: a column with many distinct values (names, NHS
    numbers, record keys) gives up on dictionary encoding early instead of building a
    dictionary it then discards; the same rows, about a third less work to write. A
    part under two row groups is cut into two halves, which DuckDB writes on separate
    threads (an extract-sized part is written about a fifth faster).
    """
    options = (
        "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
        "STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536"
    )
    if 0 < rows < 2 * _ROW_GROUP:
        options += f", ROW_GROUP_SIZE {max(-(-rows // 2), 2048)}"
    if part_id is not None:
        if not part_id.isalnum():  # written into the SQL
            raise ValueError(f"a part id is letters and digits: {part_id!r}")
        options += f", KV_METADATA {{{PART_ID_KEY}: '{part_id}'}}"
    return f"({options})"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _snomed_check_digits(con: duckdb.DuckDBPyConnection, ds: Dataset, table: str) -> list[str]:
    """Mark rows whose SNOMED CT code fails the Verhoeff check digit; SQL for their errors.

    Only the distinct well-formed codes go through Python; the failing ones are listed
    in a temporary table and the rows are flagged in SQL.
    """
    extra: list[str] = []
    for i, col in enumerate(ds.columns):
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
        codes = f"ws_bad_codes_{i}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {codes} (v VARCHAR)")
        con.executemany(f"INSERT INTO {codes} VALUES (?)", [(b,) for b in bad])  # noqa: S608
        con.execute(
            f"UPDATE {table} SET ws_bad = true "  # noqa: S608
            f"WHERE NOT ws_bad AND {name} IN (SELECT v FROM {codes})"
        )
        extra.append(snomed_check(col, codes))
    return extra


def _raw_columns(con: duckdb.DuckDBPyConnection, table: str, ds: Dataset) -> list[str]:
    names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    keep = [c.name for c in ds.columns if c.name in names]
    extras = [n for n in names if n.startswith("_") and n not in keep]
    return keep + extras


def _quarantined_rows(
    con: duckdb.DuckDBPyConnection, sql: str, raw_cols: list[str]
) -> list[QuarantinedRow]:
    """The rows of ``sql`` (``errs`` and the raw columns, failing rows only), in line order."""
    select = ", ".join(f'"{c}"' for c in raw_cols)
    result = con.execute(
        f"SELECT line, errs, {select} FROM ({sql}) ORDER BY line"  # noqa: S608
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


@dataclass
class Checked:
    """A checked source: the relation to read its rows from, and its failing rows."""

    relation: str  # the checked table
    quarantined: list[QuarantinedRow]


def check(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    source: str,
    table: str,
    today: date,
    now: datetime,
    *,
    numbered: bool = True,
    temporary: bool = True,
    extra: Sequence[tuple[str, str]] = (),
) -> Checked:
    """Materialise ``table``: ``source`` plus ``ws_bad``; find the failing rows.

    Every row gets only a cheap pass/fail flag; the messages (every problem of the row)
    are worked out for the failing rows alone. ``numbered``: ``source`` has ``rec`` and
    ``line``; otherwise its rows are in file order from the first record, and the
    relation returned is a view of ``table`` numbering them by row id. Not
    ``temporary``: the table and view are the database's, for other cursors to read too
    (the caller drops them). ``extra``: checks beyond the dataset's, each a condition
    and its error (see :func:`~wholesystem.record.validate.unnamed_check`).
    """
    temp = "TEMP " if temporary else ""
    fails = [cond for cond, _ in extra]
    con.execute(
        f"CREATE OR REPLACE {temp}TABLE {table} AS {check_sql(ds, source, today, now, fails)}"
    )
    relation = table
    if not numbered:
        relation = f"{table}_lines"
        con.execute(
            f"CREATE OR REPLACE {temp}VIEW {relation} AS "  # noqa: S608
            f"SELECT rowid + 1 AS rec, rowid + 2 AS line, * FROM {table}"
        )
    errors = [*_snomed_check_digits(con, ds, table), *(error for _, error in extra)]
    [(failing,)] = con.execute(
        f"SELECT count(*) FILTER (WHERE ws_bad) FROM {table}"  # noqa: S608
    ).fetchall()
    if not failing:  # the messages' query is large to plan: not for a clean file
        return Checked(relation, [])
    raw_cols = _raw_columns(con, relation, ds)
    bad = _quarantined_rows(con, errors_sql(ds, relation, today, now, extra=errors), raw_cols)
    return Checked(relation, bad)


def stage(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    checked: Checked,
    target: Path,
    *,
    org_code: str,
    source_file: str,
    run_id: int,
    fmt: str,
    keep_existing: Path | None = None,
    in_line_order: bool = False,
) -> StageResult:
    """Write the good rows of ``checked`` aside of ``target``.

    With ``keep_existing``, the rows already in that part are kept (replay appends).
    ``in_line_order``: the checked table's rows are already in ``line`` order, so they
    are written as they are, without a sort. The part gets a new id (see
    :data:`PART_ID_KEY`).
    """
    table, quarantined = checked.relation, checked.quarantined
    sql = typed_sql(ds, table, org_code, source_file, run_id, fmt)
    if keep_existing is not None and keep_existing.exists():
        existing = _sql_path(keep_existing)  # quoted; the rest is generated from declarations
        sql = f"SELECT * FROM read_parquet({existing}) UNION ALL BY NAME ({sql})"  # noqa: S608
    with part_aside(target) as tmp:
        # In file order whatever path read it, so the same file always stages the same part.
        ordered = f"SELECT * FROM ({sql}) ORDER BY source_line"  # noqa: S608
        if in_line_order and keep_existing is None:
            ordered = sql  # a scan of the table keeps its order: nothing to sort
        [(read, loaded)] = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT ws_bad) FROM {table}"  # noqa: S608
        ).fetchall()
        rows = int(loaded) if keep_existing is None else 0  # 0: the default row groups
        options = parquet_options(rows, uuid.uuid4().hex)
        con.execute(f"COPY ({ordered}) TO {_sql_path(tmp)} {options}")
    return staged(ds, target, tmp, int(read), int(loaded), quarantined)


@contextmanager
def part_aside(target: Path) -> Iterator[Path]:
    """A hidden temporary name beside ``target`` for a part to be written to: synced to
    disk when the block ends (if written), removed when it fails. The caller then holds
    it as a :class:`PendingPart`, to commit or abort."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def staged(
    ds: Dataset,
    target: Path,
    tmp: Path,
    read: int,
    loaded: int,
    quarantined: list[QuarantinedRow],
) -> StageResult:
    """The part written to ``tmp`` as a :class:`StageResult`, once every failing row is
    known to be quarantined (the part is dropped otherwise: a row would be lost)."""
    if read - loaded != len(quarantined):
        tmp.unlink(missing_ok=True)
        raise AssertionError(
            f"{ds.name}: {read - loaded} rows failed but {len(quarantined)} were quarantined"
        )
    part = PendingPart(ds.name, target, tmp, loaded)
    return StageResult(part=part, read=read, loaded=loaded, quarantined=quarantined)


def abort_all(parts: Sequence[PendingPart]) -> None:
    """Drop every pending part."""
    for part in parts:
        part.abort()
