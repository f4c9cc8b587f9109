"""What-ifs: pure, exact, and the ledger untouched."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wholesystem.finance.actuals import Actual, Actuals, Measure
from wholesystem.finance.contracts import parse_contracts
from wholesystem.finance.ledger import ACCOUNT_CODES, LineAmounts
from wholesystem.finance.position import MonthReturn, system_position
from wholesystem.finance.whatif import (
    Scenario,
    TermChange,
    WhatIfError,
    parse_term_change,
    run_what_if,
    scenario_from,
)

D = Decimal

# The worked example of the issue: fixed £15,000,000 on a plan of 10,000 spells at £1,500
# with a +/- 20% marginal rate (the 2019/20 blended payment for emergency care).
CONTRACTS = parse_contracts(
    """
format = "wholesystem-contracts/1"
[[contracts]]
id = "ACUTE"
commissioner = "QXX"
provider = "RA1"
  [[contracts.components]]
  id = "fixed"
  type = "fixed"
  amount = 15_000_000
  [[contracts.components]]
  id = "emergency"
  type = "variable"
  line = "emergency_spells"
  unit_price = 1500
  planned_units = 10000
  rate_above = 0.20
  rate_below = 0.20
"""
)


def actuals(units: str) -> Actuals:
    return Actuals.of([Actual("ACUTE", "emergency_spells", Measure.DELIVERED_UNITS, D(units), 2)])


def position(savings_plan: str = "1200.00", savings_forecast: str = "1000.00") -> object:
    lines = {code: LineAmounts(D("0.00"), D("0.00"), D("0.00")) for code in ACCOUNT_CODES}
    # One month (March, the last of the year): annual figures are the month's.
    lines["efficiency_savings"] = LineAmounts(D(savings_plan), D(savings_forecast), D("0.00"))
    lines["income"] = LineAmounts(D("500.00"), D("500.00"), D("500.00"))
    return system_position(
        [MonthReturn("RA1", date(2025, 3, 1), lines)], 2024, date(2025, 3, 1), ["RA1", "QXX"]
    )


@pytest.mark.parametrize(
    ("units", "scenario", "provider_after"),
    [
        ("10000", Scenario(), "15000000.00"),
        # +8% activity on plan: 10,800 spells -> £15,240,000 (the worked example).
        ("10000", Scenario(activity_pct=D(8)), "15240000.00"),
        # -6%: 9,400 spells -> £14,820,000.
        ("10000", Scenario(activity_pct=D(-6)), "14820000.00"),
        # Prices +10% at 10,800 spells: 800 x £1,650 x 20% = £264,000.
        ("10800", Scenario(price_pct=D(10)), "15264000.00"),
        # A contract term: 50% above plan at 10,800: 800 x £1,500 x 50% = £600,000.
        (
            "10800",
            Scenario(terms=(TermChange("ACUTE", "emergency", "rate_above", D("0.5")),)),
            "15600000.00",
        ),
    ],
)
def test_settlement_before_and_after(units: str, scenario: Scenario, provider_after: str) -> None:
    result = run_what_if(position(), CONTRACTS, actuals(units), scenario)  # type: ignore[arg-type]
    rows = {r.org_code: r for r in result.rows}
    assert rows["RA1"].settlement_after == D(provider_after)
    assert rows["QXX"].settlement_after == -D(provider_after)
    # Bilateral terms move money, so the system's settlement is unchanged.
    assert result.system.settlement_after == result.system.settlement_before == 0
    assert rows["RA1"].forecast_after == rows["RA1"].forecast_before + rows["RA1"].settlement_change


def test_savings_delivery_moves_the_surplus_pound_for_pound() -> None:
    result = run_what_if(
        position("1200.00", "1000.00"),  # type: ignore[arg-type]
        CONTRACTS,
        actuals("10000"),
        Scenario(savings_delivery_pct=D(75)),
    )
    ra1 = next(r for r in result.rows if r.org_code == "RA1")
    assert ra1.savings_effect == D("900.00") - D("1000.00")
    assert ra1.forecast_after == D("500.00") - D("100.00")
    assert result.system.savings_effect == D("-100.00")


def test_inputs_are_untouched() -> None:
    acts = actuals("10800")
    run_what_if(position(), CONTRACTS, acts, Scenario(activity_pct=D(50), price_pct=D(5)))  # type: ignore[arg-type]
    assert acts.rows[0].value == D("10800")
    component = CONTRACTS.contracts[0].components[1]
    assert component.unit_price == D("1500")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ACUTE:emergency:rate_above", "CONTRACT:COMPONENT:field=value"),
        ("ACUTE:emergency:rate_above=lots", "not a number"),
    ],
)
def test_bad_term_text(text: str, message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        parse_term_change(text)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("NOPE:emergency:rate_above=0.5", "no such contract"),
        ("ACUTE:nope:rate_above=0.5", "no such component"),
        ("ACUTE:emergency:rate_above=1.5", "fraction from 0 to 1"),
        ("ACUTE:emergency:colour=1", "not a term"),
        ("ACUTE:fixed:amount=-1", "must not be negative"),
    ],
)
def test_bad_term_changes_are_refused(term: str, message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        run_what_if(position(), CONTRACTS, actuals("10000"), scenario_from(terms=[term]))  # type: ignore[arg-type]
