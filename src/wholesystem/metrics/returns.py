# ruff: noqa: S608 - SQL here is built from this module's own fragments, constant code
# lists and ISO dates from date objects; no value read from data is spliced into SQL.
"""Monthly aggregate returns (finance, workforce, beds) into the lake, validated row by row.

Each return is a CSV, one row per organisation and month (and category or staff group).
A file missing a required column is rejected with the reason and writes nothing. Every
other file loads: rows that fail a rule (a malformed month, an unknown organisation, a
negative or non-numeric value, a duplicate key) go to the ``return_quarantine`` lake table
with the file, the line and the reason, and the good rows replace that return's lake table
(``return_finance``, ``return_workforce``, ``return_beds``). Loading the same files twice
gives the same tables. Money is DECIMAL(18,2).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from wholesystem.store.lake import Lake

__all__ = [
    "FINANCE_CATEGORIES",
    "QUARANTINE_TABLE",
    "RETURNS",
    "FileOutcome",
    "ReturnSpec",
    "ReturnsError",
    "load_return",
    "load_returns",
]

QUARANTINE_TABLE = "return_quarantine"

# The finance return's categories: income, the four cost lines of the income and
# expenditure position, efficiency savings (a memorandum line) and capital (outside I&E).
FINANCE_CATEGORIES = (
    "income",
    "pay_medical",
    "pay_nursing",
    "pay_other",
    "non_pay",
    "efficiency_savings",
    "capital",
)


class ReturnsError(ValueError):
    """Nothing to load (no folder, no return files)."""


@dataclass(frozen=True)
class Column:
    """One column of a return: how it is typed and checked."""

    name: str
    kind: str  # org, month, key, money, decimal, rate, count
    sql_type: str = "VARCHAR"


@dataclass(frozen=True)
class ReturnSpec:
    """One kind of return: its file name, lake table, columns and key."""

    name: str
    file_name: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


_ORG = Column("org_code", "org")
_MONTH = Column("month", "month", "DATE")

RETURNS: tuple[ReturnSpec, ...] = (
    ReturnSpec(
        "finance",
        "finance.csv",
        "return_finance",
        (
            _ORG,
            _MONTH,
            Column("category", "key"),
            Column("plan", "money", "DECIMAL(18,2)"),
            Column("actual", "money", "DECIMAL(18,2)"),
            Column("forecast", "money", "DECIMAL(18,2)"),
        ),
        ("org_code", "month", "category"),
        {"category": FINANCE_CATEGORIES},
    ),
    ReturnSpec(
        "workforce",
        "workforce.csv",
        "return_workforce",
        (
            _ORG,
            _MONTH,
            Column("staff_group", "key"),
            Column("wte_in_post", "decimal", "DECIMAL(18,2)"),
            Column("wte_vacancy", "decimal", "DECIMAL(18,2)"),
            Column("sickness_rate", "rate", "DECIMAL(9,4)"),
            Column("bank_spend", "money", "DECIMAL(18,2)"),
            Column("agency_spend", "money", "DECIMAL(18,2)"),
        ),
        ("org_code", "month", "staff_group"),
    ),
    ReturnSpec(
        "beds",
        "beds.csv",
        "return_beds",
        (
            _ORG,
            _MONTH,
            Column("core_beds", "count", "INTEGER"),
            Column("escalation_beds", "count", "INTEGER"),
            Column("occupied", "count", "INTEGER"),
            Column("no_criteria_to_reside", "count", "INTEGER"),
        ),
        ("org_code", "month"),
    ),
)

_QUARANTINE_SCHEMA = pa.schema(
    [
        ("return_name", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass(frozen=True)
class FileOutcome:
    """What became of one return file."""

    return_name: str
    path: str
    status: str  # loaded, rejected
    reason: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rule(column: Column) -> str:
    """A SQL expression giving the reason ``column``'s value is bad, or NULL when it is good."""
    c = f'"{column.name}"'
    blank = f"WHEN {c} IS NULL OR trim({c}) = '' THEN '{column.name}: blank'"
    if column.kind == "org":
        return (
            f"CASE {blank} WHEN trim({c}) NOT IN (SELECT code FROM known_org) "
            f"THEN '{column.name}: unknown organisation ' || trim({c}) END"
        )
    if column.kind == "month":
        return (
            f"CASE {blank} WHEN NOT regexp_full_match(trim({c}), '[0-9]{{4}}-[0-9]{{2}}') "
            f"OR TRY_CAST(trim({c}) || '-01' AS DATE) IS NULL "
            f"THEN '{column.name}: ' || trim({c}) || ' is not a month (YYYY-MM)' END"
        )
    if column.kind == "key":
        return f"CASE {blank} END"
    number = f"TRY_CAST(trim({c}) AS {column.sql_type})"
    not_number = (
        f"WHEN NOT regexp_full_match(trim({c}), '-?[0-9]+(\\.[0-9]+)?') OR {number} IS NULL "
        f"THEN '{column.name}: ' || trim({c}) || ' is not a number'"
    )
    if column.kind == "count":
        not_number = (
            f"WHEN NOT regexp_full_match(trim({c}), '-?[0-9]+') OR {number} IS NULL "
            f"THEN '{column.name}: ' || trim({c}) || ' is not a whole number'"
        )
    scale = {"money": 2, "decimal": 2, "rate": 4}.get(column.kind)
    too_precise = ""
    if scale is not None:
        too_precise = (
            f"WHEN length(split_part(trim({c}), '.', 2)) > {scale} "
            f"THEN '{column.name}: ' || trim({c}) || ' has more than {scale} decimal places'"
        )
    negative = f"WHEN {number} < 0 THEN '{column.name}: ' || trim({c}) || ' is negative'"
    above_one = ""
    if column.kind == "rate":
        above_one = (
            f"WHEN {number} > 1 THEN '{column.name}: ' || trim({c}) || ' is above 1 (a share)'"
        )
    return f"CASE {blank} {not_number} {too_precise} {negative} {above_one} END"


def _read_rows(path: Path, spec: ReturnSpec) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and every data row with its line number (the line it starts on)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return [], []
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num + 1
        for row in reader:
            if row:  # a blank line is not a row
                rows.append((line, row))
            line = reader.line_num + 1
    return [h.strip() for h in header], rows


def load_return(
    lake: Lake, spec: ReturnSpec, path: Path, org_codes: Collection[str]
) -> tuple[FileOutcome, pa.Table | None]:
    """Validate one return file and write its good rows to the lake.

    Returns the outcome and the quarantined rows (None when the file was rejected). The
    caller writes the quarantine table, so one load replaces it for every return at once.
    """
    try:
        header, rows = _read_rows(path, spec)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return FileOutcome(spec.name, str(path), "rejected", f"cannot read: {exc}"), None
    missing = [c for c in spec.column_names if c not in header]
    if missing:
        reason = f"missing required column(s): {', '.join(missing)}" + (
            f" (found: {', '.join(header)})" if header else " (the file is empty)"
        )
        return FileOutcome(spec.name, str(path), "rejected", reason), None
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        reason = f"column(s) named twice: {', '.join(duplicated)}"
        return FileOutcome(spec.name, str(path), "rejected", reason), None

    index = {name: header.index(name) for name in spec.column_names}
    lines: list[int] = []
    arity: list[str | None] = []
    raws: list[str] = []
    values: dict[str, list[str | None]] = {c: [] for c in spec.column_names}
    for line, row in rows:
        lines.append(line)
        arity.append(
            None if len(row) == len(header) else f"expected {len(header)} fields, found {len(row)}"
        )
        raws.append(json.dumps(dict(zip(header, row, strict=False)), ensure_ascii=False))
        for name, i in index.items():
            values[name].append(row[i] if i < len(row) else None)
    staged = pa.table(
        {
            "line": pa.array(lines, pa.int64()),
            "arity": pa.array(arity, pa.string()),
            "raw": pa.array(raws, pa.string()),
            **{name: pa.array(v, pa.string()) for name, v in values.items()},
        }
    )
    known = pa.table({"code": pa.array(sorted(org_codes), pa.string())})
    good, bad = _validate(spec, staged, known, path)
    lake.write_arrow(spec.table, good)
    outcome = FileOutcome(
        spec.name,
        str(path),
        "loaded",
        rows_read=len(rows),
        rows_loaded=good.num_rows,
        rows_quarantined=bad.num_rows,
    )
    return outcome, bad


def _validate(
    spec: ReturnSpec, staged: pa.Table, known: pa.Table, path: Path
) -> tuple[pa.Table, pa.Table]:
    """Split the staged rows into typed good rows and quarantined rows, in DuckDB."""
    checks = ["arity", *(_rule(c) for c in spec.columns)]
    for name, allowed in spec.allowed.items():
        listed = ", ".join(_quote(a) for a in allowed)
        checks.append(
            f'CASE WHEN trim("{name}") NOT IN ({listed}) '
            f"THEN '{name}: ' || trim(\"{name}\") || ' is not one of {', '.join(allowed)}' END"
        )
    key = ", ".join(f'trim("{k}")' for k in spec.key)
    typed = ", ".join(
        f'TRY_CAST(trim("{c.name}") || \'-01\' AS DATE) AS "{c.name}"'
        if c.kind == "month"
        else f'TRY_CAST(trim("{c.name}") AS {c.sql_type}) AS "{c.name}"'
        for c in spec.columns
    )
    key_text = ", ".join(spec.key)
    con = duckdb.connect(":memory:")
    try:
        con.register("staged", staged)
        con.register("known_org", known)
        con.execute(
            f"""
            CREATE TEMP TABLE checked AS
            SELECT *, coalesce({", ".join(checks)}) AS reason FROM staged
            """
        )
        # A key seen twice among otherwise good rows: the first line wins, later ones
        # are quarantined naming it, so a resubmitted row cannot silently double-count.
        con.execute(
            f"""
            CREATE TEMP TABLE judged AS
            SELECT * EXCLUDE (first_line),
                   CASE WHEN reason IS NULL AND line <> first_line
                        THEN 'duplicate {key_text}: first given on line ' || first_line
                        ELSE reason END AS final_reason
            FROM (
                SELECT *, min(CASE WHEN reason IS NULL THEN line END)
                          OVER (PARTITION BY {key}) AS first_line
                FROM checked
            )
            """
        )
        good = con.sql(
            f"""
            SELECT {typed}, {_quote(path.name)} AS source_file, line AS source_line
            FROM judged WHERE final_reason IS NULL ORDER BY {", ".join(spec.key)}
            """
        ).to_arrow_table()
        bad = con.sql(
            f"""
            SELECT {_quote(spec.name)} AS return_name, {_quote(str(path))} AS file,
                   line, final_reason AS reason, raw
            FROM judged WHERE final_reason IS NOT NULL ORDER BY line
            """
        ).to_arrow_table()
    finally:
        con.close()
    return good, bad.cast(_QUARANTINE_SCHEMA)


def load_returns(
    lake: Lake, folder: Path, org_codes: Collection[str], *, names: Sequence[str] | None = None
) -> list[FileOutcome]:
    """Load every return file found in ``folder`` (``finance.csv``, ``workforce.csv``,
    ``beds.csv``); a ``returns/`` sub-folder is looked in when the folder has none.

    The quarantine table keeps earlier rows of returns not loaded this time and replaces
    those of the returns that were.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReturnsError(f"{folder}: not a folder")
    specs = [s for s in RETURNS if names is None or s.name in names]
    if not any((folder / s.file_name).exists() for s in specs) and (folder / "returns").is_dir():
        folder = folder / "returns"
    present = [s for s in specs if (folder / s.file_name).exists()]
    if not present:
        expected = ", ".join(s.file_name for s in specs)
        raise ReturnsError(f"{folder}: no return files found (expected any of {expected})")
    outcomes: list[FileOutcome] = []
    quarantined: list[pa.Table] = []
    loaded: set[str] = set()
    for spec in present:
        outcome, bad = load_return(lake, spec, folder / spec.file_name, org_codes)
        outcomes.append(outcome)
        if bad is not None:
            quarantined.append(bad)
            loaded.add(spec.name)
    if lake.exists(QUARANTINE_TABLE):
        earlier = lake.read_arrow(QUARANTINE_TABLE).cast(_QUARANTINE_SCHEMA)
        mask = [name not in loaded for name in earlier.column("return_name").to_pylist()]
        quarantined.insert(0, earlier.filter(pa.array(mask, pa.bool_())))
    table = pa.concat_tables(quarantined) if quarantined else _QUARANTINE_SCHEMA.empty_table()
    lake.write_arrow(QUARANTINE_TABLE, table)
    return outcomes
