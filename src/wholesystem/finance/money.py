"""Exact money arithmetic: pennies, half-even rounding and allocations that sum to their total.

Settlement maths is done in exact rational arithmetic (`fractions.Fraction`, built exactly from
`Decimal`) and rounded once, half to even, at the penny. Working in rationals rather than in
`Decimal` avoids the 28-digit default context silently rounding an intermediate product.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "PENNY",
    "allocate",
    "exact",
    "format_money",
    "is_whole_pennies",
    "round_penny",
]

PENNY = Decimal("0.01")

Number = Decimal | Fraction | int


def exact(value: Number) -> Fraction:
    """``value`` as an exact rational (a `Decimal` converts without loss)."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    return Fraction(value)


def round_penny(value: Number) -> Decimal:
    """``value`` rounded half to even at the penny (banker's rounding), as a 2-place `Decimal`.

    Half-even is symmetric, ``round_penny(-x) == -round_penny(x)``, and has no upward drift
    over many roundings.
    """
    # Fraction.__round__ with no digits rounds half to even, exactly.
    pennies = round(exact(value) * 100)
    return (Decimal(pennies) / 100).quantize(PENNY)


def is_whole_pennies(value: Decimal) -> bool:
    """True when ``value`` is finite and has no fraction of a penny."""
    return value.is_finite() and (exact(value) * 100).denominator == 1


def allocate(total: Decimal, weights: Sequence[Number]) -> tuple[Decimal, ...]:
    """Split ``total`` in proportion to ``weights`` so that the parts sum exactly to ``total``.

    Largest-remainder method at the penny: every part first gets its exact share rounded
    towards zero; the pennies left over go one each to the parts with the largest remainders,
    ties going to the part listed first. A zero weight always gets zero. A negative total is
    allocated as the negation of the positive one, so ``allocate(-t, w) == -allocate(t, w)``.

    ``total`` must be a whole number of pennies; weights must be non-negative with a positive
    sum.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if not is_whole_pennies(total):
        raise ValueError(f"total {total} is not a whole number of pennies")
    exact_weights = [exact(weight) for weight in weights]
    if any(weight < 0 for weight in exact_weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    pennies = int(exact(total) * 100)
    sign = -1 if pennies < 0 else 1
    magnitude = abs(pennies)
    shares = [magnitude * weight / weight_sum for weight in exact_weights]
    floors = [share.numerator // share.denominator for share in shares]
    left_over = magnitude - sum(floors)
    # Largest remainder first; ties to the earlier part (stable and deterministic).
    order = sorted(range(len(shares)), key=lambda k: (-(shares[k] - floors[k]), k))
    for k in order[:left_over]:
        floors[k] += 1
    return tuple((Decimal(sign * part) / 100).quantize(PENNY) for part in floors)


def format_money(value: Decimal) -> str:
    """``£1,234.50`` / ``-£1,234.50``: pounds with thousands separators and pence."""
    amount = round_penny(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"
