"""The chart of accounts and return validation: every bad row named by line, column, reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wholesystem.finance.ledger import (
    ACCOUNT_CODES,
    RETURN_COLUMNS,
    SubmissionError,
    due_date,
    financial_year,
    parse_return_csv,
    surplus,
)
from wholesystem.synth.returns import FINANCE_CATEGORIES, FINANCE_COLUMNS

D = Decimal
HEADER = ",".join(RETURN_COLUMNS)
AMOUNTS = {
    "income": ("1000.00", "1010.00", "1005.00"),
    "pay_medical": ("200.00", "210.00", "205.00"),
    "pay_nursing": ("300.00", "290.00", "295.00"),
    "pay_other": ("100.00", "100.00", "100.00"),
    "non_pay": ("350.00", "370.00", "360.00"),
    "efficiency_savings": ("20.00", "15.00", "18.00"),
    "capital": ("40.00", "0.00", "40.00"),
}


def good_return(org: str = "RA1", month: str = "2024-05") -> list[str]:
    return [f"{org},{month},{code},{','.join(v)}" for code, v in AMOUNTS.items()]


def csv_of(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def errors_of(text: str, **kwargs: object) -> list[tuple[int, str]]:
    with pytest.raises(SubmissionError) as caught:
        parse_return_csv(text, **kwargs)  # type: ignore[arg-type]
    return [(e.line, e.column) for e in caught.value.errors]


def test_the_chart_is_the_synthetic_returns_categories_and_columns() -> None:
    assert ACCOUNT_CODES == FINANCE_CATEGORIES
    assert RETURN_COLUMNS == FINANCE_COLUMNS


def test_a_good_return_parses_exactly() -> None:
    (draft,) = parse_return_csv(csv_of(good_return()))
    assert draft.org_code == "RA1"
    assert draft.period == date(2024, 5, 1)
    assert draft.lines["income"].actual == D("1010.00")
    # surplus = income - pay - non-pay: 1010 - 210 - 290 - 100 - 370 = 40
    assert surplus({k: v.actual for k, v in draft.lines.items()}) == D("40.00")


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        ("RA1,2024-13,income,1,1,1", "month", "not a month"),
        ("RA1,May 2024,income,1,1,1", "month", "not a month"),
        ("RA1,2024-05,incme,1,1,1", "category", "not an account code"),
        ("RA1,2024-05,income,£1000,1,1", "plan", "not a number"),
        ('RA1,2024-05,income,1,"1,000",1', "actual", "not a number"),
        ("RA1,2024-05,income,1,1,about ten", "forecast", "not a number"),
        ("RA1,2024-05,income,1.005,1,1", "plan", "fraction of a penny"),
        ("RA1,2024-05,income,,1,1", "plan", "is empty"),
        ("ra1,2024-05,income,1,1,1", "org_code", "not an organisation code"),
    ],
)
def test_each_kind_of_bad_row_is_named_by_line_and_column(
    bad_row: str, column: str, reason: str
) -> None:
    rows = good_return()
    rows[0] = bad_row  # line 2
    with pytest.raises(SubmissionError) as caught:
        parse_return_csv(csv_of(rows))
    found = [e for e in caught.value.errors if e.line == 2 and e.column == column]
    assert found, caught.value.errors
    assert reason in found[0].reason
    assert str(found[0]).startswith(f"line 2, column {column}: ")


def test_a_duplicated_row_points_at_the_first() -> None:
    rows = [*good_return(), "RA1,2024-05,income,1,1,1"]
    with pytest.raises(SubmissionError) as caught:
        parse_return_csv(csv_of(rows))
    (error,) = caught.value.errors
    assert (error.line, error.column) == (9, "category")
    assert "already on line 2" in error.reason


def test_a_missing_line_is_reported_against_the_return() -> None:
    rows = [r for r in good_return() if ",capital," not in r]
    assert errors_of(csv_of(rows)) == [(2, "category")]


def test_totals_that_do_not_add_up_are_refused_column_by_column() -> None:
    ok = "RA1,2024-05,pay_total,600.00,600.00,600.00"  # 200+300+100 / 210+290+100 / 205+295+100
    (draft,) = parse_return_csv(csv_of([*good_return(), ok]))
    assert "pay_total" not in draft.lines  # a check, not stored
    bad = "RA1,2024-05,surplus_deficit,50.00,40.00,45.00"  # plan surplus is 50, actual 40, fc 45
    parse_return_csv(csv_of([*good_return(), bad]))
    wrong = "RA1,2024-05,surplus_deficit,50.00,41.00,45.00"
    with pytest.raises(SubmissionError) as caught:
        parse_return_csv(csv_of([*good_return(), wrong]))
    (error,) = caught.value.errors
    assert (error.line, error.column) == (9, "actual")
    assert "add up to 40.00" in error.reason


def test_wrong_periods_and_organisations() -> None:
    text = csv_of(good_return(month="2024-05"))
    assert errors_of(text, not_after=date(2024, 4, 1))[0] == (2, "month")
    assert errors_of(text, period=date(2024, 6, 1))[0] == (2, "month")
    assert errors_of(text, known_orgs={"QXX"})[0] == (2, "org_code")
    with pytest.raises(SubmissionError) as caught:
        parse_return_csv(text, allowed_orgs={"RC1"})
    assert "only for RC1" in caught.value.errors[0].reason
    assert len(caught.value.errors) == 7  # every row, not just the first


def test_a_missing_column_is_a_header_fault() -> None:
    text = "org_code,month,category,plan,actual\nRA1,2024-05,income,1,1\n"
    assert errors_of(text) == [(1, "forecast")]


def test_many_organisations_and_months_in_one_file() -> None:
    rows = good_return("RA1", "2024-04") + good_return("RA1", "2024-05") + good_return("QXX")
    drafts = parse_return_csv(csv_of(rows))
    assert [(d.org_code, d.period.month) for d in drafts] == [
        ("QXX", 5),
        ("RA1", 4),
        ("RA1", 5),
    ]


@pytest.mark.parametrize(
    ("month", "due"),
    [
        # May 2024 starts on a Wednesday: working days 1,2,3,6,7,8,9,10,13,14 -> 14 May.
        (date(2024, 4, 1), date(2024, 5, 14)),
        # June 2024 starts on a Saturday: 3,4,5,6,7,10,11,12,13,14 -> 14 June.
        (date(2024, 5, 1), date(2024, 6, 14)),
        # January 2025 starts on a Wednesday: 1,2,3,6,7,8,9,10,13,14 -> 14 January.
        (date(2024, 12, 1), date(2025, 1, 14)),
    ],
)
def test_due_date_is_the_tenth_working_day_of_the_next_month(month: date, due: date) -> None:
    assert due_date(month) == due


@pytest.mark.parametrize(
    ("period", "year"),
    [(date(2024, 4, 1), 2024), (date(2025, 3, 1), 2024), (date(2025, 1, 1), 2024)],
)
def test_financial_year_starts_in_april(period: date, year: int) -> None:
    assert financial_year(period) == year
