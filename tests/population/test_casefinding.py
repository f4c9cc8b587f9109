"""The case-finding rule, as a table of cases."""

from __future__ import annotations

from typing import Any

import pytest

from wholesystem.population.casefinding import criteria_met, find_cases


def row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "person_id": "P1",
        "tier": "top_0_5",
        "segment": "long_term_condition",
        "risk": 0.5,
        "risk_rank": 1,
        "emergency_admissions_12m": 0,
        "ae_attendances_12m": 0,
        "reasons": ["Heart failure"],
    }
    base.update(values)
    return base


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, ()),  # high risk, no activity or complexity: not now
        (
            {"emergency_admissions_12m": 2},
            ("2 emergency admissions in the last 12 months",),
        ),
        ({"emergency_admissions_12m": 1}, ()),
        ({"ae_attendances_12m": 3}, ("3 A&E attendances in the last 12 months",)),
        ({"ae_attendances_12m": 2}, ()),
        (
            {"segment": "complex_multimorbidity", "emergency_admissions_12m": 1},
            (
                "Living with complex multimorbidity and admitted as an emergency in the last "
                "12 months",
            ),
        ),
        ({"segment": "frailty_and_dementia", "emergency_admissions_12m": 0}, ()),
        (
            {"segment": "frailty_and_dementia", "emergency_admissions_12m": 2},
            (
                "2 emergency admissions in the last 12 months",
                "Living with frailty or dementia and admitted as an emergency in the last "
                "12 months",
            ),
        ),
        (
            {"tier": "p0_5_to_5", "ae_attendances_12m": 5},
            ("5 A&E attendances in the last 12 months",),
        ),
        ({"tier": "p5_to_20", "emergency_admissions_12m": 6}, ()),  # not high risk
        ({"tier": "rest", "ae_attendances_12m": 9}, ()),
        ({"emergency_admissions_12m": None, "ae_attendances_12m": None}, ()),
    ],
)
def test_criteria(values: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert criteria_met(row(**values)) == expected


def test_find_cases_orders_by_risk_and_leaves_out_those_under_review() -> None:
    rows = [
        row(person_id="A", risk=0.3, emergency_admissions_12m=2),
        row(person_id="B", risk=0.9, ae_attendances_12m=4, reasons=["Frailty", "COPD"]),
        row(person_id="C", risk=0.7, emergency_admissions_12m=3),
        row(person_id="D", risk=0.99),  # no criterion
        row(person_id="E", risk=0.95, tier="p5_to_20", emergency_admissions_12m=4),
    ]
    cases = find_cases(rows, {"C"})
    assert [c.person_id for c in cases] == ["B", "A"]
    assert cases[0].reasons == ("Frailty", "COPD")
    assert cases[0].criteria == ("4 A&E attendances in the last 12 months",)
    assert find_cases([], set()) == []
