"""ACTUALS.csv: the measured values a settlement runs on, one row per contract, line and measure.

Format (docs/contracts.md)::

    contract_id,line,measure,value
    RN1-ACUTE-2024,emergency_spells,delivered_units,10800
    RN1-ACUTE-2024,cquin,achievement,0.8
    QNS-BCF-2024,bcf_pool,actual_spend,10450000.00

Every bad row is reported with its line number and column, and nothing is used from a file
with any bad row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from wholesystem.finance.contracts import IDENTIFIER_PATTERN
from wholesystem.finance.money import is_whole_pennies

__all__ = [
    "ACTUALS_COLUMNS",
    "Actual",
    "Actuals",
    "ActualsError",
    "Measure",
    "RowIssue",
    "parse_actuals",
    "read_actuals",
]

ACTUALS_COLUMNS = ("contract_id", "line", "measure", "value")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class Measure(StrEnum):
    """What a row measures."""

    DELIVERED_UNITS = "delivered_units"  # activity delivered on a variable line (units, >= 0)
    ACTUAL_SPEND = "actual_spend"  # money spent, in pounds to the penny (>= 0)
    ACHIEVEMENT = "achievement"  # share of a quality indicator achieved, 0 to 1


@dataclass(frozen=True, slots=True)
class Actual:
    """One measured value and the file line it came from."""

    contract_id: str
    line: str
    measure: Measure
    value: Decimal
    line_no: int


Key = tuple[str, str, Measure]


@dataclass(frozen=True, slots=True)
class Actuals:
    """The rows of one actuals file, looked up by (contract, line, measure)."""

    source: str
    rows: tuple[Actual, ...]
    index: Mapping[Key, Actual] = field(compare=False, repr=False)

    @classmethod
    def of(cls, rows: Iterable[Actual], source: str = "actuals") -> Actuals:
        """Actuals from rows whose (contract, line, measure) keys are unique."""
        listed = tuple(rows)
        index = {(row.contract_id, row.line, row.measure): row for row in listed}
        if len(index) != len(listed):
            raise ValueError("actuals rows must have unique (contract_id, line, measure)")
        return cls(source, listed, index)

    def get(self, contract_id: str, line: str, measure: Measure) -> Actual | None:
        """The row for this contract, line and measure, or None."""
        return self.index.get((contract_id, line, measure))


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One fault in the actuals file, located by line number and (where known) column."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ActualsError(ValueError):
    """An actuals file that cannot be used; ``issues`` lists every bad row."""

    def __init__(self, source: str, issues: list[RowIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        super().__init__("\n".join(f"{source}: {issue}" for issue in issues))


def _value(measure: Measure, text: str) -> tuple[Decimal | None, str]:
    stripped = text.strip()
    if not _NUMBER.match(stripped):
        return None, (
            f"{text!r} is not a number (digits with an optional decimal point; no £, commas or "
            "units)"
        )
    value = Decimal(stripped)
    if value < 0:
        return None, f"{measure.value} must not be negative, got {stripped}"
    if measure is Measure.ACTUAL_SPEND and not is_whole_pennies(value):
        return None, f"{stripped} has a fraction of a penny (at most 2 decimal places)"
    if measure is Measure.ACHIEVEMENT and value > 1:
        return None, f"achievement is a fraction from 0 to 1, got {stripped}"
    return value, ""


def parse_actuals(text: str, source: str = "actuals") -> Actuals:
    """Parse ACTUALS CSV text; raise `ActualsError` naming the line and column of every fault.

    The header must name ``contract_id, line, measure, value`` (any order, any case; other
    columns are ignored). Blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, None)
    if header is None:
        raise ActualsError(
            source, [RowIssue(1, None, f"the file is empty; expected {','.join(ACTUALS_COLUMNS)}")]
        )
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    issues: list[RowIssue] = []
    for name in {n for n in names if n in ACTUALS_COLUMNS and names.count(n) > 1}:
        issues.append(RowIssue(1, name, "the column appears more than once"))
    missing = [name for name in ACTUALS_COLUMNS if name not in names]
    if missing:
        issues.append(RowIssue(1, None, f"missing column(s) {', '.join(missing)}"))
    if issues:
        raise ActualsError(source, issues)
    position = {name: names.index(name) for name in ACTUALS_COLUMNS}
    rows: list[Actual] = []
    first_seen: dict[Key, int] = {}
    while True:
        # A quoted field may span lines: a row is named by the line it starts on.
        line_no = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            issues.append(RowIssue(line_no, None, f"not valid CSV: {exc}"))
            break
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(names):
            issues.append(
                RowIssue(line_no, None, f"has {len(fields)} fields, the header has {len(names)}")
            )
            continue
        cell = {name: fields[position[name]].strip() for name in ACTUALS_COLUMNS}
        row_ok = True
        for name in ("contract_id", "line"):
            if not cell[name]:
                issues.append(RowIssue(line_no, name, "is blank"))
                row_ok = False
            elif not IDENTIFIER_PATTERN.match(cell[name]):
                issues.append(RowIssue(line_no, name, f"{cell[name]!r} is not a valid identifier"))
                row_ok = False
        measure: Measure | None = None
        try:
            measure = Measure(cell["measure"])
        except ValueError:
            options = ", ".join(m.value for m in Measure)
            issues.append(
                RowIssue(line_no, "measure", f"{cell['measure']!r} is not one of {options}")
            )
            row_ok = False
        value: Decimal | None = None
        if measure is not None:
            value, problem = _value(measure, cell["value"])
            if value is None:
                issues.append(RowIssue(line_no, "value", problem))
                row_ok = False
        if not row_ok or measure is None or value is None:
            continue
        key = (cell["contract_id"], cell["line"], measure)
        if key in first_seen:
            issues.append(
                RowIssue(
                    line_no,
                    None,
                    f"repeats line {first_seen[key]} (contract {key[0]}, line {key[1]}, "
                    f"measure {measure.value})",
                )
            )
            continue
        first_seen[key] = line_no
        rows.append(Actual(key[0], key[1], measure, value, line_no))
    if issues:
        raise ActualsError(source, issues)
    return Actuals.of(rows, source)


def read_actuals(path: Path) -> Actuals:
    """Read and validate an ACTUALS.csv file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ActualsError(str(path), [RowIssue(None, None, f"cannot read: {exc}")]) from None
    return parse_actuals(text, str(path))
