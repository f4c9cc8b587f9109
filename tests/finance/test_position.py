"""Position against control totals, YTD and forecast outturn, and the variance bridge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wholesystem.finance.ledger import ACCOUNT_CODES, LineAmounts
from wholesystem.finance.position import (
    MonthReturn,
    months_elapsed,
    org_position,
    system_position,
    variance_bridge,
)

D = Decimal
Z = LineAmounts(D("0.00"), D("0.00"), D("0.00"))


def month_return(
    org: str, period: date, income: tuple[str, str, str], non_pay: tuple[str, str, str]
) -> MonthReturn:
    lines = {code: Z for code in ACCOUNT_CODES}
    lines["income"] = LineAmounts(*(D(x) for x in income))
    lines["non_pay"] = LineAmounts(*(D(x) for x in non_pay))
    return MonthReturn(org, period, lines)


APR, MAY, JUN = date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)
RETURNS = [
    # plan, actual, forecast
    month_return("A", APR, ("100", "100", "100"), ("90", "95", "90")),
    month_return("A", MAY, ("100", "110", "104"), ("90", "92", "93")),
    month_return("B", APR, ("50", "50", "50"), ("50", "48", "50")),
    month_return("B", MAY, ("50", "50", "50"), ("50", "55", "52")),
    month_return("A", date(2024, 3, 1), ("999", "999", "999"), ("0", "0", "0")),  # last year
]


@pytest.mark.parametrize(
    ("period", "elapsed"), [(APR, 1), (date(2024, 12, 1), 9), (date(2025, 3, 1), 12)]
)
def test_months_elapsed(period: date, elapsed: int) -> None:
    assert months_elapsed(period) == elapsed


@pytest.mark.parametrize(
    ("org", "as_at", "ytd_plan", "ytd_actual", "plan", "forecast"),
    [
        # A as at April: surplus plan 10, actual 5; 11 months left at plan 10, forecast 10.
        ("A", APR, "10", "5", "120", "115"),
        # A as at May: YTD plan 20, actual 5+18=23; 10 left: plan 10, forecast 104-93=11.
        ("A", MAY, "20", "23", "120", "133"),
        # B as at May: YTD plan 0, actual 2-5=-3; 10 left at forecast 50-52=-2.
        ("B", MAY, "0", "-3", "0", "-23"),
        # Nothing reported in the year yet.
        ("C", MAY, "0", "0", "0", "0"),
    ],
)
def test_org_position_table(
    org: str, as_at: date, ytd_plan: str, ytd_actual: str, plan: str, forecast: str
) -> None:
    p = org_position(org, 2024, RETURNS, as_at)
    assert (p.ytd_plan, p.ytd_actual, p.plan, p.forecast) == (
        D(ytd_plan),
        D(ytd_actual),
        D(plan),
        D(forecast),
    )
    assert p.control_total == p.plan
    assert not p.control_total_set
    assert p.variance == p.forecast - p.plan


def test_a_control_total_held_as_data_replaces_the_plan() -> None:
    p = org_position("A", 2024, RETURNS, MAY, D("150"))
    assert p.control_total == D("150")
    assert p.control_total_set
    assert p.variance == D("133") - D("150")


def test_the_system_is_the_sum_of_its_partners() -> None:
    s = system_position(RETURNS, 2024, MAY, ["A", "B", "C"], {"B": D("-10")})
    assert s.control_total == D("120") + D("-10") + D("0")
    assert s.forecast == D("133") + D("-23")
    assert s.variance == s.forecast - s.control_total
    assert s.ytd_variance == D("3") + D("-3")
    totals = {line.account: line for line in s.line_totals()}
    assert totals["income"].ytd_actual == D("100") + D("110") + D("50") + D("50")


def test_the_bridge_names_the_partner_and_line_that_moved() -> None:
    bridge = variance_bridge(RETURNS, MAY, ["A", "B"])
    assert bridge.previous == APR
    # Position as at April: A forecast 115 vs plan 120 (-5); B -2*... B April: ytd 2, 11 left
    # at 0 = 2 vs plan 0: +2. Variance before = -3. As at May: A 133-120 = 13, B -23-0 = -23.
    assert bridge.variance_before == D("-3")
    assert bridge.variance_after == D("-10")
    assert sum((i.change for i in bridge.items), D(0)) == bridge.change == D("-7")
    # A's income forecast 100 + 11 x 100 = 1200 -> 210 + 10 x 104 = 1250 (+50); A's non-pay
    # 95 + 11 x 90 = 1085 -> 187 + 10 x 93 = 1117 (-32); B's non-pay 48 + 11 x 50 = 598 ->
    # 103 + 10 x 52 = 623 (-25); B's income 600 -> 600 (no item). Largest effect first.
    assert [(i.org_code, i.account, i.change) for i in bridge.items] == [
        ("A", "income", D("50")),
        ("A", "non_pay", D("-32")),
        ("B", "non_pay", D("-25")),
    ]
    assert dict(bridge.by_partner()) == {"A": D("13") - D("-5"), "B": D("-23") - D("2")}


def test_the_first_month_of_the_year_bridges_from_nothing() -> None:
    bridge = variance_bridge(RETURNS, APR, ["A", "B"])
    assert bridge.previous is None
    assert bridge.variance_before == 0
    assert sum((i.change for i in bridge.items), D(0)) == bridge.variance_after


def test_a_changed_control_total_is_its_own_bridge_item() -> None:
    returns = [*RETURNS, month_return("A", JUN, ("100", "100", "100"), ("90", "90", "90"))]
    bridge = variance_bridge(returns, JUN, ["A"], None)
    assert sum((i.change for i in bridge.items), D(0)) == bridge.change
    # A's plan (the control total) is 120 before and after: no control-total item.
    assert all(i.account != "control_total" for i in bridge.items)


money = st.decimals(min_value=-10_000, max_value=10_000, places=2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.integers(min_value=0, max_value=11),
            st.tuples(money, money, money),
            st.tuples(money, money, money),
        ),
        max_size=20,
        unique_by=lambda t: (t[0], t[1]),
    ),
    st.integers(min_value=0, max_value=11),
)
def test_the_bridge_always_sums_to_the_change(
    rows: list[tuple[str, int, tuple[Decimal, ...], tuple[Decimal, ...]]], at: int
) -> None:
    months = [date(2024 + (3 + k) // 12, (3 + k) % 12 + 1, 1) for k in range(12)]
    returns = []
    for org, k, inc, non in rows:
        lines = {code: Z for code in ACCOUNT_CODES}
        lines["income"] = LineAmounts(*inc)
        lines["non_pay"] = LineAmounts(*non)
        returns.append(MonthReturn(org, months[k], lines))
    bridge = variance_bridge(returns, months[at], ["A", "B", "C"], {"C": D("5.00")})
    assert sum((i.change for i in bridge.items), D(0)) == bridge.change
