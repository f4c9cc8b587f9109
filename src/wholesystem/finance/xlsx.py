"""Monthly returns as Excel workbooks (.xlsx): the same rows and checks as the CSV upload.

The first worksheet is read like the CSV: row 1 is the header (``org_code, month, category,
plan, actual, forecast``), each later row one line of one return, and every fault is
reported by its row number as Excel shows it. What a spreadsheet can hold but a return must
not is refused with a specific reason:

- a password-protected (encrypted) workbook, an old ``.xls`` workbook, a corrupt file, or
  one whose XML declares entities (parsed with defusedxml) is refused as a whole
  (`WorkbookError`);
- merged header cells, merged cells in the data, and formulas are row-level faults
  (`SubmissionError`): a return carries typed values, so a formula's cached result (which
  may be stale, or absent when the file was written by a program) is never trusted.

A month typed into Excel as ``2024-04`` becomes a date; a date on the first of a month is
read as that month.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from wholesystem.finance.ledger import (
    RETURN_COLUMNS,
    ReturnDraft,
    RowError,
    SubmissionError,
    parse_return_rows,
)

__all__ = [
    "MAX_UNPACKED_BYTES",
    "WorkbookError",
    "is_xlsx_name",
    "parse_return_xlsx",
    "read_sheet_rows",
]

# An .xlsx is a zip: refuse one that would unpack beyond this (a "zip bomb") before parsing.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: encrypted OOXML or .xls
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


class WorkbookError(ValueError):
    """A workbook that cannot be read at all; the message says why and what to do."""


def is_xlsx_name(name: str) -> bool:
    """True for a file name ending ``.xlsx`` (any case)."""
    return name.lower().endswith(".xlsx")


def _open(data: bytes) -> Any:
    if data.startswith(_CFB_MAGIC):
        if _ENCRYPTED_MARK in data:
            raise WorkbookError(
                "the workbook is password-protected (encrypted): save a copy without a "
                "password and upload that"
            )
        raise WorkbookError("this is an old Excel 97-2003 workbook (.xls): save it as .xlsx or CSV")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookError("the file is not a valid .xlsx workbook (it may be corrupt)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise WorkbookError("the file is not a valid .xlsx workbook (it may be corrupt)") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise WorkbookError("the workbook unpacks to more than 64 MB: upload the return alone")
    from openpyxl import load_workbook

    try:
        # data_only=False: formulas come back as formulas, so they can be refused.
        return load_workbook(io.BytesIO(data), data_only=False)
    except Exception as exc:  # openpyxl raises many kinds (KeyError, XML, zip) for a broken file
        if _entities_refused(exc):
            raise WorkbookError(
                "the file is not a valid .xlsx workbook: its XML declares entities, which no "
                "spreadsheet program writes; save the return again from Excel and upload that"
            ) from None
        raise WorkbookError(
            "the file is not a valid .xlsx workbook (it may be corrupt or not a workbook)"
        ) from None


def _entities_refused(exc: BaseException) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps its error in a ValueError).

    openpyxl parses with defusedxml when it is installed (a dependency here): entity
    declarations (entity expansion, external files) are refused.
    """
    from defusedxml import DefusedXmlException

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _text(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if column == "month" and value.day == 1 and value.time() == time(0):
            return value.strftime("%Y-%m")
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        if column == "month" and value.day == 1:
            return value.strftime("%Y-%m")
        return value.isoformat()
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 1234.5, not 1234.4999...
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def read_sheet_rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The first sheet's header and its non-blank rows as ``(row number, {column: text})``.

    Raises `WorkbookError` for a file that is not a readable workbook and `SubmissionError`
    for merged cells or formulas, each located by row and column.
    """
    from openpyxl.utils import get_column_letter

    workbook = _open(data)
    sheet = workbook.worksheets[0]
    header_cells = [cell for cell in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    header = [_text(cell.value, "").strip() for cell in header_cells]

    def column_name(index: int) -> str:
        name = header[index - 1] if 0 < index <= len(header) else ""
        return name or f"column {get_column_letter(index)}"

    errors: list[RowError] = []
    for merged in sorted(sheet.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        if merged.min_row == 1:
            errors.append(
                RowError(
                    1,
                    column_name(merged.min_col),
                    f"the header cells {merged.coord} are merged: unmerge them so each column "
                    "has its own heading",
                )
            )
        else:
            errors.append(
                RowError(
                    merged.min_row,
                    column_name(merged.min_col),
                    f"the cells {merged.coord} are merged: give each cell its own value",
                )
            )
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in sheet.iter_rows():
        row_no = cells[0].row if cells else 0
        for cell in cells:
            if cell.data_type == "f":
                errors.append(
                    RowError(
                        row_no,
                        column_name(cell.column) if row_no > 1 else f"cell {cell.coordinate}",
                        f"cell {cell.coordinate} holds a formula ({str(cell.value)[:60]}): "
                        "paste values only",
                    )
                )
        if row_no <= 1:
            continue
        values: dict[str, str] = {}
        for cell in cells:
            index = cell.column - 1
            if index < len(header) and header[index]:
                values[header[index]] = _text(cell.value, header[index])
        if any(v.strip() for v in values.values()):
            rows.append((row_no, values))
    if errors:
        raise SubmissionError(errors)
    return header, rows


def parse_return_xlsx(
    data: bytes,
    *,
    known_orgs: Collection[str] | None = None,
    allowed_orgs: Collection[str] | None = None,
    not_after: date | None = None,
    period: date | None = None,
) -> tuple[ReturnDraft, ...]:
    """Validate an .xlsx return exactly as `parse_return_csv` validates a CSV one.

    Row numbers in every `RowError` are the sheet's own. Raises `WorkbookError` for an
    unreadable workbook and `SubmissionError` listing every fault otherwise.
    """
    header, rows = read_sheet_rows(data)
    missing = [c for c in RETURN_COLUMNS if c not in header]
    if missing:
        raise SubmissionError(
            RowError(
                1, column, f"the header has no such column (expected {','.join(RETURN_COLUMNS)})"
            )
            for column in missing
        )
    if not rows:
        raise SubmissionError([RowError(2, "org_code", "the sheet has no rows")])
    numbered: Iterable[tuple[int, Mapping[str, str]]] = rows
    return parse_return_rows(
        numbered,
        known_orgs=known_orgs,
        allowed_orgs=allowed_orgs,
        not_after=not_after,
        period=period,
    )
