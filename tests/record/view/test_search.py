"""The search by name and date of birth: what counts as a search, and each error's words."""

from __future__ import annotations

from datetime import date

import pytest

from wholesystem.record.view.search import (
    DATE_PARTS,
    DetailsSearch,
    FieldError,
    details_search,
)

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (("Lovelace", "", "1", "3", "1950"), DetailsSearch("Lovelace", date(1950, 3, 1))),
        (
            ("  O'Brien ", " an ", "01", "03", "1950"),
            DetailsSearch("O'Brien", date(1950, 3, 1), "an"),
        ),
        (("Smith", None, "24", "11", "2026"), DetailsSearch("Smith", TODAY)),  # born today
        (("Smith", None, "1", "1", "1900"), DetailsSearch("Smith", date(1900, 1, 1))),
        (("Smith", None, "29", "2", "2024"), DetailsSearch("Smith", date(2024, 2, 29))),
    ],
)
def test_a_search(typed: tuple[str, str | None, str, str, str], expected: DetailsSearch) -> None:
    assert details_search(*typed, today=TODAY) == expected


FAMILY = ("family_name", "Enter a family name")
NO_DATE = ("dob-day", "Enter a date of birth")
NOT_REAL = ("dob-day", "Date of birth must be a real date")
LONG_FAMILY = ("family_name", "Family name must be 100 characters or fewer")
LONG_GIVEN = ("given_name", "Given name must be 100 characters or fewer")
DAY_AND_MONTH = "Date of birth must include a day and a month"
TOO_EARLY = ("dob-year", "Date of birth must be in 1900 or later")
FUTURE = ("dob-day", "Date of birth must be today or in the past")


@pytest.mark.parametrize(
    ("typed", "errors"),
    [
        (("", "", "", "", ""), [FAMILY, NO_DATE]),
        ((None, None, None, None, None), [FAMILY, NO_DATE]),
        (("Smith", "", "1", "", "1950"), [("dob-month", "Date of birth must include a month")]),
        (("Smith", "", "", "", "1950"), [("dob-day", DAY_AND_MONTH)]),
        (("Smith", "", "31", "2", "1950"), [NOT_REAL]),
        (("Smith", "", "1", "13", "1950"), [NOT_REAL]),
        (("Smith", "", "a", "1", "1950"), [NOT_REAL]),
        (("Smith", "", "1", "1", "50"), [NOT_REAL]),
        (("Smith", "", "-1", "1", "1950"), [NOT_REAL]),
        (("Smith", "", "25", "11", "2026"), [FUTURE]),
        (("Smith", "", "31", "12", "1899"), [TOO_EARLY]),
        (("123", "", "1", "1", "1950"), [("family_name", "Family name must include a letter")]),
        (("Smith", "--", "1", "1", "1950"), [("given_name", "Given name must include a letter")]),
        (("x" * 101, "", "1", "1", "1950"), [LONG_FAMILY]),
        (("Smith", "y" * 101, "1", "1", "1950"), [LONG_GIVEN]),
    ],
)  # fmt: skip
def test_what_to_put_right(typed: tuple[str | None, ...], errors: list[tuple[str, str]]) -> None:
    found = details_search(*typed, today=TODAY)
    assert isinstance(found, list)
    assert [(e.field, e.text) for e in found] == errors


def test_a_date_wrong_as_a_whole_marks_every_part() -> None:
    whole = FieldError("dob-day", "Date of birth must be a real date", DATE_PARTS)
    assert whole.marked == DATE_PARTS
    assert FieldError("dob-month", "Date of birth must include a month").marked == ("dob-month",)
