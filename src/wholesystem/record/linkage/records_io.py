"""Reading and writing the ``link-records`` contract files (DESIGN.md, "Linkage contract")."""

from __future__ import annotations

import csv
import os
import uuid
from contextlib import suppress
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "LinkInputError",
    "read_link_input",
    "write_link_output",
]

REQUIRED_COLUMNS = (
    "record_id",
    "source",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)
OPTIONAL_COLUMNS = ("address",)


class LinkInputError(ValueError):
    """The input file cannot be linked; the message says why."""


def read_link_input(path: Path) -> pa.Table:
    """Read INPUT.csv as text columns; check columns and record ids.

    Raises :class:`LinkInputError` for an unreadable file, a missing required column, a
    blank or duplicated record_id.
    """
    path = Path(path)
    if not path.is_file():
        raise LinkInputError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:
        raise LinkInputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise LinkInputError(f"{path}: cannot be read ({exc.strerror})") from None
    except csv.Error as exc:
        raise LinkInputError(f"{path}: not a readable CSV file ({exc})") from None
    if not header:
        raise LinkInputError(f"{path}: empty file (expected a header row)")
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LinkInputError(f"{path}: duplicated column(s) in header: {', '.join(dupes)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise LinkInputError(
            f"{path}: missing required column(s): {', '.join(missing)} "
            f"(need {', '.join(REQUIRED_COLUMNS)}; optional: address)"
        )
    wanted = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in names]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=wanted,
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise LinkInputError(f"{path}: not a readable CSV file ({exc})") from None
    con = duckdb.connect()
    try:
        con.register("inp", table)
        blank = con.execute(
            "SELECT min(n) FROM (SELECT row_number() OVER () + 1 AS n, record_id FROM inp) "
            "WHERE record_id IS NULL OR trim(record_id) = ''"
        ).fetchall()[0][0]
        if blank is not None:
            raise LinkInputError(f"{path}: line {blank}: record_id is blank")
        dup = con.execute(
            "SELECT record_id, count(*) FROM inp GROUP BY record_id HAVING count(*) > 1 "
            "ORDER BY record_id LIMIT 3"
        ).fetchall()
        if dup:
            shown = ", ".join(f"{r!r} ({k} times)" for r, k in dup)
            raise LinkInputError(f"{path}: duplicate record_id: {shown}")
    finally:
        con.close()
    return table


def write_link_output(path: Path, record_ids: list[str], person_ids: list[str]) -> None:
    """Write OUTPUT.csv (record_id, person_id) beside the target, then rename it in."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("record_id", "person_id"))
            writer.writerows(zip(record_ids, person_ids, strict=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()
