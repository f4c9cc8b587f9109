"""The shared chart of accounts and the validation of a monthly return (pure: no DB, no web).

A return is one row per organisation, month and account line::

    org_code,month,category,plan,actual,forecast
    QNS,2024-04,income,2817124.53,2807187.50,2817124.53

(the columns of the synthetic ``returns/finance.csv``). Every bad row is reported with its
line, column and reason; a file with any bad row yields nothing (docs/finance.md).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from wholesystem.finance.money import is_whole_pennies

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_CODES",
    "CHART_OF_ACCOUNTS",
    "RETURN_COLUMNS",
    "SUBTOTALS",
    "Account",
    "LineAmounts",
    "ReturnDraft",
    "RowError",
    "Section",
    "SubmissionError",
    "Subtotal",
    "due_date",
    "financial_year",
    "fy_label",
    "month_label",
    "parse_month",
    "parse_return_csv",
    "parse_return_rows",
    "surplus",
]

RETURN_COLUMNS = ("org_code", "month", "category", "plan", "actual", "forecast")
AMOUNT_COLUMNS = ("plan", "actual", "forecast")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_ORG = re.compile(r"^[A-Z0-9]{2,9}$")
# Working day of the following month by which a month's return is due.
DUE_WORKING_DAY = 10


class Section(StrEnum):
    """Where an account sits: in the income and expenditure position or outside it."""

    income = "income"
    pay = "pay"
    non_pay = "non_pay"
    memorandum = "memorandum"  # efficiency savings: already inside pay and non-pay
    capital = "capital"  # capital spend: outside income and expenditure


@dataclass(frozen=True, slots=True)
class Account:
    """One line of the shared chart of accounts."""

    code: str
    name: str
    section: Section
    staff_group: str | None = None

    @property
    def ie_sign(self) -> int:
        """+1 income, -1 expenditure, 0 outside the I&E position (memorandum, capital)."""
        if self.section is Section.income:
            return 1
        if self.section in (Section.pay, Section.non_pay):
            return -1
        return 0


# The one chart every partner reports on (docs/finance.md). Amounts are reported as
# positive numbers; the section gives the sign in the surplus.
CHART_OF_ACCOUNTS: tuple[Account, ...] = (
    Account("income", "Income", Section.income),
    Account("pay_medical", "Pay: medical and dental", Section.pay, "medical"),
    Account("pay_nursing", "Pay: nursing and midwifery", Section.pay, "nursing"),
    Account("pay_other", "Pay: other staff groups", Section.pay, "other"),
    Account("non_pay", "Non-pay", Section.non_pay),
    Account("efficiency_savings", "Efficiency savings delivered", Section.memorandum),
    Account("capital", "Capital spend", Section.capital),
)
ACCOUNTS: Mapping[str, Account] = {a.code: a for a in CHART_OF_ACCOUNTS}
ACCOUNT_CODES = tuple(ACCOUNTS)


@dataclass(frozen=True, slots=True)
class Subtotal:
    """A derived line a return may include as a check: the signed sum of other lines."""

    code: str
    name: str
    parts: tuple[tuple[str, int], ...]


SUBTOTALS: Mapping[str, Subtotal] = {
    s.code: s
    for s in (
        Subtotal(
            "pay_total",
            "Total pay",
            (("pay_medical", 1), ("pay_nursing", 1), ("pay_other", 1)),
        ),
        Subtotal(
            "expenditure_total",
            "Total expenditure",
            (("pay_medical", 1), ("pay_nursing", 1), ("pay_other", 1), ("non_pay", 1)),
        ),
        Subtotal(
            "surplus_deficit",
            "Surplus (deficit)",
            (
                ("income", 1),
                ("pay_medical", -1),
                ("pay_nursing", -1),
                ("pay_other", -1),
                ("non_pay", -1),
            ),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """A line's plan, actual and forecast for the month, in pounds."""

    plan: Decimal
    actual: Decimal
    forecast: Decimal


@dataclass(frozen=True, slots=True)
class ReturnDraft:
    """A validated return for one organisation and month, ready to store as a new version."""

    org_code: str
    period: date
    lines: Mapping[str, LineAmounts]
    first_line_no: int = 0


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong with one row of a return (line 1 is the header)."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class SubmissionError(ValueError):
    """A return with faults: ``errors`` lists every one; nothing from it is used."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


# ------------------------------------------------------------------------------ periods


def parse_month(text: str) -> date | None:
    """``2024-04`` as the first day of the month, or None if it is not a valid month."""
    match = _MONTH.match(text.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        return None
    return date(year, month, 1)


def month_label(period: date) -> str:
    """``2024-04``."""
    return f"{period.year:04d}-{period.month:02d}"


def add_months(period: date, months: int) -> date:
    """The first day of the month ``months`` after ``period``'s."""
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def financial_year(period: date) -> int:
    """The year the financial year (April to March) containing ``period`` starts in."""
    return period.year if period.month >= 4 else period.year - 1


def fy_label(year: int) -> str:
    """``2024/25``."""
    return f"{year}/{(year + 1) % 100:02d}"


def due_date(period: date) -> date:
    """The day a month's return is due: the 10th working day (Monday to Friday) of the next.

    Bank holidays are not taken out (docs/finance.md): the rule is the same for every partner.
    """
    day = add_months(period, 1)
    count = 0
    while True:
        if day.weekday() < 5:
            count += 1
            if count == DUE_WORKING_DAY:
                return day
        day += timedelta(days=1)


def surplus(lines: Mapping[str, Decimal]) -> Decimal:
    """Income less pay and non-pay: the I&E surplus (negative a deficit) of account amounts."""
    return sum(
        (ACCOUNTS[code].ie_sign * amount for code, amount in lines.items() if code in ACCOUNTS),
        Decimal("0.00"),
    )


# ---------------------------------------------------------------------------- validation


def _amount(raw: str) -> Decimal | str:
    text = raw.strip()
    if not text:
        return "is empty: give an amount in pounds (0 for none)"
    if not _NUMBER.match(text):
        return f"{raw!r} is not a number: digits and a decimal point only (no £, commas or units)"
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return f"{raw!r} is not a number"
    if not is_whole_pennies(value):
        return f"{raw!r} has a fraction of a penny: at most two decimal places"
    if len(value.as_tuple().digits) > 18:
        return f"{raw!r} is too large"
    return value.quantize(Decimal("0.01"))


def parse_return_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    known_orgs: Collection[str] | None = None,
    allowed_orgs: Collection[str] | None = None,
    not_after: date | None = None,
    period: date | None = None,
) -> tuple[ReturnDraft, ...]:
    """Validate return rows (``(line number, {column: text})``) into one draft per org and month.

    ``known_orgs`` are the partners (an unknown code is a fault); ``allowed_orgs`` are the
    organisations the submitter may report for; ``not_after`` is the latest month a return may
    be for (no returns for the future); ``period``, when given, is the only month allowed.
    Every account of the chart must be present for each organisation and month, once; a
    subtotal row (``pay_total``, ``expenditure_total``, ``surplus_deficit``) is optional and,
    when given, must equal the sum of its parts exactly. Raises `SubmissionError` listing
    every fault.
    """
    errors: list[RowError] = []
    seen: dict[tuple[str, date, str], int] = {}
    groups: dict[tuple[str, date], dict[str, LineAmounts]] = {}
    first_line: dict[tuple[str, date], int] = {}
    checks: list[tuple[int, str, date, Subtotal, LineAmounts]] = []
    present: dict[tuple[str, date], set[str]] = {}
    for line_no, row in rows:
        row_ok = True
        org = (row.get("org_code") or "").strip()
        if not _ORG.match(org):
            errors.append(RowError(line_no, "org_code", f"{org!r} is not an organisation code"))
            row_ok = False
        elif known_orgs is not None and org not in known_orgs:
            errors.append(RowError(line_no, "org_code", f"{org} is not a partner organisation"))
            row_ok = False
        elif allowed_orgs is not None and org not in allowed_orgs:
            errors.append(
                RowError(
                    line_no,
                    "org_code",
                    f"you may submit returns only for {', '.join(sorted(allowed_orgs))}, not {org}",
                )
            )
            row_ok = False
        month_text = row.get("month") or ""
        month = parse_month(month_text)
        if month is None:
            errors.append(
                RowError(line_no, "month", f"{month_text!r} is not a month (write YYYY-MM)")
            )
            row_ok = False
        elif period is not None and month != period:
            errors.append(
                RowError(
                    line_no,
                    "month",
                    f"{month_label(month)} is the wrong period: this return is for "
                    f"{month_label(period)}",
                )
            )
            row_ok = False
        elif not_after is not None and month > not_after:
            errors.append(
                RowError(
                    line_no,
                    "month",
                    f"{month_label(month)} is a future period: returns run to "
                    f"{month_label(not_after)}",
                )
            )
            row_ok = False
        category = (row.get("category") or "").strip()
        if category not in ACCOUNTS and category not in SUBTOTALS:
            errors.append(
                RowError(
                    line_no,
                    "category",
                    f"{category!r} is not an account code of the chart of accounts "
                    f"({', '.join(ACCOUNT_CODES)})",
                )
            )
            row_ok = False
        amounts: dict[str, Decimal] = {}
        for column in AMOUNT_COLUMNS:
            parsed = _amount(row.get(column) or "")
            if isinstance(parsed, str):
                errors.append(RowError(line_no, column, parsed))
                row_ok = False
            else:
                amounts[column] = parsed
        if (
            month is not None
            and _ORG.match(org)
            and (category in ACCOUNTS or category in SUBTOTALS)
        ):
            # A row with a bad amount still counts as present (it is reported once).
            present.setdefault((org, month), set()).add(category)
            first_line.setdefault((org, month), line_no)
        if not row_ok or month is None:
            continue
        key = (org, month, category)
        if key in seen:
            errors.append(
                RowError(
                    line_no,
                    "category",
                    f"duplicate row: {org} {month_label(month)} {category} is already on "
                    f"line {seen[key]}",
                )
            )
            continue
        seen[key] = line_no
        values = LineAmounts(amounts["plan"], amounts["actual"], amounts["forecast"])
        first_line.setdefault((org, month), line_no)
        if category in SUBTOTALS:
            checks.append((line_no, org, month, SUBTOTALS[category], values))
        else:
            groups.setdefault((org, month), {})[category] = values
    for (org, month), codes in present.items():
        missing = [code for code in ACCOUNT_CODES if code not in codes]
        if missing:
            errors.append(
                RowError(
                    first_line[(org, month)],
                    "category",
                    f"the return for {org} {month_label(month)} has no row for "
                    f"{', '.join(missing)}",
                )
            )
    for line_no, org, month, subtotal, given in checks:
        lines = groups.get((org, month), {})
        if any(code not in lines for code, _ in subtotal.parts):
            continue  # reported above as missing lines
        for column in AMOUNT_COLUMNS:
            expected = sum(
                (sign * getattr(lines[code], column) for code, sign in subtotal.parts),
                Decimal("0.00"),
            )
            actual = getattr(given, column)
            if actual != expected:
                errors.append(
                    RowError(
                        line_no,
                        column,
                        f"{subtotal.code} is {actual} but its lines add up to {expected}",
                    )
                )
    if errors:
        errors.sort(
            key=lambda e: (
                e.line,
                AMOUNT_COLUMNS.index(e.column) + 3
                if e.column in AMOUNT_COLUMNS
                else RETURN_COLUMNS.index(e.column),
            )
        )
        raise SubmissionError(errors)
    return tuple(
        ReturnDraft(org, month, dict(lines), first_line[(org, month)])
        for (org, month), lines in sorted(groups.items())
    )


def parse_return_csv(
    text: str,
    *,
    known_orgs: Collection[str] | None = None,
    allowed_orgs: Collection[str] | None = None,
    not_after: date | None = None,
    period: date | None = None,
) -> tuple[ReturnDraft, ...]:
    """Validate a CSV return (see `parse_return_rows`); a missing column is a line-1 fault."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in RETURN_COLUMNS if c not in header]
    if missing:
        raise SubmissionError(
            RowError(
                1, column, f"the header has no such column (expected {','.join(RETURN_COLUMNS)})"
            )
            for column in missing
        )
    reader.fieldnames = header

    def numbered() -> Iterable[tuple[int, Mapping[str, str]]]:
        for row in reader:
            values = {k: (v or "") for k, v in row.items() if isinstance(k, str)}
            if not any(v.strip() for v in values.values()):
                continue  # blank line
            yield reader.line_num, values

    rows = list(numbered())
    if not rows:
        raise SubmissionError([RowError(2, "org_code", "the file has no rows")])
    return parse_return_rows(
        rows,
        known_orgs=known_orgs,
        allowed_orgs=allowed_orgs,
        not_after=not_after,
        period=period,
    )
