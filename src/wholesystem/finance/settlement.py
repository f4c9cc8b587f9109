"""Settlement: each party's amount for each component of each contract, exact to the penny.

Every amount is computed exactly (rational arithmetic) and rounded once, half to even, at
the penny (docs/contracts.md gives every formula). Two kinds of component:

- **transfers** (fixed, variable, quality, gain/loss share) move one amount between the
  contract's commissioner and provider: the provider's line is the component total, the
  commissioner's its negation, so each nets to zero for the system;
- **distributions** (pooled budget, gain/loss pool) share a system gain or loss among
  partners: the partners' lines sum exactly to the component total (largest remainder).

Signs are from each party's side: positive is money in (or a gain), negative money out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from wholesystem.finance.actuals import Actuals, Measure
from wholesystem.finance.contracts import (
    Component,
    Contract,
    ContractSet,
    Direction,
    FixedPayment,
    GainLossShare,
    Mechanism,
    PartyAmount,
    PooledBudget,
    QualityIncentive,
    ShareBand,
    VariableActivity,
)
from wholesystem.finance.money import allocate, exact, format_money, round_penny

__all__ = [
    "TRANSFER_MECHANISMS",
    "ComponentSettlement",
    "PartyLine",
    "Role",
    "Settlement",
    "SettlementError",
    "needed_actuals",
    "pool_shares",
    "quality_achievement",
    "quality_withdrawal",
    "settle",
    "settle_component",
    "shared_amount",
    "variable_amount",
]

# Mechanisms whose settlement moves money between two parties and nets to zero.
TRANSFER_MECHANISMS = frozenset(
    {Mechanism.FIXED, Mechanism.VARIABLE, Mechanism.QUALITY, Mechanism.GAIN_LOSS_SHARE}
)
ZERO = Decimal("0.00")


class Role(StrEnum):
    """A party's role in a component."""

    PROVIDER = "provider"
    COMMISSIONER = "commissioner"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class PartyLine:
    """One party's amount in one component (positive: the party receives or gains)."""

    party: str
    role: Role
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ComponentSettlement:
    """The settlement of one component: its total, each party's line, workings and notices."""

    contract_id: str
    component_id: str
    mechanism: Mechanism
    transfer: bool
    total: Decimal
    lines: tuple[PartyLine, ...]
    workings: str
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    """Every component of every contract settled, in file order."""

    components: tuple[ComponentSettlement, ...]

    def party_totals(self) -> tuple[PartyAmount, ...]:
        """Each party's net amount over every component, in order of first appearance."""
        totals: dict[str, Decimal] = {}
        for component in self.components:
            for line in component.lines:
                totals[line.party] = totals.get(line.party, ZERO) + line.amount
        return tuple(PartyAmount(party, amount) for party, amount in totals.items())

    def notices(self) -> tuple[str, ...]:
        """Every notice raised, prefixed with its contract and component."""
        return tuple(
            f"{c.contract_id} / {c.component_id}: {notice}"
            for c in self.components
            for notice in c.notices
        )


class SettlementError(ValueError):
    """Contracts and actuals that do not fit together; ``issues`` lists every mismatch."""

    def __init__(self, issues: list[str]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(issues))


# --------------------------------------------------------------------------- the mechanisms


def variable_amount(
    unit_price: Decimal,
    planned_units: Decimal,
    delivered_units: Decimal,
    rate_above: Decimal,
    rate_below: Decimal,
) -> Decimal:
    """``(delivered - planned) x unit_price x rate``, rate above or below plan, to the penny.

    Positive is paid to the provider for activity above plan; negative is recovered for
    activity below plan (0 when ``rate_below`` is 0: no claw-back).
    """
    variance = exact(delivered_units) - exact(planned_units)
    rate = rate_above if variance > 0 else rate_below
    return round_penny(variance * exact(unit_price) * exact(rate))


def quality_achievement(achievements: Sequence[tuple[Decimal, Decimal]]) -> Fraction:
    """The weighted achievement ``sum(weight x achievement)`` of (weight, achievement) pairs."""
    return sum((exact(weight) * exact(value) for weight, value in achievements), Fraction(0))


def quality_withdrawal(
    contract_value: Decimal, share: Decimal, achievement: Fraction | Decimal
) -> Decimal:
    """``-(1 - achievement) x share x contract_value``: the part of the held incentive withdrawn."""
    return round_penny(-(1 - exact(achievement)) * exact(share) * exact(contract_value))


def shared_amount(
    position: Decimal,
    benchmark: Decimal,
    bands: Sequence[ShareBand],
    threshold: Decimal = Decimal(0),
    cap: Decimal | None = None,
    direction: Direction = Direction.TWO_SIDED,
) -> Decimal:
    """The share of ``position`` (a gain if positive, a loss if negative) paid to the provider.

    The position's size is split into bands (fractions of ``benchmark``) and each part is
    shared at its band's rate; nothing is shared when the size is below ``threshold`` of the
    benchmark; the result is limited to ``cap``; a loss is shared only when two-sided.
    """
    size = abs(exact(position))
    scale = exact(benchmark)
    if position < 0 and direction is Direction.UPSIDE_ONLY:
        return ZERO
    if size < exact(threshold) * scale:
        return ZERO
    shared = Fraction(0)
    for band in bands:
        top = size if band.upper is None else min(size, exact(band.upper) * scale)
        width = top - exact(band.lower) * scale
        if width > 0:
            shared += exact(band.share) * width
    if cap is not None:
        shared = min(shared, exact(cap))
    return round_penny(shared if position >= 0 else -shared)


def pool_shares(total: Decimal, parties: Sequence[tuple[str, Decimal]]) -> tuple[PartyLine, ...]:
    """``total`` split among ``(party, weight)`` pairs by largest remainder, summing exactly."""
    amounts = allocate(total, [weight for _, weight in parties])
    return tuple(
        PartyLine(party, Role.PARTNER, amount)
        for (party, _), amount in zip(parties, amounts, strict=True)
    )


# --------------------------------------------------------------------------- settling


def _percent(rate: Decimal | Fraction) -> str:
    value = exact(rate) * 100
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{round_penny(value)}%"


def _units(value: Decimal | Fraction) -> str:
    number = exact(value)
    if number.denominator == 1:
        return f"{number.numerator:,}"
    return f"{Decimal(number.numerator) / Decimal(number.denominator):,}"


def _corridor(component: GainLossShare, rate: Fraction) -> Fraction | None:
    """The corridor rate when a position of ``rate`` (of the benchmark) falls within it.

    A first-pound corridor shares nothing below its threshold; an excess corridor (leading
    zero-share bands) shares nothing up to and including its top.
    """
    if component.threshold > 0:
        threshold = exact(component.threshold)
        return threshold if rate < threshold else None
    top: Fraction | None = None
    for band in component.bands:
        if band.share != 0 or band.upper is None:
            break
        top = exact(band.upper)
    return top if top is not None and rate <= top else None


def needed_actuals(component: Component) -> tuple[tuple[str, Measure], ...]:
    """The (line, measure) pairs of ACTUALS.csv that ``component`` needs."""
    if isinstance(component, FixedPayment):
        return ()
    if isinstance(component, VariableActivity):
        return ((component.line, Measure.DELIVERED_UNITS),)
    if isinstance(component, QualityIncentive):
        return tuple((i.line, Measure.ACHIEVEMENT) for i in component.indicators)
    return ((component.line, Measure.ACTUAL_SPEND),)


def _value(actuals: Actuals, contract: Contract, line: str, measure: Measure) -> Decimal:
    row = actuals.get(contract.id, line, measure)
    if row is None:  # settle() checks first; a direct caller gets a clear error
        raise SettlementError([f"contract {contract.id}: no {measure.value} for line {line}"])
    return row.value


def _transfer(
    contract: Contract, component: Component, total: Decimal, workings: str, notices: list[str]
) -> ComponentSettlement:
    if contract.provider is None or contract.commissioner is None:
        raise ValueError(f"contract {contract.id} needs a commissioner and a provider")
    return ComponentSettlement(
        contract.id,
        component.id,
        component.mechanism,
        True,
        total,
        (
            PartyLine(contract.provider, Role.PROVIDER, total),
            PartyLine(contract.commissioner, Role.COMMISSIONER, -total),
        ),
        workings,
        tuple(notices),
    )


def settle_component(
    contract: Contract, component: Component, actuals: Actuals
) -> ComponentSettlement:
    """Settle one component of ``contract`` against ``actuals``."""
    notices: list[str] = []
    if isinstance(component, FixedPayment):
        total = round_penny(component.amount)
        return _transfer(contract, component, total, f"fixed payment {format_money(total)}", [])

    if isinstance(component, VariableActivity):
        delivered = _value(actuals, contract, component.line, Measure.DELIVERED_UNITS)
        total = variable_amount(
            component.unit_price,
            component.planned_units,
            delivered,
            component.rate_above,
            component.rate_below,
        )
        variance = exact(delivered) - exact(component.planned_units)
        if variance == 0:
            workings = f"{_units(delivered)} delivered, exactly on plan: no variable payment"
        else:
            rate = component.rate_above if variance > 0 else component.rate_below
            word = "above" if variance > 0 else "below"
            workings = (
                f"{_units(delivered)} delivered against a plan of "
                f"{_units(component.planned_units)}: {_units(abs(variance))} {word} plan x "
                f"{format_money(component.unit_price)} x {_percent(rate)} = "
                f"{format_money(total)}"
            )
        return _transfer(contract, component, total, workings, notices)

    if isinstance(component, QualityIncentive):
        pairs = [
            (i.weight, _value(actuals, contract, i.line, Measure.ACHIEVEMENT))
            for i in component.indicators
        ]
        achievement = quality_achievement(pairs)
        total = quality_withdrawal(component.contract_value, component.share, achievement)
        held = round_penny(exact(component.share) * exact(component.contract_value))
        workings = (
            f"{format_money(held)} held ({_percent(component.share)} of "
            f"{format_money(component.contract_value)}); achievement {_percent(achievement)}, "
            f"{_percent(1 - achievement)} withdrawn = {format_money(total)}"
        )
        return _transfer(contract, component, total, workings, notices)

    if isinstance(component, GainLossShare):
        spend = _value(actuals, contract, component.line, Measure.ACTUAL_SPEND)
        position = component.benchmark - spend
        total = shared_amount(
            position,
            component.benchmark,
            component.bands,
            component.threshold,
            component.cap,
            component.direction,
        )
        position_rate = abs(exact(position)) / exact(component.benchmark)
        kind = "gain" if position > 0 else "loss" if position < 0 else "no variance"
        workings = (
            f"benchmark {format_money(component.benchmark)} - actual {format_money(spend)} = "
            f"{kind} {format_money(abs(position))} ({_percent(position_rate)} of benchmark); "
            f"provider's share {format_money(total)}"
        )
        corridor = _corridor(component, position_rate)
        if position < 0 and component.direction is Direction.UPSIDE_ONLY:
            notices.append("a loss is not shared (upside only)")
        elif position != 0 and corridor is not None:
            notices.append(f"within the {_percent(corridor)} corridor: nothing is shared")
        if component.cap is not None and position != 0 and abs(total) == component.cap:
            notices.append(f"the cap of {format_money(component.cap)} applies")
        return _transfer(contract, component, total, workings, notices)

    if isinstance(component, PooledBudget):
        spend = _value(actuals, contract, component.line, Measure.ACTUAL_SPEND)
        contributed = sum((c.amount for c in component.contributions), Decimal(0))
        total = round_penny(contributed - spend)
        if component.key is None:
            parties = [(c.party, c.amount) for c in component.contributions]
            basis = "pro rata to contributions"
        else:
            parties = [(k.party, k.weight) for k in component.key]
            basis = "by the agreed key"
        kind = "underspend" if total > 0 else "overspend" if total < 0 else "break-even"
        workings = (
            f"contributions {format_money(contributed)} - spend {format_money(spend)} = "
            f"{kind} {format_money(abs(total))}, shared {basis}"
        )
        share = abs(exact(total)) / exact(contributed)
        if component.tolerance is not None and share > exact(component.tolerance):
            notices.append(
                f"{kind} of {format_money(abs(total))} is {_percent(share)} of the pool, beyond "
                f"the {_percent(component.tolerance)} tolerance: partners must be given notice"
            )
        return ComponentSettlement(
            contract.id,
            component.id,
            component.mechanism,
            False,
            total,
            pool_shares(total, parties),
            workings,
            tuple(notices),
        )

    spend = _value(actuals, contract, component.line, Measure.ACTUAL_SPEND)
    total = round_penny(component.expected_spend - spend)
    kind = "gain" if total > 0 else "loss" if total < 0 else "no variance"
    workings = (
        f"expected {format_money(component.expected_spend)} - actual {format_money(spend)} = "
        f"{kind} {format_money(abs(total))}, shared by {component.key.value.replace('_', ' ')} key "
        f"among {len(component.partners)} partner{'s' if len(component.partners) != 1 else ''}"
    )
    return ComponentSettlement(
        contract.id,
        component.id,
        component.mechanism,
        False,
        total,
        pool_shares(total, [(p.party, p.weight) for p in component.partners]),
        workings,
        (),
    )


def _check(contracts: ContractSet, actuals: Actuals) -> list[str]:
    issues: list[str] = []
    used: set[tuple[str, str, Measure]] = set()
    contract_ids = {c.id for c in contracts.contracts}
    for contract in contracts.contracts:
        for component in contract.components:
            for line, measure in needed_actuals(component):
                used.add((contract.id, line, measure))
                if actuals.get(contract.id, line, measure) is None:
                    issues.append(
                        f"contract {contract.id}, component {component.id}: {actuals.source} "
                        f"has no row with line {line} and measure {measure.value}"
                    )
    for row in actuals.rows:
        if row.contract_id not in contract_ids:
            issues.append(
                f"{actuals.source}: line {row.line_no}, column contract_id: no contract "
                f"{row.contract_id} in the contracts file"
            )
        elif (row.contract_id, row.line, row.measure) not in used:
            issues.append(
                f"{actuals.source}: line {row.line_no}, column line: no component of contract "
                f"{row.contract_id} uses line {row.line} with measure {row.measure.value}"
            )
    return issues


def settle(contracts: ContractSet, actuals: Actuals) -> Settlement:
    """Settle every component of every contract.

    Raises `SettlementError` listing every needed actual that is missing and every actuals
    row that no component uses (a likely typo), so nothing is settled on partial data.
    """
    issues = _check(contracts, actuals)
    if issues:
        raise SettlementError(issues)
    return Settlement(
        tuple(
            settle_component(contract, component, actuals)
            for contract in contracts.contracts
            for component in contract.components
        )
    )
