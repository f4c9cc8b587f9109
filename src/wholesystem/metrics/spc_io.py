"""CSV in and out for SPC: read a ``date,value`` series, write one row per analysed point.

Errors name the file and the line, so an analyst can fix the input.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from wholesystem.metrics.spc import TRIAL_LIMIT_POINTS, SpcResult

__all__ = [
    "OUTPUT_COLUMNS",
    "InputError",
    "Series",
    "format_float",
    "icon_lines",
    "parse_date",
    "parse_rebase_dates",
    "parse_series",
    "points_csv",
    "read_series",
]

OUTPUT_COLUMNS = ("date", "value", "mean", "lpl", "upl", "point_type")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class InputError(ValueError):
    """Input the SPC command cannot use; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Series:
    """A parsed input series and the line each point came from."""

    dates: tuple[date, ...]
    values: tuple[float, ...]
    lines: tuple[int, ...]


def parse_date(text: str) -> date:
    """An ISO date, exactly ``YYYY-MM-DD``."""
    stripped = text.strip()
    if not _DATE.match(stripped):
        raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None


def _parse_number(text: str) -> float:
    stripped = text.strip()
    if not _NUMBER.match(stripped):
        raise ValueError(f"{text!r} is not a number")
    value = float(stripped)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large")
    return value


def parse_series(rows: Iterable[str], name: str) -> Series:
    """Parse CSV text with a header naming ``date`` and ``value`` (other columns are ignored).

    Dates must be strictly increasing: sorted and without duplicates. Blank lines are skipped.
    """
    reader = csv.reader(rows)
    header = next(reader, None)
    if header is None:
        raise InputError(f"{name}: the file is empty; expected a header with date,value")
    columns = [column.strip().lstrip("\ufeff").lower() for column in header]
    for needed in ("date", "value"):
        if needed not in columns:
            raise InputError(
                f"{name}:{reader.line_num}: no {needed!r} column "
                f"(the header has {', '.join(repr(c) for c in columns)})"
            )
    date_at, value_at = columns.index("date"), columns.index("value")
    dates: list[date] = []
    values: list[float] = []
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise InputError(
                f"{name}:{line}: expected {len(columns)} fields as in the header, found {len(row)}"
            )
        try:
            when = parse_date(row[date_at])
        except ValueError as exc:
            raise InputError(f"{name}:{line}: date {exc}") from None
        try:
            value = _parse_number(row[value_at])
        except ValueError as exc:
            raise InputError(f"{name}:{line}: value {exc}") from None
        if dates and when <= dates[-1]:
            what = "repeats" if when == dates[-1] else "comes before"
            raise InputError(
                f"{name}:{line}: date {when} {what} {dates[-1]} on line {lines[-1]}; "
                "dates must be sorted and unique"
            )
        dates.append(when)
        values.append(value)
        lines.append(line)
    return Series(tuple(dates), tuple(values), tuple(lines))


def read_series(path: Path) -> Series:
    """Read a ``date,value`` CSV file (UTF-8, with or without a byte-order mark)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    return parse_series(io.StringIO(text, newline=""), str(path))


def parse_rebase_dates(options: Sequence[str], series: Series, name: str) -> tuple[date, ...]:
    """Rebase dates from ``--rebase-at`` values (each a comma-separated list of ISO dates)."""
    known = set(series.dates)
    found: list[date] = []
    for option in options:
        for part in option.split(","):
            if not part.strip():
                continue
            try:
                when = parse_date(part)
            except ValueError as exc:
                raise InputError(f"--rebase-at: {exc}") from None
            if when not in known:
                raise InputError(f"--rebase-at: {when} is not a date in {name}")
            found.append(when)
    return tuple(sorted(set(found)))


def format_float(value: float) -> str:
    """Full precision: the shortest text that reads back as the same float."""
    return repr(value)


def points_csv(result: SpcResult) -> str:
    """One row per point: date, value, its group's mean and limits, and its point type."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for p in result.points:
        writer.writerow(
            [
                p.date.isoformat(),
                format_float(p.value),
                format_float(p.mean),
                format_float(p.lpl),
                format_float(p.upl),
                p.point_type.value,
            ]
        )
    return out.getvalue()


def icon_lines(result: SpcResult) -> list[str]:
    """The series' icons (and any trial-limits warning) as lines for standard error."""
    variation = result.variation_icon
    letter = f" ({variation.letter})" if variation.letter else ""
    lines = [f"variation: {variation.point_type.value}{letter}"]
    assurance = result.assurance_icon
    if assurance is None:
        lines.append("assurance: none")
    else:
        lines.append(f"assurance: {assurance.value} ({assurance.letter})")
    for group in result.groups:
        if group.limits.flat:
            lines.append(
                f"warning: the group starting {group.start} does not vary (mean moving range 0): "
                "no meaningful limits, so no signals"
            )
        if group.trial:
            lines.append(
                f"warning: trial limits for the group starting {group.start}: "
                f"{group.baseline_points} points, fewer than {TRIAL_LIMIT_POINTS}"
            )
    return lines
