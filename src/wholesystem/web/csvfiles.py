"""CSV downloads: every table and chart on a page has one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

__all__ = ["csv_response", "csv_text", "defused_csv_text"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(cell: str) -> str:
    # A cell a spreadsheet would run as a formula is prefixed, so an export cannot attack
    # whoever opens it. Plain negative numbers stay numbers.
    if cell[:1] in _FORMULA_STARTS and not _is_number(cell):
        cell = "'" + cell
    # The writer ends lines with "\n" and so quotes a cell holding "\n" but not one holding
    # a bare "\r", which a spreadsheet would take as the end of the row: one more way for a
    # value to forge rows. Carriage returns inside a value become line feeds.
    if "\r" in cell:
        cell = cell.replace("\r\n", "\n").replace("\r", "\n")
    return cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV with a header row; None becomes an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_defuse("" if c is None else str(c)) for c in row])
    return buf.getvalue()


def defused_csv_text(text: str) -> str:
    """CSV text as stored (an upload, say), with every formula-like cell made inert.

    The rows and cells are those of ``text``; a cell a spreadsheet would run (``=``, ``+``,
    ``-``, ``@``...) gets the same apostrophe as every other export. Text that is already
    safe comes back unchanged, byte for byte (given ``\n`` line ends).
    """
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not any(_defuse(cell) != cell for row in rows for cell in row):
        return text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([_defuse(cell) for cell in row])
    return buf.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A CSV download named ``filename``."""
    return Response(
        csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
