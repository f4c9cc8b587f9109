"""The joined-up record's presenters: what the page shows for each kind of item."""

from __future__ import annotations

from datetime import date

import pytest

from wholesystem.record.view.assemble import Allergy, MedicationLine, Problem, Registration
from wholesystem.record.view.presenters import (
    allergy_rows,
    current_registration,
    medication_rows,
    problem_rows,
    registration_rows,
)

NAMES = {"A00001": "Hill Surgery"}


def _registration(code: str, start: date | None, end: date | None = None) -> Registration:
    return Registration(code, start, end, current=end is None, record_id="r1")


@pytest.mark.parametrize(
    ("registration", "shown"),
    [
        (None, None),
        (
            _registration("A00001", date(2020, 3, 1)),
            {"practice": "Hill Surgery (A00001)", "since": "1 Mar 2020"},
        ),
        # A practice the footprint does not name shows its code alone; no date, no "since".
        (_registration("Z99999", None), {"practice": "Z99999", "since": ""}),
    ],
)
def test_the_current_registration(
    registration: Registration | None, shown: dict[str, str] | None
) -> None:
    assert current_registration(registration, NAMES) == shown


def test_registrations_keep_their_order_and_say_which_is_current() -> None:
    rows = registration_rows(
        [
            _registration("A00001", date(2019, 1, 5), date(2020, 2, 29)),
            _registration("Z99999", date(2020, 3, 1)),
        ],
        NAMES,
    )
    assert rows == [
        {
            "practice": "Hill Surgery (A00001)",
            "from": "5 Jan 2019",
            "to": "29 Feb 2020",
            "current": False,
        },
        {"practice": "Z99999", "from": "1 Mar 2020", "to": "", "current": True},
    ]


def test_coded_items_show_their_display_or_else_their_code() -> None:
    problems = [
        Problem("44054006", "snomed", "Diabetes mellitus type 2", date(2015, 6, 1), None,
                ("A00001", "RA1"), 3),
        Problem("J45.9", None, None, None, None, ("RA1",), 1),
    ]  # fmt: skip
    assert problem_rows(problems) == [
        {
            "display": "Diabetes mellitus type 2",
            "code": "44054006",
            "system": "snomed",
            "onset": "1 Jun 2015",
            "sources": "A00001, RA1",
        },
        {"display": "J45.9", "code": "J45.9", "system": "", "onset": "", "sources": "RA1"},
    ]
    medicines = [
        MedicationLine("322236009", "snomed", None, date(2024, 1, 2), date(2024, 6, 30), 6,
                       ("A00001",)),
    ]  # fmt: skip
    assert medication_rows(medicines) == [
        {
            "display": "322236009",
            "code": "322236009",
            "system": "snomed",
            "first": "2 Jan 2024",
            "last": "30 Jun 2024",
            "issues": 6,
            "sources": "A00001",
        }
    ]
    allergies = [
        Allergy("r9", "A00001", "gp_allergies", "91936005", "snomed", "Penicillin allergy",
                date(2010, 5, 17), None),
    ]  # fmt: skip
    assert allergy_rows(allergies) == [
        {
            "display": "Penicillin allergy",
            "code": "91936005",
            "system": "snomed",
            "recorded": "17 May 2010",
            "status": "",
            "source": "A00001",
        }
    ]
