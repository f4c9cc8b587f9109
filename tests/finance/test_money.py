"""Exact money: half-even rounding at the penny and largest-remainder allocation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wholesystem.finance.money import (
    allocate,
    exact,
    format_money,
    is_whole_pennies,
    round_penny,
)

D = Decimal

# ---------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.005"), D("0.00")),  # half: to the even penny (0)
        (D("0.015"), D("0.02")),  # half: to the even penny (2)
        (D("0.025"), D("0.02")),
        (D("0.035"), D("0.04")),
        (D("-0.005"), D("0.00")),
        (D("-0.015"), D("-0.02")),
        (D("-0.025"), D("-0.02")),
        (D("2.675"), D("2.68")),  # 2.675 exactly (a float would be 2.67499...)
        (D("2.665"), D("2.66")),
        (D("0.0050000000000000000000000000001"), D("0.01")),  # just above half: up
        (D("0.0049999999999999999999999999999"), D("0.00")),
        (D("15240000"), D("15240000.00")),
        (Fraction(1, 3), D("0.33")),
        (Fraction(2, 3), D("0.67")),
        (Fraction(-2, 3), D("-0.67")),
        (7, D("7.00")),
    ],
)
def test_round_penny_is_half_even(value: Decimal | Fraction | int, expected: Decimal) -> None:
    result = round_penny(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_round_penny_is_exact_where_the_decimal_context_is_not() -> None:
    # 30 significant digits: the default 28-digit Decimal context would round the product.
    big = D("123456789012345678.125")
    assert round_penny(exact(big) * 2) == D("246913578024691356.25")


def test_round_penny_refuses_infinity() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        round_penny(D("Infinity"))


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_exact_halves_round_to_the_even_penny(pennies: int) -> None:
    value = Fraction(pennies, 100) + Fraction(1, 200)
    result = round_penny(value)
    assert int(result * 100) % 2 == 0
    assert abs(exact(result) - value) == Fraction(1, 200)


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=6))
def test_round_penny_agrees_with_decimal_quantize_and_is_symmetric(value: Decimal) -> None:
    result = round_penny(value)
    assert result == value.quantize(D("0.01"), rounding=ROUND_HALF_EVEN)
    assert abs(exact(result) - exact(value)) <= Fraction(1, 200)
    assert round_penny(-value) == -result


def test_whole_pennies() -> None:
    assert is_whole_pennies(D("1.10"))
    assert is_whole_pennies(D("1.100000"))
    assert not is_whole_pennies(D("1.105"))
    assert not is_whole_pennies(D("NaN"))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("15240000"), "£15,240,000.00"),
        (D("-180000"), "-£180,000.00"),
        (D("0.005"), "£0.00"),
        (D("-0.004"), "£0.00"),
    ],
)
def test_format_money(value: Decimal, text: str) -> None:
    assert format_money(value) == text


# ---------------------------------------------------------------------------- allocation


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        # Equal thirds do not divide evenly: the odd penny goes to the first listed.
        (D("100.00"), [1, 1, 1], ["33.34", "33.33", "33.33"]),
        (D("-100.00"), [1, 1, 1], ["-33.34", "-33.33", "-33.33"]),
        (D("0.02"), [1, 1, 1], ["0.01", "0.01", "0.00"]),
        (D("0.01"), [1, 1, 1], ["0.01", "0.00", "0.00"]),
        (D("0.00"), [1, 2, 3], ["0.00", "0.00", "0.00"]),
        # Largest remainder beats list order: 10p by 1:2:3 is 1.67, 3.33, 5 -> 2, 3, 5.
        (D("0.10"), [1, 2, 3], ["0.02", "0.03", "0.05"]),
        # Pro rata to section 75 contributions of 6m and 4m.
        (D("-450000.00"), [D("6000000"), D("4000000")], ["-270000.00", "-180000.00"]),
        (D("1000.00"), [D("0.5"), D("0.3"), D("0.2")], ["500.00", "300.00", "200.00"]),
        # A zero weight gets nothing, even when pennies are left over.
        (D("0.05"), [0, 1, 1], ["0.00", "0.03", "0.02"]),
        # One party takes all.
        (D("1234.56"), [D("0.7")], ["1234.56"]),
        # Seven ways: 1/7 of 1.00 is 0.142857..., remainders all equal -> first two get the
        # two spare pennies.
        (D("1.00"), [1] * 7, ["0.15", "0.15", "0.14", "0.14", "0.14", "0.14", "0.14"]),
    ],
)
def test_allocate_table(total: Decimal, weights: list[Decimal | int], expected: list[str]) -> None:
    parts = allocate(total, weights)
    assert parts == tuple(D(e) for e in expected)
    assert sum(parts, D(0)) == total


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (D("1.00"), [], "at least one weight"),
        (D("1.001"), [1], "not a whole number of pennies"),
        (D("1.00"), [1, -1], "must not be negative"),
        (D("1.00"), [0, 0], "must not all be zero"),
    ],
)
def test_allocate_refuses(total: Decimal, weights: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(total, weights)


pennies = st.integers(min_value=-(10**13), max_value=10**13).map(lambda p: D(p) / 100)
weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**9),
        st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
).filter(lambda ws: sum(ws) > 0)


@given(pennies, weights)
def test_allocations_always_sum_exactly_and_stay_within_a_penny(
    total: Decimal, ws: list[Decimal | int]
) -> None:
    parts = allocate(total, ws)
    assert len(parts) == len(ws)
    assert sum(parts, D(0)) == total
    weight_sum = sum(exact(w) for w in ws)
    for part, weight in zip(parts, ws, strict=True):
        assert is_whole_pennies(part)
        share = exact(total) * exact(weight) / weight_sum
        assert abs(exact(part) - share) < Fraction(1, 100)
        if weight == 0:
            assert part == 0


@given(pennies, weights)
def test_allocation_is_symmetric_in_sign(total: Decimal, ws: list[Decimal | int]) -> None:
    assert allocate(-total, ws) == tuple(-part for part in allocate(total, ws))


@given(pennies, weights)
def test_a_larger_weight_never_gets_less(total: Decimal, ws: list[Decimal | int]) -> None:
    parts = allocate(abs(total), ws)
    for i in range(len(ws)):
        for j in range(len(ws)):
            if ws[i] > ws[j]:
                assert parts[i] >= parts[j]


@given(pennies, st.integers(min_value=1, max_value=40))
def test_equal_weights_differ_by_at_most_a_penny(total: Decimal, n: int) -> None:
    parts = allocate(total, [1] * n)
    assert max(parts) - min(parts) <= D("0.01")
    # The odd pennies go to the parties listed first.
    magnitudes = [abs(p) for p in parts]
    assert magnitudes == sorted(magnitudes, reverse=True)
