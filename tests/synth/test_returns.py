"""Monthly returns: shape, money format, and agreement with the activity."""

from __future__ import annotations

import re

from .conftest import Ics

MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
PARTNERS = {"QNS", "R9A", "R9B", "R9C", "R9D", "E06000990", "E10000990"}


def test_finance_return(ics: Ics) -> None:
    rows = ics.rows("returns/finance.csv")
    assert ics.header("returns/finance.csv") == [
        "org_code",
        "month",
        "category",
        "plan",
        "actual",
        "forecast",
    ]
    assert {r["org_code"] for r in rows} == PARTNERS
    months = sorted({r["month"] for r in rows})
    assert months[0] == "2021-04"
    assert months[-1] == "2026-03"
    assert len(months) == 60
    categories = {r["category"] for r in rows}
    assert {
        "income",
        "pay_medical",
        "pay_nursing",
        "pay_other",
        "non_pay",
        "efficiency_savings",
        "capital",
    } == categories
    assert len(rows) == len(PARTNERS) * 60 * len(categories)
    for r in rows:
        for col in ("plan", "actual", "forecast"):
            assert MONEY.match(r[col]), r[col]
    income = [
        float(r["actual"]) for r in rows if r["category"] == "income" and r["org_code"] == "R9A"
    ]
    assert min(income) > 0


def test_workforce_return(ics: Ics) -> None:
    rows = ics.rows("returns/workforce.csv")
    assert ics.header("returns/workforce.csv") == [
        "org_code",
        "month",
        "staff_group",
        "wte_in_post",
        "wte_vacancy",
        "sickness_rate",
        "bank_spend",
        "agency_spend",
    ]
    assert {r["org_code"] for r in rows} == PARTNERS
    for r in rows:
        assert float(r["wte_in_post"]) >= 0
        assert float(r["wte_vacancy"]) >= 0
        assert 0 < float(r["sickness_rate"]) < 0.3
        assert MONEY.match(r["bank_spend"])
        assert MONEY.match(r["agency_spend"])


def test_beds_return_follows_the_spells(ics: Ics) -> None:
    rows = ics.rows("returns/beds.csv")
    assert ics.header("returns/beds.csv") == [
        "org_code",
        "month",
        "core_beds",
        "escalation_beds",
        "occupied",
        "no_criteria_to_reside",
    ]
    assert {r["org_code"] for r in rows} == {"R9A", "R9B", "R9C", "R9D"}
    for r in rows:
        occupied = int(r["occupied"])
        assert 0 <= int(r["no_criteria_to_reside"]) <= occupied
        assert occupied <= int(r["core_beds"]) + int(r["escalation_beds"])
    acute = [int(r["occupied"]) for r in rows if r["org_code"] == "R9A"]
    assert sum(acute) > 0
