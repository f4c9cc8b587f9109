"""Components and settlement lines in plain words, checked against the demo contracts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wholesystem.finance.actuals import read_actuals
from wholesystem.finance.contracts import Contract, load_contracts, parse_contracts
from wholesystem.finance.describe import (
    component_terms,
    describe_component,
    explain_line,
    percent,
    units,
)
from wholesystem.finance.settlement import settle
from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS

TIMES = "\N{MULTIPLICATION SIGN}"


def demo(contract_id: str) -> Contract:
    return next(c for c in load_contracts(DEMO_CONTRACTS).contracts if c.id == contract_id)


@pytest.mark.parametrize(
    ("rate", "text"),
    [(Decimal("0.2"), "20%"), (Decimal("0.0125"), "1.25%"), (Decimal("1"), "100%")],
)
def test_percent(rate: Decimal, text: str) -> None:
    assert percent(rate) == text


def test_units() -> None:
    assert units(Decimal("10800")) == "10,800"
    assert units(Decimal("10800.50")) == "10,800.5"


@pytest.mark.parametrize(
    ("contract_id", "component", "sentence"),
    [
        ("R9A-ACUTE-DEMO", 0, "QNS pays R9A a fixed £15,000,000.00."),
        (
            "R9A-ACUTE-DEMO",
            3,
            "2,080 units of elective_spells are planned at £5,000.00 each; each unit above plan "
            "is paid at 75% of the price and each unit below plan is taken back at 75% of the "
            "price.",
        ),
        (
            "R9A-ACUTE-DEMO",
            4,
            "£317,500.00 (1.25% of the £25,400,000.00 contract value) is held for quality on "
            "cquin_flu (50%), cquin_sepsis (50%); what is not achieved is withdrawn from R9A in "
            "proportion.",
        ),
        (
            "QNS-R9C-COMMUNITY-SHARE",
            0,
            "R9C shares the gain or loss of community_spend spend against a benchmark of "
            "£30,000,000.00: 0% from 0% to 1%; 50% from 1% upwards of the benchmark; capped at "
            "£750,000.00.",
        ),
        (
            "NORTHAM-BCF",
            0,
            "A pooled budget for bcf_pool (QNS £6,000,000.00, E06000990 £4,000,000.00); an under- "
            "or overspend is shared pro rata to contributions; a variance beyond 5% of the pool "
            "raises a notice.",
        ),
    ],
)
def test_each_mechanism_in_plain_words(contract_id: str, component: int, sentence: str) -> None:
    contract = demo(contract_id)
    assert describe_component(contract, contract.components[component]) == sentence


def test_no_claw_back_and_upside_only_are_said() -> None:
    text = """
    format = "wholesystem-contracts/1"
    [[contracts]]
    id = "C1"
    commissioner = "QXX"
    provider = "RA1"
      [[contracts.components]]
      id = "v"
      type = "variable"
      unit_price = 100
      planned_units = 10
      rate_above = 1
      rate_below = 0
      [[contracts.components]]
      id = "s"
      type = "gain_loss_share"
      benchmark = 1000
      share_rate = 0.5
      corridor = 0.02
      corridor_basis = "first_pound"
      direction = "upside_only"
    """
    (contract,) = parse_contracts(text).contracts
    variable, share = contract.components
    assert "activity below plan is not clawed back" in describe_component(contract, variable)
    words = describe_component(contract, share)
    assert "RA1 shares the gain of s spend" in words
    assert "nothing is shared unless the position is at least 2% of the benchmark" in words
    assert "losses are not shared (upside only)" in words
    assert ("first-pound corridor", "2%") in component_terms(share)


def test_the_system_pool_terms_list_each_budget() -> None:
    (component,) = demo("QNS-SYSTEM-POOL").components
    terms = dict(component_terms(component))
    assert terms["key"] == "budget share"
    assert terms["partner R9A"] == "£30,000,000.00"
    assert terms["expected_spend"] == "£120,000,000.00"


def test_each_party_line_is_explained_from_the_engines_workings() -> None:
    settlement = settle(load_contracts(DEMO_CONTRACTS), read_actuals(DEMO_ACTUALS))
    emergency = next(
        c
        for c in settlement.components
        if (c.contract_id, c.component_id) == ("R9A-ACUTE-DEMO", "emergency")
    )
    provider, commissioner = emergency.lines
    assert explain_line(emergency, provider) == (
        "R9A receives £240,000.00 from QNS: 10,800 delivered against a plan of 10,000: 800 above "
        f"plan {TIMES} £1,500.00 {TIMES} 20% = £240,000.00."
    )
    assert explain_line(emergency, commissioner).startswith("QNS pays £240,000.00 to R9A: ")
    pool = next(c for c in settlement.components if c.component_id == "system-pool")
    first = pool.lines[0]
    assert explain_line(pool, first).startswith(f"{first.party} bears a loss of £")
