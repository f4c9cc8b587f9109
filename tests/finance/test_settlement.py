"""The settlement engine: every mechanism, the worked example, published NHS parameters.

Published parameters are those summarised in /work/shared/reference/nhs-rules.md ("Payment
mechanisms"), from NHS England / NHS Improvement's National Tariff Payment System 2019/20
(blended payment for emergency care), the 2022/23 National Tariff (aligned payment and
incentive), the 2023/25 NHS Payment Scheme, the section 75 (NHS Act 2006) partnership
arrangements, Monitor (2015) "Multilateral gain/loss sharing" and the Strategy Unit (2018)
"Risk and reward sharing for NHS integrated care systems".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wholesystem.finance.actuals import Actual, Actuals, Measure
from wholesystem.finance.contracts import (
    Component,
    Contract,
    ContractSet,
    Direction,
    FixedPayment,
    GainLossPool,
    GainLossShare,
    PartyAmount,
    PartyWeight,
    PooledBudget,
    PoolKey,
    QualityIncentive,
    QualityIndicator,
    ShareBand,
    VariableActivity,
)
from wholesystem.finance.money import exact
from wholesystem.finance.settlement import (
    ComponentSettlement,
    Role,
    Settlement,
    SettlementError,
    pool_shares,
    quality_withdrawal,
    settle,
    settle_component,
    shared_amount,
    variable_amount,
)

D = Decimal


def contract(*components: Component, cid: str = "C1") -> Contract:
    return Contract(cid, cid, "QNS", "RN1", tuple(components))


def actuals(*rows: tuple[str, Measure, Decimal | str], cid: str = "C1") -> Actuals:
    return Actuals.of(
        Actual(cid, line, measure, D(value), k + 2) for k, (line, measure, value) in enumerate(rows)
    )


def settle_one(
    c: Contract, rows: Sequence[tuple[str, Measure, Decimal | str]]
) -> tuple[ComponentSettlement, ...]:
    return settle(ContractSet((c,)), actuals(*rows, cid=c.id)).components


def provider_total(components: Sequence[ComponentSettlement]) -> Decimal:
    return sum(
        (line.amount for c in components for line in c.lines if line.role is Role.PROVIDER),
        D(0),
    )


def emergency(rate_above: str = "0.20", rate_below: str = "0.20") -> VariableActivity:
    return VariableActivity("emergency", "spells", D(1500), D(10000), D(rate_above), D(rate_below))


# ------------------------------------------------------------------ the worked example


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("10800", D("15240000.00")),  # 800 above plan x £1,500 x 20% = +£240,000
        ("9400", D("14820000.00")),  # 600 below plan x £1,500 x 20% = -£180,000
        ("10000", D("15000000.00")),  # exactly on plan: the fixed payment
    ],
)
def test_worked_example_2019_20_blended_payment(delivered: str, expected: Decimal) -> None:
    # Issue 6: fixed £15,000,000 on a plan of 10,000 emergency spells at £1,500 with a ±20%
    # marginal rate (2019/20 blended payment for emergency care, nhs-rules.md).
    c = contract(FixedPayment("fixed", D(15_000_000)), emergency())
    components = settle_one(c, [("spells", Measure.DELIVERED_UNITS, delivered)])
    assert provider_total(components) == expected
    assert str(provider_total(components)) == str(expected)  # to the penny, 2 places
    for component in components:
        assert sum(line.amount for line in component.lines) == 0  # a transfer nets to zero


# ------------------------------------------------------------------ published parameters


@pytest.mark.parametrize(
    ("rule", "rate_above", "rate_below", "delivered", "expected"),
    [
        # Before 2019 (marginal rate emergency tariff): activity above the baseline at 70% of
        # tariff; below the baseline the activity is simply not paid (100% of price).
        ("pre-2019 MRET above", "0.70", "1", "10500", D("525000.00")),
        ("pre-2019 MRET below", "0.70", "1", "9900", D("-150000.00")),
        # 2019/20 blended payment for emergency care: ± 20% of price per unit of variance.
        ("2019/20 blended above", "0.20", "0.20", "10001", D("300.00")),
        ("2019/20 blended below", "0.20", "0.20", "9999", D("-300.00")),
        # 2022/23 aligned payment and incentive: variable element at 75% of unit price.
        ("2022/23 API above", "0.75", "0.75", "10100", D("112500.00")),
        ("2022/23 API below", "0.75", "0.75", "9900", D("-112500.00")),
        # An upside-only variable element (no claw-back below plan).
        ("no claw-back", "0.75", "0", "9000", D("0.00")),
        # 2023/24-2024/25: elective activity at 100% of unit prices.
        ("2023/25 elective at 100%", "1", "1", "10120", D("180000.00")),
    ],
)
def test_published_marginal_rates(
    rule: str, rate_above: str, rate_below: str, delivered: str, expected: Decimal
) -> None:
    amount = variable_amount(D(1500), D(10000), D(delivered), D(rate_above), D(rate_below))
    assert amount == expected, rule


def test_2022_23_aligned_payment_and_incentive_contract() -> None:
    # 2022/23 API (nhs-rules.md): the fixed payment includes 104% of 2019/20 elective activity
    # by value (2,000 spells x £5,000 = £10m -> £10.4m, 2,080 spells); the variable element is
    # 75% of unit price; CQUIN is 1.25% of contract value held in the fixed payment.
    c = contract(
        FixedPayment("elective-fixed", D(10_400_000)),
        VariableActivity("elective", "elective", D(5000), D(2080), D("0.75"), D("0.75")),
        QualityIncentive("cquin", D(10_400_000), D("0.0125"), (QualityIndicator("cquin", D(1)),)),
    )
    components = settle_one(
        c,
        [
            ("elective", Measure.DELIVERED_UNITS, "2200"),
            ("cquin", Measure.ACHIEVEMENT, "0.6"),
        ],
    )
    by_id = {s.component_id: s.total for s in components}
    assert by_id == {
        "elective-fixed": D("10400000.00"),
        "elective": D("450000.00"),  # 120 x £5,000 x 75%
        "cquin": D("-52000.00"),  # 40% of £130,000 held withdrawn
    }
    assert provider_total(components) == D("10798000.00")


def test_section_75_pool_pro_rata_with_a_5_percent_tolerance() -> None:
    # Section 75 (nhs-rules.md): over/underspends shared pro rata to contributions unless
    # agreed otherwise; a tolerance (often 5%) triggers notice.
    pool = PooledBudget(
        "bcf",
        "bcf",
        (PartyAmount("QNS", D(6_000_000)), PartyAmount("E06000901", D(4_000_000))),
        None,
        D("0.05"),
    )
    within = settle_one(contract(pool), [("bcf", Measure.ACTUAL_SPEND, "10450000")])[0]
    assert [(line.party, line.amount) for line in within.lines] == [
        ("QNS", D("-270000.00")),
        ("E06000901", D("-180000.00")),
    ]
    assert within.notices == ()
    beyond = settle_one(contract(pool), [("bcf", Measure.ACTUAL_SPEND, "10600000")])[0]
    assert beyond.total == D("-600000.00")
    assert len(beyond.notices) == 1
    assert "6% of the pool" in beyond.notices[0]
    assert "5% tolerance" in beyond.notices[0]


# ------------------------------------------------------------------ variable


@pytest.mark.parametrize(
    ("planned", "delivered", "above", "below", "expected"),
    [
        ("10000", "10000", "0.2", "0.2", "0.00"),  # exactly on plan
        ("10000", "0", "0.2", "0.2", "-3000000.00"),  # zero activity: 10,000 x 1,500 x 20%
        ("0", "0", "0.2", "0.2", "0.00"),  # nothing planned, nothing done
        ("0", "3", "0.2", "0.2", "900.00"),  # nothing planned, some done
        ("10000", "0", "0.2", "0", "0.00"),  # no claw-back, even at zero activity
        ("10000", "12000", "0", "0.2", "0.00"),  # no payment above plan
        ("100.5", "101", "0.2", "0.2", "150.00"),  # fractional (weighted) units
        ("3", "4", "0.333", "0.333", "499.50"),
    ],
)
def test_variable_edges(
    planned: str, delivered: str, above: str, below: str, expected: str
) -> None:
    assert variable_amount(D(1500), D(planned), D(delivered), D(above), D(below)) == D(expected)


def test_variable_rounds_half_even_once() -> None:
    # 1 unit x £0.05 x 50% = 2.5p -> 2p (even); 3 units -> 7.5p -> 8p (even).
    assert variable_amount(D("0.05"), D(0), D(1), D("0.5"), D("0.5")) == D("0.02")
    assert variable_amount(D("0.05"), D(0), D(3), D("0.5"), D("0.5")) == D("0.08")


units = st.integers(min_value=0, max_value=10**7)
rates = st.decimals(min_value=0, max_value=1, places=4)
prices = st.integers(min_value=0, max_value=10**8).map(lambda p: D(p) / 100)


@given(prices, units, st.integers(min_value=0, max_value=10**6), rates)
def test_symmetric_rates_give_symmetric_variable_amounts(
    price: Decimal, planned: int, delta: int, rate: Decimal
) -> None:
    up = variable_amount(price, D(planned + delta), D(planned + 2 * delta), rate, rate)
    down = variable_amount(price, D(planned + delta), D(planned), rate, rate)
    assert up == -down


@given(prices, units, units, rates, rates)
def test_variable_is_monotone_and_zero_on_plan(
    price: Decimal, planned: int, delivered: int, above: Decimal, below: Decimal
) -> None:
    assert variable_amount(price, D(planned), D(planned), above, below) == 0
    here = variable_amount(price, D(planned), D(delivered), above, below)
    more = variable_amount(price, D(planned), D(delivered + 1), above, below)
    assert more >= here
    assert (here >= 0) == (delivered >= planned) or here == 0


# ------------------------------------------------------------------ quality


@pytest.mark.parametrize(
    ("achievement", "expected"),
    [
        ("1", "0.00"),  # fully achieved: nothing withdrawn
        ("0", "-187500.00"),  # nothing achieved: all 1.25% of £15m withdrawn
        ("0.8", "-37500.00"),
        ("0.5", "-93750.00"),
        # 0.66667 x £187,500 = £125,000.625 exactly: half to even -> .62
        ("0.33333", "-125000.62"),
        ("0.33335", "-124996.88"),  # 0.66665 x £187,500 = £124,996.875: half to even -> .88
    ],
)
def test_quality_withdrawal(achievement: str, expected: str) -> None:
    assert quality_withdrawal(D(15_000_000), D("0.0125"), D(achievement)) == D(expected)


def test_quality_withdrawal_rounds_half_to_even() -> None:
    # -(1 - 0.5) x 1 x £0.01 = -0.5p -> 0p; x £0.03 = -1.5p -> -2p.
    assert quality_withdrawal(D("0.01"), D(1), D("0.5")) == D("0.00")
    assert quality_withdrawal(D("0.03"), D(1), D("0.5")) == D("-0.02")


def test_quality_weighted_indicators() -> None:
    q = QualityIncentive(
        "cquin",
        D(25_400_000),
        D("0.0125"),
        (QualityIndicator("flu", D("0.5")), QualityIndicator("sepsis", D("0.5"))),
    )
    s = settle_one(
        contract(q),
        [("flu", Measure.ACHIEVEMENT, "1"), ("sepsis", Measure.ACHIEVEMENT, "0.6")],
    )[0]
    assert s.total == D("-63500.00")
    assert s.transfer
    assert "achievement 80%" in s.workings


# ------------------------------------------------------------------ gain/loss share


def simple_bands(share: str, corridor: str = "0") -> tuple[ShareBand, ...]:
    if D(corridor) == 0:
        return (ShareBand(D(0), None, D(share)),)
    return (ShareBand(D(0), D(corridor), D(0)), ShareBand(D(corridor), None, D(share)))


BENCHMARK = D(40_000_000)


@pytest.mark.parametrize(
    ("position", "bands", "threshold", "cap", "direction", "expected"),
    [
        # no variance
        ("0", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "0.00"),
        # a plain 50% share both ways
        ("1000000", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "500000.00"),
        ("-1000000", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "-500000.00"),
        # upside only: gains shared, losses not
        ("1000000", simple_bands("0.5"), "0", None, Direction.UPSIDE_ONLY, "500000.00"),
        ("-1000000", simple_bands("0.5"), "0", None, Direction.UPSIDE_ONLY, "0.00"),
        # an excess corridor of 1% (£400,000): inside, at, and beyond it
        ("399999.99", simple_bands("0.5", "0.01"), "0", None, Direction.TWO_SIDED, "0.00"),
        ("400000", simple_bands("0.5", "0.01"), "0", None, Direction.TWO_SIDED, "0.00"),
        ("400000.02", simple_bands("0.5", "0.01"), "0", None, Direction.TWO_SIDED, "0.01"),
        ("1500000", simple_bands("0.5", "0.01"), "0", None, Direction.TWO_SIDED, "550000.00"),
        ("-1500000", simple_bands("0.5", "0.01"), "0", None, Direction.TWO_SIDED, "-550000.00"),
        # a first-pound corridor (minimum rate) of 1%: below shares nothing, at it shares all
        ("399999.99", simple_bands("0.5"), "0.01", None, Direction.TWO_SIDED, "0.00"),
        ("400000", simple_bands("0.5"), "0.01", None, Direction.TWO_SIDED, "200000.00"),
        ("-400000", simple_bands("0.5"), "0.01", None, Direction.TWO_SIDED, "-200000.00"),
        # a cap of £1m: below, at, and beyond it, both ways
        ("1999999.98", simple_bands("0.5"), "0", D(1_000_000), Direction.TWO_SIDED, "999999.99"),
        ("2000000", simple_bands("0.5"), "0", D(1_000_000), Direction.TWO_SIDED, "1000000.00"),
        ("9000000", simple_bands("0.5"), "0", D(1_000_000), Direction.TWO_SIDED, "1000000.00"),
        ("-9000000", simple_bands("0.5"), "0", D(1_000_000), Direction.TWO_SIDED, "-1000000.00"),
        # a position larger than the benchmark (spend negative is impossible, but a loss can
        # exceed the benchmark)
        ("-50000000", simple_bands("0.25"), "0", None, Direction.TWO_SIDED, "-12500000.00"),
        # the shared amount rounds half to even: 0.5 x 1p = 0.5p -> 0p; 0.5 x 3p -> 2p
        ("0.01", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "0.00"),
        ("0.03", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "0.02"),
        ("-0.03", simple_bands("0.5"), "0", None, Direction.TWO_SIDED, "-0.02"),
    ],
)
def test_gain_loss_share_table(
    position: str,
    bands: tuple[ShareBand, ...],
    threshold: str,
    cap: Decimal | None,
    direction: Direction,
    expected: str,
) -> None:
    result = shared_amount(D(position), BENCHMARK, bands, D(threshold), cap, direction)
    assert result == D(expected)


TIERS = (
    ShareBand(D(0), D("0.02"), D(0)),
    ShareBand(D("0.02"), D("0.05"), D("0.5")),
    ShareBand(D("0.05"), None, D("0.25")),
)


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ("800000", "0.00"),  # 2%: the top of the corridor band
        ("1200000", "200000.00"),  # 3%: 1% of £40m at 50%
        ("2000000", "600000.00"),  # 5%: 3% at 50%
        ("4000000", "1100000.00"),  # 10%: 3% at 50% + 5% at 25%
        ("-4000000", "-1100000.00"),
    ],
)
def test_tiered_bands_are_marginal(position: str, expected: str) -> None:
    assert shared_amount(D(position), BENCHMARK, TIERS) == D(expected)


def test_bands_with_a_closed_top_share_nothing_beyond_it() -> None:
    bands = (ShareBand(D(0), D("0.1"), D("0.5")),)
    assert shared_amount(D(8_000_000), BENCHMARK, bands) == D("2000000.00")


UEC = GainLossShare(
    "uec", "uec", BENCHMARK, simple_bands("0.5", "0.01"), D(0), D(1_000_000), Direction.TWO_SIDED
)


def gls(**overrides: Any) -> GainLossShare:
    return dataclasses.replace(UEC, **overrides)


@pytest.mark.parametrize(
    ("component", "spend", "total", "notice"),
    [
        (gls(), "40000000", "0.00", None),
        (gls(), "39700000", "0.00", "within the 1% corridor"),
        (gls(), "39600000", "0.00", "within the 1% corridor"),  # exactly at the corridor
        (gls(), "38500000", "550000.00", None),
        (gls(), "30000000", "1000000.00", "the cap of £1,000,000.00 applies"),
        (gls(), "50000000", "-1000000.00", "the cap of £1,000,000.00 applies"),
        (gls(direction=Direction.UPSIDE_ONLY), "41000000", "0.00", "not shared (upside only)"),
        (
            gls(bands=simple_bands("0.5"), threshold=D("0.01")),
            "39700000",
            "0.00",
            "within the 1% corridor",
        ),
        (gls(bands=simple_bands("0.5"), threshold=D("0.01")), "39600000", "200000.00", None),
        (gls(), "0", "1000000.00", "the cap"),  # zero spend: the whole benchmark is a gain
    ],
)
def test_gain_loss_share_settles_with_notices(
    component: GainLossShare, spend: str, total: str, notice: str | None
) -> None:
    s = settle_one(contract(component), [("uec", Measure.ACTUAL_SPEND, spend)])[0]
    assert s.total == D(total)
    assert s.transfer
    assert [(line.party, line.role, line.amount) for line in s.lines] == [
        ("RN1", Role.PROVIDER, D(total)),
        ("QNS", Role.COMMISSIONER, -D(total)),
    ]
    if notice is None:
        assert s.notices == ()
    else:
        assert any(notice in n for n in s.notices), s.notices


positions = st.integers(min_value=-(10**12), max_value=10**12).map(lambda p: D(p) / 100)
benchmarks = st.integers(min_value=1, max_value=10**12).map(lambda p: D(p) / 100)
caps = st.one_of(st.none(), st.integers(min_value=0, max_value=10**11).map(lambda p: D(p) / 100))


@st.composite
def band_sets(draw: st.DrawFn) -> tuple[ShareBand, ...]:
    cuts = sorted(set(draw(st.lists(rates.filter(lambda r: 0 < r < 1), max_size=4))))
    edges = [D(0), *cuts]
    bands = []
    for k, lower in enumerate(edges):
        upper = edges[k + 1] if k + 1 < len(edges) else None
        bands.append(ShareBand(lower, upper, draw(rates)))
    return tuple(bands)


@given(positions, benchmarks, band_sets(), rates, caps)
def test_two_sided_shares_are_symmetric_and_bounded(
    position: Decimal,
    benchmark: Decimal,
    bands: tuple[ShareBand, ...],
    threshold: Decimal,
    cap: Decimal | None,
) -> None:
    gain = shared_amount(position, benchmark, bands, threshold, cap, Direction.TWO_SIDED)
    loss = shared_amount(-position, benchmark, bands, threshold, cap, Direction.TWO_SIDED)
    assert gain == -loss
    assert abs(gain) <= abs(position)  # shares are at most 1
    if cap is not None:
        assert abs(gain) <= cap
    assert gain == 0 or (gain > 0) == (position > 0)
    upside = shared_amount(position, benchmark, bands, threshold, cap, Direction.UPSIDE_ONLY)
    assert upside == (gain if position >= 0 else 0)


@given(benchmarks, band_sets(), rates, caps)
def test_no_variance_shares_nothing(
    benchmark: Decimal, bands: tuple[ShareBand, ...], threshold: Decimal, cap: Decimal | None
) -> None:
    assert shared_amount(D(0), benchmark, bands, threshold, cap) == 0


# ------------------------------------------------------------------ pooled budgets


def s75(
    contributions: Sequence[tuple[str, int | str]],
    key: Sequence[tuple[str, str]] | None = None,
    tolerance: str | None = None,
) -> PooledBudget:
    return PooledBudget(
        "pool",
        "pool",
        tuple(PartyAmount(p, D(a)) for p, a in contributions),
        None if key is None else tuple(PartyWeight(p, D(w)) for p, w in key),
        None if tolerance is None else D(tolerance),
    )


@pytest.mark.parametrize(
    ("pool", "spend", "expected"),
    [
        # exactly on budget
        (s75([("QNS", 600), ("LA1", 400)]), "1000", [("QNS", "0.00"), ("LA1", "0.00")]),
        # an underspend is returned pro rata
        (s75([("QNS", 600), ("LA1", 400)]), "900", [("QNS", "60.00"), ("LA1", "40.00")]),
        # nothing spent: every contribution comes back
        (s75([("QNS", 600), ("LA1", 400)]), "0", [("QNS", "600.00"), ("LA1", "400.00")]),
        # one party
        (s75([("QNS", 1000)]), "1234.56", [("QNS", "-234.56")]),
        # three equal partners, an overspend that does not divide evenly
        (
            s75([("QNS", 100), ("LA1", 100), ("LA2", 100)]),
            "300.01",
            [("QNS", "-0.01"), ("LA1", "0.00"), ("LA2", "0.00")],
        ),
        (
            s75([("QNS", 100), ("LA1", 100), ("LA2", 100)]),
            "301.00",
            [("QNS", "-0.34"), ("LA1", "-0.33"), ("LA2", "-0.33")],
        ),
        # an agreed key overrides contributions
        (
            s75([("QNS", 600), ("LA1", 400)], key=[("QNS", "0.5"), ("LA1", "0.5")]),
            "1100",
            [("QNS", "-50.00"), ("LA1", "-50.00")],
        ),
        # a partner with a zero key weight bears nothing
        (
            s75([("QNS", 600), ("LA1", 400)], key=[("QNS", "1"), ("LA1", "0")]),
            "1100",
            [("QNS", "-100.00"), ("LA1", "0.00")],
        ),
    ],
)
def test_pooled_budget_table(
    pool: PooledBudget, spend: str, expected: list[tuple[str, str]]
) -> None:
    s = settle_one(contract(pool), [("pool", Measure.ACTUAL_SPEND, spend)])[0]
    assert [(line.party, line.amount) for line in s.lines] == [(p, D(a)) for p, a in expected]
    assert all(line.role is Role.PARTNER for line in s.lines)
    assert not s.transfer
    assert sum(line.amount for line in s.lines) == s.total


@pytest.mark.parametrize(
    ("spend", "notice"),
    [
        ("1050", False),  # exactly at the 5% tolerance: no notice
        ("1050.01", True),
        ("950", False),
        ("949.99", True),  # an underspend beyond tolerance is notified too
    ],
)
def test_pooled_budget_tolerance_edges(spend: str, notice: bool) -> None:
    s = settle_one(
        contract(s75([("QNS", 600), ("LA1", 400)], tolerance="0.05")),
        [("pool", Measure.ACTUAL_SPEND, spend)],
    )[0]
    assert bool(s.notices) is notice


# ------------------------------------------------------------------ gain/loss pools


def glp(key: PoolKey, partners: Sequence[tuple[str, str]]) -> GainLossPool:
    return GainLossPool(
        "pool", "pool", D(1_000_000), key, tuple(PartyWeight(p, D(w)) for p, w in partners)
    )


@pytest.mark.parametrize(
    ("pool", "spend", "expected"),
    [
        # equal key, a gain that divides into thirds unevenly
        (
            glp(PoolKey.EQUAL, [("QNS", "1"), ("RN1", "1"), ("RX2", "1")]),
            "999999.99",
            [("QNS", "0.01"), ("RN1", "0.00"), ("RX2", "0.00")],
        ),
        (
            glp(PoolKey.EQUAL, [("QNS", "1"), ("RN1", "1"), ("RX2", "1")]),
            "900000",
            [("QNS", "33333.34"), ("RN1", "33333.33"), ("RX2", "33333.33")],
        ),
        # a loss, by budget share
        (
            glp(PoolKey.BUDGET_SHARE, [("QNS", "50"), ("RN1", "30"), ("RX2", "20")]),
            "1100000",
            [("QNS", "-50000.00"), ("RN1", "-30000.00"), ("RX2", "-20000.00")],
        ),
        # custom weights
        (
            glp(PoolKey.CUSTOM, [("QNS", "0.1"), ("RN1", "0.9")]),
            "999000",
            [("QNS", "100.00"), ("RN1", "900.00")],
        ),
        # one partner
        (glp(PoolKey.EQUAL, [("QNS", "1")]), "1000000", [("QNS", "0.00")]),
        # zero spend: the whole expected spend is the pool
        (
            glp(PoolKey.EQUAL, [("QNS", "1"), ("RN1", "1")]),
            "0",
            [("QNS", "500000.00"), ("RN1", "500000.00")],
        ),
    ],
)
def test_gain_loss_pool_table(
    pool: GainLossPool, spend: str, expected: list[tuple[str, str]]
) -> None:
    s = settle_one(contract(pool), [("pool", Measure.ACTUAL_SPEND, spend)])[0]
    assert [(line.party, line.amount) for line in s.lines] == [(p, D(a)) for p, a in expected]
    assert sum(line.amount for line in s.lines) == s.total == D(1_000_000) - D(spend)
    assert not s.transfer


def test_many_parties_budget_share_by_largest_remainder() -> None:
    # £1,234,567.90 by budgets 50:40:20:10 -> exact shares 514,403.2916.., 411,522.6333..,
    # 205,761.3166.., 102,880.6583..: the two spare pennies go to the largest remainders.
    shares = pool_shares(
        D("1234567.90"),
        [("QNS", D(50)), ("RN1", D(40)), ("RX2", D(20)), ("LA1", D(10))],
    )
    assert [line.amount for line in shares] == [
        D("514403.29"),
        D("411522.63"),
        D("205761.32"),
        D("102880.66"),
    ]


many = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)


@given(many, st.integers(min_value=0, max_value=10**12).map(lambda p: D(p) / 100))
def test_pool_distributions_always_sum_to_the_pool(weights: list[int], spend: Decimal) -> None:
    partners = [(f"P{k:02d}", str(w)) for k, w in enumerate(weights)]
    s = settle_one(
        contract(glp(PoolKey.BUDGET_SHARE, partners)), [("pool", Measure.ACTUAL_SPEND, spend)]
    )[0]
    assert sum(line.amount for line in s.lines) == s.total == D(1_000_000) - spend


# ------------------------------------------------------------------ whole contracts


def test_every_transfer_nets_to_zero_and_every_distribution_sums_to_its_total() -> None:
    c = contract(
        FixedPayment("fixed", D(15_000_000)),
        emergency(),
        QualityIncentive("cquin", D(15_000_000), D("0.0125"), (QualityIndicator("q", D(1)),)),
        gls(),
        s75([("QNS", 600), ("LA1", 400)]),
        glp(PoolKey.EQUAL, [("QNS", "1"), ("RN1", "1"), ("RX2", "1")]),
    )
    components = settle_one(
        c,
        [
            ("spells", Measure.DELIVERED_UNITS, "9400"),
            ("q", Measure.ACHIEVEMENT, "0.75"),
            ("uec", Measure.ACTUAL_SPEND, "38000000"),
            ("pool", Measure.ACTUAL_SPEND, "1000.01"),
        ],
    )
    for s in components:
        if s.transfer:
            assert sum(line.amount for line in s.lines) == 0
            assert s.lines[0].amount == s.total
        else:
            assert sum(line.amount for line in s.lines) == s.total


@given(
    st.integers(min_value=0, max_value=10**9),
    prices,
    units,
    rates,
    rates,
    rates,
    benchmarks,
)
def test_zero_variance_settles_to_the_fixed_payment(
    fixed: int,
    price: Decimal,
    planned: int,
    above: Decimal,
    below: Decimal,
    share: Decimal,
    benchmark: Decimal,
) -> None:
    c = contract(
        FixedPayment("fixed", D(fixed)),
        VariableActivity("var", "var", price, D(planned), above, below),
        QualityIncentive("cquin", D(fixed), share, (QualityIndicator("q", D(1)),)),
        GainLossShare(
            "gls", "gls", benchmark, simple_bands("0.5"), D(0), None, Direction.TWO_SIDED
        ),
    )
    components = settle_one(
        c,
        [
            ("var", Measure.DELIVERED_UNITS, D(planned)),
            ("q", Measure.ACHIEVEMENT, "1"),
            ("gls", Measure.ACTUAL_SPEND, benchmark),
        ],
    )
    assert provider_total(components) == D(fixed)
    net = {p.party: p.amount for p in Settlement(components).party_totals()}
    assert net == {"RN1": D(fixed), "QNS": -D(fixed)}


def test_settle_lists_every_missing_and_unused_actual() -> None:
    c = contract(emergency(), gls())
    rows = Actuals.of(
        [
            Actual("C1", "spels", Measure.DELIVERED_UNITS, D(1), 2),  # a typo
            Actual("C9", "spells", Measure.DELIVERED_UNITS, D(1), 3),  # unknown contract
            Actual("C1", "uec", Measure.DELIVERED_UNITS, D(1), 4),  # wrong measure
        ],
        "ACTUALS.csv",
    )
    with pytest.raises(SettlementError) as caught:
        settle(ContractSet((c,)), rows)
    issues = caught.value.issues
    assert any("component emergency" in i and "line spells" in i for i in issues)
    assert any("component uec" in i and "measure actual_spend" in i for i in issues)
    assert any("line 2" in i and "uses line spels" in i for i in issues)
    assert any("line 3" in i and "no contract C9" in i for i in issues)
    assert any("line 4" in i and "measure delivered_units" in i for i in issues)
    assert len(issues) == 5


def test_settle_component_without_its_actual_is_a_clear_error() -> None:
    with pytest.raises(SettlementError, match="no delivered_units for line spells"):
        settle_component(contract(emergency()), emergency(), Actuals.of([]))


def test_party_totals_add_every_component() -> None:
    s = Settlement(
        settle_one(
            contract(FixedPayment("a", D(100)), FixedPayment("b", D("0.01"))),
            [],
        )
    )
    assert [(p.party, p.amount) for p in s.party_totals()] == [
        ("RN1", D("100.01")),
        ("QNS", D("-100.01")),
    ]


def test_exactness_does_not_depend_on_decimal_context() -> None:
    # 0.1 + 0.2 style sums are exact: a rate of 1/3 written to 28 places times a big price.
    rate = D("0." + "3" * 28)
    amount = variable_amount(D("99999999999.99"), D(0), D(3), rate, rate)
    expected = exact(D("99999999999.99")) * 3 * exact(rate)
    assert abs(exact(amount) - expected) <= Fraction(1, 200)
