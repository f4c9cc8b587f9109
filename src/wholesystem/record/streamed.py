"""Check a source's rows and stage the good ones in one pass.

The two-pass way (:func:`~wholesystem.record.engine.check`, then
:func:`~wholesystem.record.engine.stage`) materialises every row with its checks in
DuckDB, then goes over them again to write the good rows' typed columns to Parquet.
Here one query reads, checks and types every row, and the good rows go to the part as
DuckDB hands them over (pyarrow's Parquet writer, which works while DuckDB reads on).
Only the failing rows, a fraction of a percent, are kept, with their values as read;
they are checked again on their own for their messages, exactly as the two-pass way
works them out. For a large extract this is about a third less work.

Two things are known only once every row has been seen, and this pass then gives way
(returns None, having written nothing) so that the caller takes the two-pass way:

* records that are not one a line (blank lines, line ends inside quoted values): each
  row's line needs the file's map of where its records start;
* a SNOMED CT code of a good row that fails its check digit: that row belongs in
  quarantine, not in the part.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wholesystem.record.engine import (
    PART_ID_KEY,
    QuarantinedRow,
    StageResult,
    check,
    part_aside,
    staged,
)
from wholesystem.record.schemas import CodeSystem, Dataset
from wholesystem.record.validate import check_sql, snomed_valid, typed_columns

__all__ = ["check_and_stage"]

_BATCH = 122_880  # rows a batch, and so a row group: DuckDB's own row group size
_BAD = "ws_bad"
_SOURCE = "ws_source"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _query(checked: str, typed: Sequence[str], source_columns: Sequence[str]) -> str:
    """Every row of ``checked`` (see :func:`~wholesystem.record.validate.check_sql`): the
    part's ``typed`` columns (``source_line`` left NULL: the row's place in the stream
    gives it), whether it fails, and for a failing row alone its source values as read."""
    values = ", ".join(f"{_lit(n)}: {_q(n)}" for n in source_columns)
    return (
        f"SELECT\n  {', '.join(typed)},\n  {_BAD}, "  # noqa: S608
        f"CASE WHEN {_BAD} THEN {{{values}}} END AS {_SOURCE}\n"
        f"FROM (SELECT NULL::BIGINT AS line, * FROM ({checked}))"
    )


def _writer(tmp: Path, schema: pa.Schema, part_id: str) -> pq.ParquetWriter:
    """A part's writer, its file as DuckDB's ``COPY`` writes one (see
    :func:`~wholesystem.record.engine.parquet_options`): zstd level 1, a small string
    dictionary page, decimals as integers, the part's id in the footer, and no Arrow
    schema beside it (so that every reader sees plain text where DuckDB gave an ENUM)."""
    writer = pq.ParquetWriter(
        str(tmp),
        schema,
        compression="zstd",
        compression_level=1,
        dictionary_pagesize_limit=65_536,
        store_decimal_as_integer=True,
        store_schema=False,  # which leaves the schema's metadata out too: added below
    )
    writer.add_key_value_metadata({PART_ID_KEY: part_id})
    return writer


def check_and_stage(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    source: str,
    source_columns: Sequence[str],
    target: Path,
    *,
    org_code: str,
    source_file: str,
    run_id: int,
    fmt: str,
    today: date,
    now: datetime,
    one_a_line: Callable[[int], bool],
    extra: Sequence[tuple[str, str]] = (),
) -> StageResult | None:
    """Check every row of ``source`` and write the good ones aside of ``target``, in one
    pass; None when the two-pass way must do it instead (see the module's docstring).

    ``source``: a relation with ``source_columns`` (``ds``'s columns as VARCHAR, ``_key``
    and any other ``_`` columns to keep with a quarantined row), its rows in file order
    from the first record, each record on its own line, so a row's line is its record
    number + 1; ``one_a_line(records)`` says whether a file of that many records is laid
    out so. ``extra``: checks beyond the dataset's (see
    :func:`~wholesystem.record.validate.unnamed_check`). A reader error propagates
    (``duckdb.Error``), with nothing written.
    """
    snomed = [c.name for c in ds.columns if c.code_system is CodeSystem.snomed]
    if any(ds.column(n).multiple for n in snomed):
        return None
    sql = _query(
        check_sql(ds, source, today, now, [cond for cond, _ in extra]),
        typed_columns(ds, org_code, source_file, run_id, fmt, safe=True),
        source_columns,
    )
    with part_aside(target) as tmp:
        written = _write(con, sql, tmp, snomed)
        if written is None or not one_a_line(written.records):
            tmp.unlink(missing_ok=True)
            return None
        quarantined = _quarantined(con, ds, written.bad, run_id, today, now, extra)
    failing = written.bad.num_rows
    return staged(ds, target, tmp, written.records, written.records - failing, quarantined)


@dataclass(frozen=True)
class _Written:
    """What the pass wrote: how many records it read, and the failing ones."""

    records: int
    bad: pa.Table


def _write(
    con: duckdb.DuckDBPyConnection, sql: str, tmp: Path, snomed: Sequence[str]
) -> _Written | None:
    """Run the pass: the good rows to ``tmp``, the failing ones (``line`` and their
    source values) kept; None when a good row's SNOMED CT code fails its check digit."""
    reader = con.sql(sql).to_arrow_reader(_BATCH)
    names = [n for n in reader.schema.names if n not in (_BAD, _SOURCE)]
    line_at = names.index("source_line")
    line_field = reader.schema.field("source_line")
    part_schema = pa.schema([reader.schema.field(n) for n in names])
    records = 0
    bad: list[pa.Table] = []
    codes: set[str] = set()
    with _writer(tmp, part_schema, uuid.uuid4().hex) as out, closing(reader):
        while (batch := _next(reader)) is not None:
            n = batch.num_rows
            lines = pa.array(np.arange(records + 2, records + 2 + n, dtype=np.int64))
            records += n
            failing = batch.column(_BAD)
            rows = pa.Table.from_batches([batch]).set_column(line_at, line_field, lines)
            good = rows.filter(pc.invert(failing)).select(names)
            out.write_table(good, row_group_size=_BATCH)
            for name in snomed:
                codes.update(c for c in pc.unique(good.column(name)).to_pylist() if c)
            if pc.any(failing).as_py():
                bad.append(rows.filter(failing).select(["source_line", _SOURCE]))
    if any(not snomed_valid(code) for code in codes):
        return None
    return _Written(records, pa.concat_tables(bad) if bad else _no_rows())


def _next(reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
    """The stream's next batch, None at its end. DuckDB's failure while it reads (a line
    the reader cannot split) reaches pyarrow's reader as an ``OSError``: it is given back
    as the ``duckdb.Error`` it is, so that the caller reads the file carefully, as when
    the two-pass way's read fails."""
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except OSError as exc:
        raise duckdb.Error(str(exc)) from exc


def _no_rows() -> pa.Table:
    return pa.table({"source_line": pa.array([], pa.int64())})


def _quarantined(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    bad: pa.Table,
    run_id: int,
    today: date,
    now: datetime,
    extra: Sequence[tuple[str, str]],
) -> list[QuarantinedRow]:
    """The failing rows checked again on their own, for their messages (see
    :func:`~wholesystem.record.engine.check`)."""
    if not bad.num_rows:
        return []
    values = bad.column(_SOURCE).combine_chunks()
    lines = bad.column("source_line").combine_chunks()
    columns = {"rec": pc.subtract(lines, 1), "line": lines}
    for i in range(values.type.num_fields):
        columns[values.type.field(i).name] = values.field(i)
    view = f"ws_failing_{run_id}"
    con.register(view, pa.table(columns))
    try:
        checked = check(con, ds, view, f"{view}_chk", today, now, extra=extra)
    finally:
        con.unregister(view)
        con.execute(f"DROP TABLE IF EXISTS {view}_chk")
    return checked.quarantined
