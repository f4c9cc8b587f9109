from __future__ import annotations

from typing import Any

import pytest

from wholesystem.record.linkage.engine import contradicts

BASE: dict[str, Any] = {
    "nhs_number": "9434765919",
    "given_name": "Jack",
    "family_name": "Smith",
    "date_of_birth": "2001-05-06",
    "sex": "M",
    "postcode": "NS1 2AB",
}


@pytest.mark.parametrize(
    ("change", "contradict", "why"),
    [
        ({}, False, "identical"),
        ({"given_name": "Jak"}, False, "typo in given name"),
        ({"given_name": "John"}, False, "Jack is a nickname of John"),
        ({"family_name": "Smyth"}, False, "typo in family name"),
        ({"family_name": "Clarke"}, False, "surname change alone"),
        ({"postcode": "NS9 9ZZ"}, False, "moved"),
        ({"date_of_birth": "2001-06-05"}, False, "day/month swap"),
        ({"date_of_birth": "2001-05-07"}, False, "one day out"),
        ({"date_of_birth": "2002-05-06"}, False, "one digit of the year"),
        ({"date_of_birth": None, "given_name": None}, False, "missing values never contradict"),
        ({"sex": "F"}, False, "sex differs but the name agrees"),
        ({"given_name": "Jacob"}, True, "twin: same dob and surname, different given name"),
        ({"given_name": "Emily", "sex": "F"}, True, "sister"),
        ({"date_of_birth": "1972-11-23"}, True, "father with the same name"),
        (
            {
                "given_name": "Jack",
                "family_name": "Jones",
                "sex": "F",
                "date_of_birth": "2001-05-06",
            },
            True,
            "sex and family name both differ",
        ),
    ],
)
def test_contradiction_rule(change: dict[str, Any], contradict: bool, why: str) -> None:
    assert contradicts(BASE, {**BASE, **change}) is contradict, why
