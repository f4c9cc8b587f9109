"""``wholesystem ingest``: partner extracts (CSV, FHIR R4, OMOP) into the staged lake tables.

One file is one :class:`~wholesystem.record.models.IngestRun`. A file-level fault rejects
that file only, with the reason, and writes nothing. Row-level problems send the row to
quarantine (``quarantine_row``) with its line, column, rule and the raw row, while the
good rows load. ``rows_read == rows_loaded + rows_quarantined`` for every loaded run.

Re-ingesting a file already loaded (same SHA-256, organisation and dataset) changes
nothing. A corrected file (same organisation, dataset and file name, new hash) replaces
its earlier version's rows, and the earlier run is marked superseded.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import duckdb
import pyarrow as pa
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access import audit
from wholesystem.record import fhir, omop
from wholesystem.record.engine import (
    Checked,
    FileRejected,
    PendingPart,
    QuarantinedRow,
    StageResult,
    abort_all,
    check,
    new_connection,
    stage,
)
from wholesystem.record.files import (
    UNNAMED,
    FileFacts,
    Header,
    RecordLines,
    check_not_truncated,
    read_facts,
    read_header,
    record_lines,
)
from wholesystem.record.models import IngestRun, QuarantineRow, QuarantineStatus, RunStatus
from wholesystem.record.schemas import DATASETS, Dataset, dataset, staged_datasets
from wholesystem.record.staging import (
    part_path,
    rebuild_source_identity,
    remove_part,
    write_identities,
)
from wholesystem.record.streamed import check_and_stage
from wholesystem.record.validate import constant_text, normalised, unnamed_check
from wholesystem.store.db import session_scope, utcnow
from wholesystem.store.lake import Lake
from wholesystem.store.runs import recorded_run

__all__ = [
    "INGEST_STEP",
    "UNMAPPED_TABLE",
    "Candidate",
    "FileOutcome",
    "IngestError",
    "IngestProgress",
    "IngestSummary",
    "ReplayError",
    "ReplayResult",
    "discover",
    "ingest_file",
    "ingest_path",
    "replay",
]

log = logging.getLogger("wholesystem.record")

INGEST_STEP = "ingest"
UNMAPPED_TABLE = "fhir_unmapped"
_SUFFIXES = {".csv", ".json", ".ndjson", ".jsonl"}
_ORG = re.compile(r"^[A-Z0-9]{2,16}$")
_MAX_LINE = 64 * 1024 * 1024
# The fast read gives DuckDB's CSV reader a buffer of about half the file, so that both
# threads read (a file read on several threads still fills its table in file order, and
# the row id numbers the rows). Never under DuckDB's default line limit, so a line the
# reader can hold always fits a buffer (a longer one fails the fast read and goes the
# careful way); never over 16 MiB, so a big file is shared out in several buffers.
_BUFFER_MIN = 2 * 1024 * 1024
_BUFFER_MAX = 16 * 1024 * 1024
# Files whose DuckDB work ingest_path runs at once: the checks and the Parquet write of
# a file of extract size run mostly on one thread, so one file at a time leaves the
# second core idle; a few more wait queued so that a worker never waits for the oldest
# file's outcome to be recorded.
_WORKERS = 2
_IN_FLIGHT = 4
_STAGED = frozenset(d.name for d in staged_datasets())
# Staged columns a CSV extract does not carry, as SQL templates over its (normalised)
# columns: ``{name}`` is that column's value, NULL when the file lacks the column. A
# constant is an ENUM, cheaper to write (see constant_text).
_CSV_DEFAULTS: dict[str, dict[str, str]] = {
    "gp_events": {
        "record_type": constant_text("event"),
        "code": "{snomed_code}",
        "code_system": (
            f"CASE WHEN {{snomed_code}} IS NOT NULL THEN {constant_text('snomed')} END"
        ),
    },
    "deaths": {
        "code": "{underlying_cause}",
        "code_system": (
            f"CASE WHEN {{underlying_cause}} IS NOT NULL THEN {constant_text('icd10')} END"
        ),
    },
}
# What a mapper from FHIR or OMOP cannot always fill, so need not be present there.
_RELAXED: dict[str, tuple[str, ...]] = {
    "gp_events": ("snomed_code", "event_date"),
    "allergies": ("code",),
}
_REJECT_RULES = {
    "MISSING COLUMNS": "too_few_fields",
    "TOO MANY COLUMNS": "too_many_fields",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
    "UNQUOTED VALUE": "bad_quoting",
    "INVALID UNICODE": "not_utf8",
}


class IngestError(ValueError):
    """Bad arguments: a path that does not exist, an organisation or dataset not given."""


@dataclass(frozen=True)
class Candidate:
    """One file to ingest, with the organisation and dataset it belongs to."""

    path: Path
    org_code: str
    dataset: str
    file_key: str  # the file's name under its dataset folder: what a correction replaces


@dataclass
class FileOutcome:
    """What happened to one file."""

    path: str
    org_code: str
    dataset: str
    status: str  # loaded, rejected or unchanged
    run_id: int | None
    reason: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    superseded: list[int] = field(default_factory=list)


@dataclass
class IngestSummary:
    """Every file's outcome, and the size of ``source_identity`` afterwards."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    identities: int | None = None

    def count(self, status: str) -> int:
        """How many files ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def rows(self) -> tuple[int, int, int]:
        """(read, loaded, quarantined) over every file loaded in this ingest."""
        loaded = [o for o in self.outcomes if o.status == "loaded"]
        return (
            sum(o.rows_read for o in loaded),
            sum(o.rows_loaded for o in loaded),
            sum(o.rows_quarantined for o in loaded),
        )


# --------------------------------------------------------------------------- discovery


def _dataset_for(folder: str, path: Path) -> str:
    if folder == "omop":
        return f"omop_{path.stem.lower()}"
    return folder


def _is_dataset_dir(path: Path) -> bool:
    return path.is_dir() and (path.name in DATASETS or path.name == "omop")


def _walk(dataset_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in dataset_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(dataset_dir).parts)
    )


def _candidates(org_dir: Path, org: str) -> list[Candidate]:
    found = []
    for ds_dir in sorted(p for p in org_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in _walk(ds_dir):
            found.append(
                Candidate(
                    file,
                    org,
                    _dataset_for(ds_dir.name, file),
                    file.relative_to(ds_dir).as_posix(),
                )
            )
    return found


def discover(
    path: Path, org: str | None = None, dataset_name: str | None = None
) -> list[Candidate]:
    """The files under ``path`` with their organisation and dataset.

    ``path`` may be a file (organisation and dataset from ``--org``/``--dataset`` or its
    folders ``<org>/<dataset>/file``), a dataset folder, an organisation folder, a folder
    of organisations laid out ``<org>/<dataset>/...`` or a synth output (its ``extracts``).
    """
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    if dataset_name is not None and dataset_name not in DATASETS:
        raise IngestError(f"unknown dataset {dataset_name!r}; known: {', '.join(DATASETS)}")
    if path.is_file():
        ds = dataset_name or _dataset_for(path.parent.name, path)
        owner = org or path.parent.parent.name
        if not owner:
            raise IngestError(f"cannot tell which organisation sent {path}: give --org")
        return [Candidate(path, owner, ds, path.name)]
    if (path / "extracts").is_dir():
        path = path / "extracts"
    if _is_dataset_dir(path) or dataset_name is not None:
        ds_name = dataset_name or path.name
        owner = org or path.parent.name
        return [
            Candidate(
                f,
                owner,
                _dataset_for(ds_name, f) if ds_name == "omop" else ds_name,
                f.relative_to(path).as_posix(),
            )
            for f in _walk(path)
        ]
    children = [p for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    if any(_is_dataset_dir(c) for c in children):
        return _candidates(path, org or path.name)
    found: list[Candidate] = []
    for child in children:
        if org is None or child.name == org:
            found.extend(_candidates(child, child.name))
    return found


# --------------------------------------------------------------------------- CSV reading


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _columns_struct(names: Sequence[str]) -> str:
    return "{" + ", ".join(f"{_sql_text(n)}: 'VARCHAR'" for n in names) + "}"


def _read_csv_sql(
    path: Path, names: Sequence[str], *, rejects: bool = True, buffer_size: int | None = None
) -> str:
    """``read_csv`` of every column as text; ``rejects``: keep bad lines in reject_errors.

    Without ``rejects`` (the fast read) any line the reader cannot split (too few or too
    many fields, bad quoting) or longer than DuckDB's default 2 MB fails the whole
    statement instead. ``buffer_size``: the reader's buffer (see :func:`_buffer_size`).
    """
    columns = _columns_struct(names)
    options = "store_rejects = true, max_line_size = " + str(_MAX_LINE) if rejects else ""
    if buffer_size is not None:
        options += (", " if options else "") + f"buffer_size = {int(buffer_size)}"
    return (
        f"read_csv({_sql_text(str(path))}, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', columns = {columns}, "
        f"{options + ', ' if options else ''}strict_mode = true, "
        f"null_padding = false, encoding = 'utf-8')"
    )


def _buffer_size(size: int) -> int:
    """The fast read's buffer for a file of ``size`` bytes: half of it, within bounds."""
    return min(max(-(-size // 2), _BUFFER_MIN), _BUFFER_MAX)


def _rejects(con: duckdb.DuckDBPyConnection, header_len: int) -> list[QuarantinedRow]:
    rows = con.execute(
        "SELECT line, any_value(csv_line), any_value(error_type), any_value(error_message) "
        "FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    out = []
    for line, raw_line, error_type, error_message in rows:
        kind = str(error_type)
        rule = _REJECT_RULES.get(kind, kind.lower().replace(" ", "_"))
        found = re.search(r"Found: (\d+)", str(error_message))
        if rule == "too_few_fields" and found:
            message = f"line has {found.group(1)} fields; the header has {header_len}"
        elif rule == "too_many_fields":
            message = f"line has more fields than the header's {header_len}"
        else:
            message = f"the line could not be read as CSV: {error_message}"
        # The reader's text of a line after blank ones begins with their line ends.
        text = raw_line.lstrip("\r\n") if isinstance(raw_line, str) else raw_line
        out.append(QuarantinedRow(int(line), "(row)", rule, message, {"_line": text}))
    return out


def _fix_lines(con: duckdb.DuckDBPyConnection, table: str, rejects: list[QuarantinedRow]) -> None:
    """Shift good rows' line numbers past the rejected lines that came before them."""
    if not rejects:
        return
    marks: dict[int, int] = {}
    for j, row in enumerate(rejects, start=1):
        marks[row.line - 1 - j] = j
    con.execute("CREATE OR REPLACE TEMP TABLE ws_rj (g BIGINT, j BIGINT)")
    con.executemany("INSERT INTO ws_rj VALUES (?, ?)", list(marks.items()))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT t.* REPLACE "  # noqa: S608
        f"(t.line + coalesce(r.j, 0) AS line) FROM {table} t ASOF LEFT JOIN ws_rj r ON t.rec > r.g"
    )


def _check_header(path: Path, facts: FileFacts, ds: Dataset) -> Header:
    header = read_header(path, facts)
    missing = [c for c in ds.required_columns if c not in header.names]
    if missing:
        raise FileRejected(
            "missing required column"
            + ("s" if len(missing) > 1 else "")
            + ": "
            + ", ".join(missing)
        )
    check_not_truncated(path, facts, header)
    return header


def _unnamed_checks(header: Header) -> list[tuple[str, str]]:
    """A check per column the header left blank at its end: a row with a value there
    is quarantined (see :func:`~wholesystem.record.validate.unnamed_check`)."""
    return [unnamed_check(n, int(n.removeprefix(UNNAMED))) for n in header.unnamed]


def _read_source(path: Path, names: list[str], projection: str) -> str:
    """A subquery over the CSV, bad lines kept aside: ``rec`` (record number), ``line``
    and ``projection``."""
    return (
        f"(SELECT ordinality AS rec, ordinality + 1 AS line, {projection} "  # noqa: S608
        f"FROM {_read_csv_sql(path, names)} WITH ORDINALITY)"
    )


def _read_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    facts: FileFacts,
    names: list[str],
    projection: str,
) -> list[QuarantinedRow]:
    """Read the CSV carefully into ``ws_raw`` (numbered, line numbers put right past the
    lines it could not split, and past blank lines and line ends inside quoted values);
    those lines come back, to quarantine."""
    _reading(
        con,
        "CREATE OR REPLACE TEMP TABLE ws_raw AS SELECT * FROM "  # noqa: S608
        + _read_source(path, names, projection),
    )
    rejects = _rejects(con, len(names))
    [(good,)] = con.execute("SELECT count(*) FROM ws_raw").fetchall()
    lines = _record_lines(path, facts, int(good) + len(rejects))
    if lines is None:
        _fix_lines(con, "ws_raw", rejects)
        return rejects
    # The reader's lines count blank lines but not line ends in quotes: make them record
    # numbers (+ 1, as if each record were one line), put the good rows' right past the
    # rejected ones in that numbering, then make every one a line of the file.
    for row in rejects:
        n = row.line
        if 0 < n <= lines.record_at.size and lines.record_at[n - 1]:
            row.line = int(lines.record_at[n - 1]) + 1
    _fix_lines(con, "ws_raw", rejects)
    _line_map(con, "ws_raw_map", lines, temporary=True)
    con.execute("UPDATE ws_raw SET line = m.line FROM ws_raw_map m WHERE ws_raw.line = m.rec + 1")
    con.execute("DROP TABLE ws_raw_map")
    _relined(rejects, lines)
    return rejects


def _record_lines(path: Path, facts: FileFacts, records: int) -> RecordLines | None:
    """Where ``path``'s ``records`` start, when they are not one a line after the header
    (blank lines, or line ends inside quoted values); None when they are, or when the
    file's bytes cannot be split into as many records as the reader read (then each row
    keeps its record number + 1 as its line: a wrong number, never a lost row)."""
    lines = facts.lines + (0 if facts.ends_with_newline else 1)
    if lines == records + 1:
        return None
    # A stray quote inside an unquoted value is text to the reader but flips the parity:
    # the count of records tells which reading the reader made.
    for quoted in (True, False):
        found = record_lines(path, quoted=quoted)
        if found.first_line.size == records:
            return found
    log.warning("%s: records and lines could not be matched; lines are record numbers", path)
    return None


def _line_map(
    con: duckdb.DuckDBPyConnection, table: str, lines: RecordLines, *, temporary: bool
) -> None:
    """``table`` (``rec``, ``line``): the line each record starts on."""
    records = pa.table(
        {
            "rec": pa.array(range(1, lines.first_line.size + 1), pa.int64()),
            "line": pa.array(lines.first_line, pa.int64()),
        }
    )
    con.register("ws_line_arrow", records)
    try:
        temp = "TEMP " if temporary else ""
        con.execute(
            f"CREATE OR REPLACE {temp}TABLE {table} AS SELECT * FROM ws_line_arrow"  # noqa: S608
        )
    finally:
        con.unregister("ws_line_arrow")


def _relined(rows: Sequence[QuarantinedRow], lines: RecordLines) -> None:
    """Each row's line, given as its record number + 1, made the line it starts on."""
    for row in rows:
        if 2 <= row.line <= lines.first_line.size + 1:
            row.line = int(lines.first_line[row.line - 2])


def _read_fast(path: Path, names: list[str], projection: str, size: int) -> str:
    """A subquery over the CSV, read on every thread: ``projection`` alone, unnumbered.

    ``WITH ORDINALITY`` would keep DuckDB's reader on one thread. A table filled
    straight from this read keeps the file's order, as DuckDB preserves insertion order,
    so a row's id is its record number (see :func:`~wholesystem.record.engine.check`).
    """
    read = _read_csv_sql(path, names, rejects=False, buffer_size=_buffer_size(size))
    return f"(SELECT {projection} FROM {read})"  # noqa: S608


def _reading(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a statement that reads a CSV; a reader error rejects the file."""
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRejected(f"could not be read as CSV: {first}") from None


@dataclass
class _Processed:
    parts: list[PendingPart]
    read: int
    loaded: int
    quarantined: list[QuarantinedRow]
    details: dict[str, Any]


class _Values(dict[str, str]):
    """Column values for :data:`_CSV_DEFAULTS`' templates: NULL for a column not sent."""

    def __missing__(self, key: str) -> str:
        return "NULL::VARCHAR"


def _project(
    ds: Dataset,
    present: Sequence[str],
    defaults: dict[str, str],
    extra: str,
    facts: FileFacts | None = None,
) -> str:
    """``ds``'s columns from ``present`` ones, normalised (trimmed as ``facts`` of the file
    they were read from allow; fully when None), then ``extra``."""
    if facts is None:
        values = _Values((n, normalised(n)) for n in present)
    else:
        values = _Values(
            (n, normalised(n, unicode_spaces=facts.unicode_spaces, padded=facts.padded))
            for n in present
        )
    cols = []
    for col in ds.columns:
        if col.name in present:
            cols.append(f'{values[col.name]} AS "{col.name}"')
        elif col.name in defaults:
            cols.append(f'{defaults[col.name].format_map(values)} AS "{col.name}"')
        else:
            cols.append(f'NULL::VARCHAR AS "{col.name}"')
    return ", ".join(cols) + (", " + extra if extra else "")


def _process_csv(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    ds: Dataset,
    run_id: int,
    facts: FileFacts,
    today: date,
    now: datetime,
) -> _Processed:
    header = _check_header(cand.path, facts, ds)
    names = list(header.names)
    extract = {c.name for c in ds.extract_columns}
    unnamed = "".join(
        f', {normalised(n, unicode_spaces=facts.unicode_spaces, padded=facts.padded)} AS "{n}"'
        for n in header.unnamed
    )
    projection = _project(
        ds,
        [n for n in names if n in extract],
        _CSV_DEFAULTS.get(ds.name, {}),
        "NULL::VARCHAR AS _key" + unnamed,
        facts,
    )
    extra = _unnamed_checks(header)
    rejects: list[QuarantinedRow] = []
    try:
        # Most files split cleanly: read them once, on every thread, without a reject
        # store, straight into the checks and, unless something needs every row seen
        # first, on to the part in the same pass.
        source = _read_fast(cand.path, names, projection, facts.size)
        result = check_and_stage(
            con,
            ds,
            source,
            [*(c.name for c in ds.columns), "_key", *header.unnamed],
            part_path(lake, ds.name, cand.org_code, cand.file_key),
            org_code=cand.org_code,
            source_file=str(cand.path),
            run_id=run_id,
            fmt="csv",
            today=today,
            now=now,
            one_a_line=lambda records: _record_lines(cand.path, facts, records) is None,
            extra=extra,
        ) or _two_passes(con, lake, cand, ds, run_id, source, facts, today, now, extra)
    except duckdb.Error:
        checked, rejects = _check_carefully(
            con, cand, facts, ds, names, projection, today, now, extra
        )
        in_order = not rejects and _in_file_order(con, checked.relation)
        result = _stage_file(con, lake, cand, ds, checked, run_id, "csv", in_line_order=in_order)
    bad = sorted(result.quarantined + rejects, key=lambda r: r.line)
    details: dict[str, Any] = {
        "header": names,
        "ignored_columns": [n for n in names if n not in extract and n not in header.unnamed],
        "parts": [_rel(lake, result.part.target)],
    }
    if header.unnamed or header.blank_tail:
        # A header ending in delimiters: its blank names, whether the rows carry them.
        details["unnamed_columns"] = list(header.unnamed)
        details["blank_header_tail"] = header.blank_tail
    return _Processed([result.part], result.read + len(rejects), result.loaded, bad, details)


def _two_passes(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    ds: Dataset,
    run_id: int,
    source: str,
    facts: FileFacts,
    today: date,
    now: datetime,
    extra: Sequence[tuple[str, str]],
) -> StageResult:
    """Check the fast read into a table (numbered by row id, so in file order by
    construction; lines put right when records are not one a line), then stage it."""
    checked = check(con, ds, source, "ws_chk", today, now, numbered=False, extra=extra)
    [(records,)] = con.execute("SELECT count(*) FROM ws_chk").fetchall()
    lines = _record_lines(cand.path, facts, int(records))
    if lines is not None:
        checked = _renumbered(con, checked, "ws_chk", lines, temporary=True)
    return _stage_file(con, lake, cand, ds, checked, run_id, "csv", in_line_order=lines is None)


def _renumbered(
    con: duckdb.DuckDBPyConnection,
    checked: Checked,
    table: str,
    lines: RecordLines,
    *,
    temporary: bool,
) -> Checked:
    """``checked`` (numbered by row id: see :func:`check`) with each row's true line,
    for a file whose records are not one a line."""
    _line_map(con, f"{table}_map", lines, temporary=temporary)
    temp = "TEMP " if temporary else ""
    con.execute(
        f"CREATE OR REPLACE {temp}VIEW {checked.relation} AS "  # noqa: S608
        f"SELECT t.rowid + 1 AS rec, coalesce(m.line, t.rowid + 2) AS line, t.* "
        f"FROM {table} t LEFT JOIN {table}_map m ON m.rec = t.rowid + 1"
    )
    _relined(checked.quarantined, lines)
    return checked


def _check_carefully(
    con: duckdb.DuckDBPyConnection,
    cand: Candidate,
    facts: FileFacts,
    ds: Dataset,
    names: list[str],
    projection: str,
    today: date,
    now: datetime,
    extra: Sequence[tuple[str, str]] = (),
) -> tuple[Checked, list[QuarantinedRow]]:
    """When the fast read fails (a line the reader cannot split, or any other failure):
    read the file again keeping such lines aside (quarantined) and put the good rows'
    line numbers right; what still fails rejects the file."""
    rejects = _read_raw(con, cand.path, facts, names, projection)
    try:
        return check(con, ds, "ws_raw", "ws_chk", today, now, extra=extra), rejects
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRejected(f"could not be read as CSV: {first}") from None


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    ds: Dataset,
    checked: Checked,
    run_id: int,
    fmt: str,
    *,
    in_line_order: bool = False,
) -> StageResult:
    """Write the good rows of ``checked`` aside as the part of ``ds`` from ``cand``'s file."""
    return stage(
        con,
        ds,
        checked,
        part_path(lake, ds.name, cand.org_code, cand.file_key),
        org_code=cand.org_code,
        source_file=str(cand.path),
        run_id=run_id,
        fmt=fmt,
        in_line_order=in_line_order,
    )


def _in_file_order(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table``'s rows are stored in their file order (record ``rec`` at row ``rec``).

    A table filled from a projection of the read keeps the file's order, as DuckDB
    preserves insertion order; this proves it for the table at hand (one integer
    comparison a row, far cheaper than the sort it saves).
    """
    [(misplaced,)] = con.execute(
        f"SELECT count(*) FILTER (WHERE rec <> rowid + 1) FROM {table}"  # noqa: S608
    ).fetchall()
    return int(misplaced) == 0


def _rel(lake: Lake, path: Path) -> str:
    return path.relative_to(lake.root).as_posix()


def _arrow_rows(ds: Dataset, rows: list[dict[str, str | None]]) -> pa.Table:
    names = [c.name for c in ds.columns] + ["_key", "_resource", "_dataset", "_qid"]
    data: dict[str, Any] = {n: pa.array([r.get(n) for r in rows], pa.string()) for n in names}
    data["line"] = pa.array([int(str(r["line"])) for r in rows], pa.int64())
    return pa.table(data)


def _process_fhir(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    run_id: int,
    today: date,
    now: datetime,
) -> _Processed:
    if cand.path.suffix.lower() not in {".json", ".ndjson", ".jsonl"}:
        raise FileRejected(
            f"gp_fhir files must be .json (one Bundle) or .ndjson (a Bundle a line), "
            f"not {cand.path.suffix or 'a file without an extension'}"
        )
    mapped = fhir.map_bundles(cand.path, cand.org_code)
    parts: list[PendingPart] = []
    loaded = 0
    bad: list[QuarantinedRow] = []
    try:
        for name, rows in mapped.rows.items():
            ds = DATASETS[name].relaxed(*_RELAXED.get(name, ()))
            con.register("ws_fhir_rows", _arrow_rows(ds, rows))
            checked = check(con, ds, "ws_fhir_rows", "ws_chk", today, now)
            result = _stage_file(con, lake, cand, ds, checked, run_id, "fhir")
            con.unregister("ws_fhir_rows")
            parts.append(result.part)
            loaded += result.loaded
            bad.extend(result.quarantined)
        parts.append(_unmapped_part(con, lake, cand, run_id, mapped.unmapped))
    except BaseException:
        abort_all(parts)
        raise
    details = {
        "resources": dict(sorted(mapped.resource_counts.items())),
        "unmapped": len(mapped.unmapped),
        "parts": [_rel(lake, p.target) for p in parts],
    }
    loaded += len(mapped.unmapped)
    return _Processed(parts, mapped.entries, loaded, sorted(bad, key=lambda r: r.line), details)


def _unmapped_part(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    run_id: int,
    rows: list[dict[str, str | None]],
) -> PendingPart:
    table = pa.table(
        {
            "org_code": pa.array([cand.org_code] * len(rows), pa.string()),
            "source_file": pa.array([str(cand.path)] * len(rows), pa.string()),
            "source_line": pa.array([int(str(r["line"])) for r in rows], pa.int64()),
            "ingest_run_id": pa.array([run_id] * len(rows), pa.int64()),
            "resource_type": pa.array([r["resource_type"] for r in rows], pa.string()),
            "resource_id": pa.array([r["resource_id"] for r in rows], pa.string()),
            "where_found": pa.array([r["where_found"] for r in rows], pa.string()),
            "resource_json": pa.array([r["resource_json"] for r in rows], pa.string()),
        }
    )
    con.register("ws_unmapped", table)
    target = (
        lake.root
        / UNMAPPED_TABLE
        / cand.org_code
        / f"{part_path(lake, 'x', 'x', cand.file_key).name}"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{run_id}.tmp"
    con.execute(f"COPY ws_unmapped TO {_sql_text(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    con.unregister("ws_unmapped")
    return PendingPart(UNMAPPED_TABLE, target, tmp, len(rows))


def _omop_person(con: duckdb.DuckDBPyConnection, cand: Candidate) -> None:
    person_cols = [c.name for c in DATASETS["omop_person"].columns]
    empty = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in person_cols)
    con.execute(f"CREATE OR REPLACE TEMP TABLE ws_person AS SELECT {empty} WHERE false")
    person = cand.path.parent / "person.csv"
    if not person.is_file():
        return
    try:
        facts = read_facts(person)
        names = list(read_header(person, facts).names)
        if "person_id" not in names:
            return
        cols = ", ".join(f'"{c}"' if c in names else f'NULL::VARCHAR AS "{c}"' for c in person_cols)
        sub = duckdb.connect(":memory:")
        try:
            tbl = sub.sql(
                f"SELECT {cols} FROM read_csv({_sql_text(str(person))}, header = true, "  # noqa: S608
                f"auto_detect = false, all_varchar = true, ignore_errors = true, "
                f"columns = {_columns_struct(names)})"
            ).to_arrow_table()
        finally:
            sub.close()
        con.register("ws_person_arrow", tbl)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ws_person AS SELECT * FROM ws_person_arrow "
            "QUALIFY row_number() OVER (PARTITION BY trim(person_id)) = 1"
        )
        con.unregister("ws_person_arrow")
    except (FileRejected, duckdb.Error):
        log.warning("OMOP person file %s unreadable; identities left blank", person)


def _process_omop(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    cand: Candidate,
    ds: Dataset,
    run_id: int,
    facts: FileFacts,
    today: date,
    now: datetime,
) -> _Processed:
    header = _check_header(cand.path, facts, ds)
    if header.unnamed:  # OMOP tables are read by name: a value with none has no place
        where = ", ".join(n.removeprefix(UNNAMED) for n in header.unnamed)
        raise FileRejected(f"blank column header at position {where}")
    names = list(header.names)
    trimmed = ", ".join(
        f'{normalised(n, unicode_spaces=facts.unicode_spaces, padded=facts.padded)} AS "{n}"'
        for n in names
    )
    rejects = _read_raw(con, cand.path, facts, names, trimmed)
    declared = [c.name for c in ds.columns]
    fill = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in declared if c not in names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ws_src AS SELECT *{', ' + fill if fill else ''} FROM ws_raw"  # noqa: S608
    )
    mapping = omop.mapping_for(ds.name)
    if ds.name == "omop_person":
        joined = "ws_src s POSITIONAL JOIN ws_src p"
    else:
        _omop_person(con, cand)
        joined = "ws_src s LEFT JOIN ws_person p ON trim(p.person_id) = trim(s.person_id)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ws_mapped AS SELECT s.rec, s.line, {mapping.select} "  # noqa: S608
        f"FROM {joined}"
    )
    present = [r[0] for r in con.execute("DESCRIBE ws_mapped").fetchall()]
    parts: list[PendingPart] = []
    loaded = read = 0
    bad: list[QuarantinedRow] = list(rejects)
    try:
        for name in mapping.targets:
            target_ds = DATASETS[name].relaxed(*_RELAXED.get(name, ()))
            projection = _project(target_ds, present, {}, "line, _key, _target AS _dataset")
            source = f"(SELECT {projection} FROM ws_mapped WHERE _target = {_sql_text(name)})"  # noqa: S608
            checked = check(con, target_ds, source, "ws_chk", today, now)
            result = _stage_file(con, lake, cand, target_ds, checked, run_id, "omop")
            parts.append(result.part)
            loaded += result.loaded
            read += result.read
            bad.extend(result.quarantined)
    except BaseException:
        abort_all(parts)
        raise
    details = {
        "header": names,
        "parts": [_rel(lake, p.target) for p in parts],
        "mapped_to": list(mapping.targets),
    }
    return _Processed(
        parts, read + len(rejects), loaded, sorted(bad, key=lambda r: r.line), details
    )


# --------------------------------------------------------------------------- runs


def _finish_rejected(factory: sessionmaker[Session], run_id: int, reason: str, actor: str) -> None:
    with session_scope(factory) as s:
        run = s.get_one(IngestRun, run_id)
        run.status, run.reason, run.finished_at = RunStatus.rejected, reason, utcnow()
        run.rows_read = run.rows_loaded = run.rows_quarantined = 0
        audit.append(
            s,
            actor=actor,
            action="ingest.reject",
            object_type="ingest_run",
            object_id=str(run_id),
            detail={"file": run.file_path, "sha256": run.sha256, "reason": reason[:500]},
        )


def _quarantine_values(run_id: int, rows: Sequence[QuarantinedRow]) -> list[dict[str, Any]]:
    """The ``quarantine_row`` rows for ``rows``, for one bulk INSERT (no ORM objects)."""
    return [
        {
            "run_id": run_id,
            "line": r.line,
            "column_name": r.column[:100],
            "rule": r.rule[:64],
            "message": r.message,
            "raw": r.raw,
            "status": QuarantineStatus.open,
        }
        for r in rows
    ]


def _already(s: Session, cand: Candidate, sha: str) -> IngestRun | None:
    loaded = s.scalars(
        select(IngestRun)
        .where(
            IngestRun.org_code == cand.org_code,
            IngestRun.dataset == cand.dataset,
            IngestRun.sha256 == sha,
            IngestRun.status == RunStatus.loaded,
        )
        .order_by(IngestRun.id.desc())
    ).first()
    if loaded is not None:
        return loaded
    return s.scalars(
        select(IngestRun)
        .where(
            IngestRun.org_code == cand.org_code,
            IngestRun.dataset == cand.dataset,
            IngestRun.file_name == cand.file_key,
            IngestRun.sha256 == sha,
            IngestRun.status == RunStatus.rejected,
        )
        .order_by(IngestRun.id.desc())
    ).first()


def _file_format(ds_name: str) -> str:
    ds = DATASETS.get(ds_name)
    return ds.format if ds is not None else "unknown"


@dataclass
class _Started:
    """A file with its run record created, ready for the DuckDB work."""

    cand: Candidate
    run_id: int
    facts: FileFacts
    today: date
    now: datetime


def _unknown_dataset(name: str) -> str:
    """Why a file of dataset ``name``, not one of ours, is not loaded."""
    if name.startswith("omop_"):
        # A whole OMOP export holds tables we do not read (location, provider, the
        # vocabularies...): say which ones we do, not that the dataset is unknown.
        read = ", ".join(d.removeprefix("omop_") for d in DATASETS if d.startswith("omop_"))
        return (
            f"OMOP table {name.removeprefix('omop_')!r} is not one wholesystem reads "
            f"(it reads {read}); the file was not loaded"
        )
    return f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}"


def _inspect(cand: Candidate) -> tuple[FileFacts | None, str | None]:
    """Hash and check the file, touching no database: its facts and why it is refused."""
    facts: FileFacts | None = None
    early: str | None = None
    try:
        facts = read_facts(cand.path)
    except FileRejected as exc:
        early = exc.reason
    if early is None and facts is not None and facts.problem:
        early = facts.problem
    if early is None and not _ORG.match(cand.org_code):
        early = (
            f"organisation code {cand.org_code!r} is not an ODS-style code (2-16 capital "
            "letters or digits); put the file under a folder named for the organisation"
        )
    if early is None and cand.dataset not in DATASETS:
        early = _unknown_dataset(cand.dataset)
    if early is None and cand.path.suffix.lower() not in _SUFFIXES:
        early = (
            f"unsupported file type {cand.path.suffix or '(none)'!r}: send .csv, .json or .ndjson"
        )
    if (
        early is None
        and _file_format(cand.dataset) in ("csv", "omop")
        and cand.path.suffix.lower() != ".csv"
    ):
        early = f"{cand.dataset} files must be CSV (.csv), not {cand.path.suffix}"
    return facts, early


def _start(
    factory: sessionmaker[Session],
    cand: Candidate,
    facts: FileFacts | None,
    early: str | None,
    *,
    actor: str,
    today: date | None,
) -> _Started | FileOutcome:
    """Create the file's run record; a final outcome when it is unchanged or refused."""
    now = utcnow()
    outcome = FileOutcome(str(cand.path), cand.org_code, cand.dataset, "rejected", None)
    sha = facts.sha256 if facts else ""
    with session_scope(factory) as s:
        if sha:
            previous = _already(s, cand, sha)
            if previous is not None:
                outcome.status, outcome.run_id = "unchanged", previous.id
                outcome.reason = f"already {previous.status} as run {previous.id}"
                return outcome
        run = IngestRun(
            actor=actor,
            org_code=cand.org_code[:16],
            dataset=cand.dataset[:32],
            file_path=str(cand.path),
            file_name=cand.file_key[:300],
            sha256=sha,
            format=_file_format(cand.dataset),
            status=RunStatus.running,
            reason="",
            details={},
        )
        s.add(run)
        s.flush()
        run_id = run.id
    outcome.run_id = run_id
    if early is not None or facts is None:
        outcome.reason = early or "unreadable"
        _finish_rejected(factory, run_id, outcome.reason, actor)
        return outcome
    return _Started(cand, run_id, facts, today or now.astimezone(UTC).date(), now)


def _process(
    con: duckdb.DuckDBPyConnection, lake: Lake, started: _Started
) -> _Processed | FileRejected:
    """The DuckDB work for one file: its staged parts written aside, or why it is refused.

    Touches no database, so files can be processed side by side. ``con`` is the file's
    own cursor, closed here.
    """
    cand, run_id, facts = started.cand, started.run_id, started.facts
    today, now = started.today, started.now
    ds = DATASETS[cand.dataset]
    try:
        if ds.format == "csv":
            processed = _process_csv(con, lake, cand, ds, run_id, facts, today, now)
        elif ds.format == "fhir":
            processed = _process_fhir(con, lake, cand, run_id, today, now)
        else:
            processed = _process_omop(con, lake, cand, ds, run_id, facts, today, now)
        try:
            # Each part's identities now, on this worker, while the part is fresh: the
            # source_identity rebuild after the ingest then only gathers them.
            for part in processed.parts:
                if part.dataset in _STAGED:
                    write_identities(con, lake, part.dataset, part.target, part.tmp)
        except BaseException:
            abort_all(processed.parts)
            raise
        return processed
    except FileRejected as exc:
        return exc
    except (duckdb.Error, OSError, ValueError) as exc:
        log.exception("ingest of %s failed", cand.path)
        return FileRejected(
            f"could not be read: {type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
        )
    finally:
        con.close()


def _finish(
    factory: sessionmaker[Session],
    lake: Lake,
    started: _Started,
    result: _Processed | FileRejected,
    *,
    actor: str,
) -> FileOutcome:
    """Record the file's outcome: load its rows (parts, quarantine, audit) or refuse it."""
    cand = started.cand
    outcome = FileOutcome(str(cand.path), cand.org_code, cand.dataset, "rejected", started.run_id)
    if isinstance(result, FileRejected):
        outcome.reason = result.reason
        _finish_rejected(factory, started.run_id, result.reason, actor)
        return outcome
    try:
        superseded = _commit_loaded(factory, lake, started.run_id, cand, result, actor)
    except BaseException:
        abort_all(result.parts)
        raise
    outcome.status = "loaded"
    outcome.rows_read, outcome.rows_loaded = result.read, result.loaded
    outcome.rows_quarantined = len(result.quarantined)
    outcome.superseded = superseded
    return outcome


def ingest_file(
    factory: sessionmaker[Session],
    lake: Lake,
    cand: Candidate,
    *,
    actor: str,
    today: date | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> FileOutcome:
    """Ingest one file; never raises for anything wrong with the file itself.

    ``connection`` (from :func:`~wholesystem.record.engine.new_connection`), when given,
    is shared: the file gets a cursor of it, with temporary tables of its own, rather
    than a new database.
    """
    facts, early = _inspect(cand)
    started = _start(factory, cand, facts, early, actor=actor, today=today)
    if isinstance(started, FileOutcome):
        return started
    con = connection.cursor() if connection is not None else new_connection()
    processed = _process(con, lake, started)
    return _finish(factory, lake, started, processed, actor=actor)


def _commit_loaded(
    factory: sessionmaker[Session],
    lake: Lake,
    run_id: int,
    cand: Candidate,
    processed: _Processed,
    actor: str,
) -> list[int]:
    if processed.read != processed.loaded + len(processed.quarantined):
        raise AssertionError(
            f"row accounting broke for {cand.path}: read {processed.read}, loaded "
            f"{processed.loaded}, quarantined {len(processed.quarantined)}"
        )
    stale: set[str] = set()
    with session_scope(factory) as s:
        older = s.scalars(
            select(IngestRun).where(
                IngestRun.org_code == cand.org_code,
                IngestRun.dataset == cand.dataset,
                IngestRun.file_name == cand.file_key,
                IngestRun.status == RunStatus.loaded,
                IngestRun.id != run_id,
            )
        ).all()
        superseded = []
        for old in older:
            old.status, old.superseded_by = RunStatus.superseded, run_id
            stale.update(old.details.get("parts", []))
            superseded.append(old.id)
        run = s.get_one(IngestRun, run_id)
        run.status, run.finished_at = RunStatus.loaded, utcnow()
        run.rows_read, run.rows_loaded = processed.read, processed.loaded
        run.rows_quarantined = len(processed.quarantined)
        run.details = processed.details | ({"supersedes": superseded} if superseded else {})
        if processed.quarantined:
            # A Core executemany: no ORM objects to build for thousands of rows.
            table = cast(Table, QuarantineRow.__table__)
            s.execute(insert(table), _quarantine_values(run_id, processed.quarantined))
        audit.append(
            s,
            actor=actor,
            action="ingest.load",
            object_type="ingest_run",
            object_id=str(run_id),
            detail={
                "file": str(cand.path),
                "sha256": run.sha256,
                "org_code": cand.org_code,
                "dataset": cand.dataset,
                "rows_read": processed.read,
                "rows_loaded": processed.loaded,
                "rows_quarantined": len(processed.quarantined),
                "supersedes": superseded,
            },
        )
    for part in processed.parts:
        part.commit()
    for rel in stale - set(processed.details.get("parts", [])):
        remove_part(lake.root / rel)
    return superseded


# Told how far an ingest has got: ("files", done, total) as each file's outcome is
# recorded (first with 0 done), then ("identities", 0, 1) and ("identities", 1, 1) around
# the source_identity rebuild.
IngestProgress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class _InFlight:
    started: _Started
    future: Future[_Processed | FileRejected]


def _ingest_all(
    factory: sessionmaker[Session],
    lake: Lake,
    candidates: Sequence[Candidate],
    connecting: Future[duckdb.DuckDBPyConnection],
    pool: ThreadPoolExecutor,
    *,
    actor: str,
    today: date | None,
    progress: IngestProgress = _no_progress,
) -> list[FileOutcome]:
    """Every candidate's outcome, in order, with the DuckDB work of several files at once.

    Only the DuckDB work runs on the pool. Run records are created, and outcomes
    recorded (parts, quarantine, audit), on this thread in the candidates' order, so the
    run ids and the audit chain are those of one file after another; and a file of an
    organisation and dataset still in flight waits for it, so whether it is unchanged
    and what it supersedes are decided as one file after another would decide them.
    """
    outcomes: list[FileOutcome | None] = [None] * len(candidates)
    flying: deque[tuple[int, _InFlight]] = deque()
    done = 0

    def record(i: int, outcome: FileOutcome) -> None:
        nonlocal done
        outcomes[i] = outcome
        done += 1
        progress("files", done, len(candidates))

    def land_oldest() -> None:
        i, flight = flying.popleft()
        record(i, _finish(factory, lake, flight.started, flight.future.result(), actor=actor))

    try:
        for i, cand in enumerate(candidates):
            facts, early = _inspect(cand)
            same = (cand.org_code, cand.dataset)
            while flying and (
                early is not None
                or len(flying) >= _IN_FLIGHT
                or any((f.started.cand.org_code, f.started.cand.dataset) == same for _, f in flying)
            ):
                land_oldest()  # a refusal's audit entry must follow every earlier file's
            started = _start(factory, cand, facts, early, actor=actor, today=today)
            if isinstance(started, FileOutcome):
                record(i, started)
                continue
            future = pool.submit(_process, connecting.result().cursor(), lake, started)
            flying.append((i, _InFlight(started, future)))
        while flying:
            land_oldest()
    except BaseException as exc:
        # Nothing more is recorded but this: every file still in flight is refused and
        # its parts dropped, so no run is left running.
        for _, flight in flying:
            try:
                result = flight.future.result()
            except BaseException:  # noqa: S112 - the first failure is the one raised
                continue
            if isinstance(result, _Processed):
                abort_all(result.parts)
            with suppress(Exception):
                _finish_rejected(
                    factory,
                    flight.started.run_id,
                    f"not finished: the ingest stopped ({type(exc).__name__})",
                    actor,
                )
        raise
    return [o for o in outcomes if o is not None]


def ingest_path(
    factory: sessionmaker[Session],
    lake: Lake,
    path: Path,
    *,
    actor: str,
    org: str | None = None,
    dataset_name: str | None = None,
    today: date | None = None,
    progress: IngestProgress | None = None,
) -> IngestSummary:
    """Ingest every file under ``path``, then rebuild ``source_identity``.

    Files are processed :data:`_WORKERS` at a time (see :func:`_ingest_all`); the
    outcome is the same as ingesting them one after another in order. ``progress`` is
    told how far it has got (see :data:`IngestProgress`).
    """
    tell = progress or _no_progress
    summary = IngestSummary()
    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="ingest")
    try:
        # DuckDB starts a database in about the time the first file's checks before its
        # DuckDB work take: let them overlap.
        connecting = pool.submit(new_connection)
        try:
            candidates = discover(path, org, dataset_name)
            tell("files", 0, len(candidates))
            with recorded_run(factory, INGEST_STEP) as record:
                summary.outcomes = _ingest_all(
                    factory,
                    lake,
                    candidates,
                    connecting,
                    pool,
                    actor=actor,
                    today=today,
                    progress=tell,
                )
                if summary.count("loaded") or not lake.exists("source_identity"):
                    tell("identities", 0, 1)
                    summary.identities = rebuild_source_identity(lake, connecting.result())
                    tell("identities", 1, 1)
                read, loaded, quarantined = summary.rows
                record.summary = (
                    f"{summary.count('loaded')} files loaded, {summary.count('rejected')} "
                    f"rejected, {summary.count('unchanged')} unchanged; {read:,} rows read, "
                    f"{loaded:,} loaded, {quarantined:,} quarantined"
                )
                record.details = {
                    "files": len(candidates),
                    "loaded": summary.count("loaded"),
                    "rejected": summary.count("rejected"),
                    "unchanged": summary.count("unchanged"),
                    "rows_read": read,
                    "rows_loaded": loaded,
                    "rows_quarantined": quarantined,
                    "runs": [o.run_id for o in summary.outcomes if o.run_id is not None][:1000],
                }
        finally:
            # Tearing the scratch database down (freeing what the checks held) takes as
            # long as a small file's part write, and nothing waits on it: the pool does it
            # after the caller has its summary.
            pool.submit(_close, connecting)
    finally:
        pool.shutdown(wait=False)
    return summary


def _close(connecting: Future[duckdb.DuckDBPyConnection]) -> None:
    with suppress(Exception):  # a database that never started has nothing to close
        connecting.result().close()


# --------------------------------------------------------------------------- replay


@dataclass
class ReplayResult:
    """How many quarantined rows passed (and were staged) and how many still fail."""

    run_id: int
    passed: int = 0
    still_failing: int = 0


class ReplayError(ValueError):
    """A replay that cannot happen (unknown run, superseded run, unknown row)."""


def _parse_raw_line(raw_line: str, header: list[str]) -> dict[str, str | None]:
    values = next(csv.reader([raw_line]), [])
    if len(values) != len(header):
        return {"_line": raw_line}
    return {n: (v if v != "" else None) for n, v in zip(header, values, strict=True)}


def replay(
    factory: sessionmaker[Session],
    lake: Lake,
    run_id: int,
    *,
    actor: str,
    fixes: dict[int, dict[str, str | None]] | None = None,
    row_ids: Sequence[int] | None = None,
    today: date | None = None,
) -> ReplayResult:
    """Re-validate a run's open quarantined rows, with ``fixes`` (row id → column → value).

    A row that now passes is staged (appended to the run's part) and marked ``fixed`` (it
    was corrected) or ``replayed``; one that still fails stays open with its new reason.
    """
    fixes = fixes or {}
    now = utcnow()
    today = today or now.date()
    with session_scope(factory) as s:
        run = s.get(IngestRun, run_id)
        if run is None:
            raise ReplayError(f"there is no ingest run {run_id}")
        if run.status != RunStatus.loaded:
            raise ReplayError(
                f"run {run_id} is {run.status}; only rows of a loaded run can be re-played"
            )
        query = select(QuarantineRow).where(
            QuarantineRow.run_id == run_id, QuarantineRow.status == QuarantineStatus.open
        )
        if row_ids is not None:
            query = query.where(QuarantineRow.id.in_(list(row_ids)))
        rows = list(s.scalars(query.order_by(QuarantineRow.id)))
        header = list(run.details.get("header", []))
        org, file_key, fmt, path = run.org_code, run.file_name, run.format, run.file_path
        base_dataset = run.dataset
    unknown = set(fixes) - {r.id for r in rows}
    if unknown:
        raise ReplayError(f"row {min(unknown)} is not an open quarantined row of run {run_id}")
    result = ReplayResult(run_id)
    if not rows:
        return result
    prepared: dict[int, dict[str, Any]] = {}
    for row in rows:
        raw = dict(row.raw) | dict(fixes.get(row.id, {}))
        if "_line" in raw and set(raw) == {"_line"} and header:
            raw = _parse_raw_line(str(raw["_line"]), header)
        prepared[row.id] = raw
    by_dataset: dict[str, list[int]] = {}
    for row in rows:
        raw = prepared[row.id]
        name = str(raw.get("_dataset") or base_dataset)
        if fmt == "omop" or fmt == "fhir":
            name = str(raw.get("_dataset") or name)
        by_dataset.setdefault(name, []).append(row.id)
    outcomes: dict[int, QuarantinedRow | None] = {}
    parts: list[PendingPart] = []
    con = new_connection()
    try:
        for name, ids in by_dataset.items():
            ds = dataset(name)
            if fmt != "csv":
                ds = ds.relaxed(*_RELAXED.get(name, ()))
            table_rows = []
            for i in ids:
                raw = prepared[i]
                if set(raw) == {"_line"}:
                    outcomes[i] = QuarantinedRow(
                        0,
                        "(row)",
                        "too_few_fields" if header else "bad_row",
                        "the row still does not have one value per column",
                        raw,
                    )
                    continue
                entry: dict[str, str | None] = {
                    k: (None if v is None or not str(v).strip() else str(v).strip())
                    for k, v in raw.items()
                }
                entry["line"] = str(next(r.line for r in rows if r.id == i))
                entry["_qid"] = str(i)  # the quarantine row, to map the outcome back
                table_rows.append(entry)
            if not table_rows:
                continue
            con.register("ws_replay_rows", _arrow_rows(ds, table_rows))
            checked = check(con, ds, "ws_replay_rows", "ws_chk", today, now)
            target = part_path(lake, name, org, file_key)
            staged = stage(
                con,
                ds,
                checked,
                target,
                org_code=org,
                source_file=path,
                run_id=run_id,
                fmt=fmt,
                keep_existing=target,
            )
            con.unregister("ws_replay_rows")
            parts.append(staged.part)
            failed = {int(str(q.raw.pop("_qid"))): q for q in staged.quarantined}
            for entry in table_rows:
                outcomes[int(str(entry["_qid"]))] = failed.get(int(str(entry["_qid"])))
    except BaseException:
        abort_all(parts)
        raise
    finally:
        con.close()
    with session_scope(factory) as s:
        run = s.get_one(IngestRun, run_id)
        for row in s.scalars(select(QuarantineRow).where(QuarantineRow.id.in_(list(outcomes)))):
            failure = outcomes[row.id]
            if failure is None:
                row.status = (
                    QuarantineStatus.fixed if row.id in fixes else QuarantineStatus.replayed
                )
                row.resolved_at, row.resolved_by = now, actor
                row.raw = prepared[row.id]
                result.passed += 1
            else:
                row.column_name, row.rule = failure.column[:100], failure.rule[:64]
                row.message, row.raw = failure.message, prepared[row.id]
                result.still_failing += 1
        run.rows_loaded += result.passed
        run.rows_quarantined -= result.passed
        run.details = dict(run.details) | {
            "replayed": int(run.details.get("replayed", 0)) + result.passed
        }
        audit.append(
            s,
            actor=actor,
            action="ingest.replay",
            object_type="ingest_run",
            object_id=str(run_id),
            detail={
                "rows": sorted(outcomes),
                "passed": result.passed,
                "still_failing": result.still_failing,
                "fixed_rows": sorted(fixes),
            },
        )
    for part in parts:
        part.commit()
    if result.passed:
        rebuild_source_identity(lake)
    return result
