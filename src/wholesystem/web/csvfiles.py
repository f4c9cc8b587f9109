"""CSV downloads: every table and chart on a page has one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

__all__ = ["csv_response", "csv_text"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(cell: str) -> str:
    # A cell a spreadsheet would run as a formula is prefixed, so an export cannot attack
    # whoever opens it. Plain negative numbers stay numbers.
    if cell[:1] in _FORMULA_STARTS and not _is_number(cell):
        return "'" + cell
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


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A CSV download named ``filename``."""
    return Response(
        csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
