"""Transfers between partners (pure): kinds, legs and the net-neutral rule.

A transfer set moves money between organisations; each leg is one organisation's amount,
positive when it receives and negative when it pays. A set must be net-neutral for the
system (its legs sum to exactly zero): money moves, it is not made or lost. A settlement
from `settle` can be turned into a transfer set: bilateral components (fixed, variable,
quality, gain/loss share) already net to zero; pools (pooled budgets, gain/loss pools)
share a gain or loss, so they need a ``pool_host`` (the organisation that holds the pool)
to take the balancing leg, or they are left out with a note.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from wholesystem.finance.money import format_money, is_whole_pennies
from wholesystem.finance.settlement import Settlement

__all__ = [
    "NotNetNeutralError",
    "ProposedSet",
    "TransferError",
    "TransferKind",
    "TransferLegDraft",
    "check_transfer_set",
    "legs_from_settlement",
]

ZERO = Decimal("0.00")


class TransferKind(StrEnum):
    """What a transfer set is for."""

    system_reserve = "system_reserve"
    risk_share_settlement = "risk_share_settlement"
    pooled_budget_adjustment = "pooled_budget_adjustment"
    transformation_funding = "transformation_funding"

    @property
    def label(self) -> str:
        return {
            "system_reserve": "System reserve",
            "risk_share_settlement": "Risk-share settlement",
            "pooled_budget_adjustment": "Pooled-budget adjustment",
            "transformation_funding": "Transformation funding",
        }[self.value]


@dataclass(frozen=True, slots=True)
class TransferLegDraft:
    """One organisation's part: positive receives, negative pays."""

    org_code: str
    amount: Decimal
    memo: str = ""


@dataclass(frozen=True, slots=True)
class ProposedSet:
    """A transfer set proposed from a settlement, and what was left out and why."""

    legs: tuple[TransferLegDraft, ...]
    left_out: tuple[str, ...]


class TransferError(ValueError):
    """A transfer set that cannot be recorded; ``issues`` lists every fault."""

    def __init__(self, issues: Iterable[str]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(self.issues))


class NotNetNeutralError(TransferError):
    """The legs do not sum to zero: the set would make or lose money for the system."""

    def __init__(self, receipts: Decimal, payments: Decimal) -> None:
        self.receipts = receipts
        self.payments = payments
        self.imbalance = receipts + payments
        super().__init__(
            [
                "the transfer set is not net-neutral for the system: receipts "
                f"{format_money(receipts)}, payments {format_money(-payments)}, out of balance "
                f"by {format_money(self.imbalance)}"
            ]
        )


def check_transfer_set(
    legs: Sequence[TransferLegDraft], known_orgs: Collection[str] | None = None
) -> None:
    """Refuse a set that is not a real, net-neutral movement of money between partners.

    Raises `TransferError` for malformed legs (fewer than two, an unknown organisation, a
    zero amount or a fraction of a penny) and `NotNetNeutralError` when the legs do not sum
    to exactly zero.
    """
    issues: list[str] = []
    if len(legs) < 2:
        issues.append("a transfer set needs at least two legs (who pays and who receives)")
    for k, leg in enumerate(legs, start=1):
        if known_orgs is not None and leg.org_code not in known_orgs:
            issues.append(f"leg {k}: {leg.org_code!r} is not a partner organisation")
        if not leg.amount.is_finite() or not is_whole_pennies(leg.amount):
            issues.append(f"leg {k}: {leg.amount} is not a whole number of pennies")
        elif leg.amount == 0:
            issues.append(f"leg {k}: the amount is zero")
    if issues:
        raise TransferError(issues)
    receipts = sum((leg.amount for leg in legs if leg.amount > 0), ZERO)
    payments = sum((leg.amount for leg in legs if leg.amount < 0), ZERO)
    if receipts + payments != 0:
        raise NotNetNeutralError(receipts, payments)


def legs_from_settlement(settlement: Settlement, pool_host: str | None = None) -> ProposedSet:
    """Each party's net amount from ``settlement`` as the legs of one transfer set.

    Bilateral components net to zero by construction. A pool's distribution (its parts sum
    to the pool's gain or loss) is balanced by ``pool_host`` taking the opposite amount; with
    no host, pools are left out and listed in ``left_out``. Parties netting to zero get no leg.
    """
    totals: dict[str, Decimal] = {}
    memos: dict[str, list[str]] = {}
    left_out: list[str] = []
    for component in settlement.components:
        if not component.transfer:
            if pool_host is None:
                left_out.append(
                    f"{component.contract_id} / {component.component_id}: a pool's "
                    f"{format_money(component.total)} is shared, not moved between partners; "
                    "name the pool host to balance it"
                )
                continue
            totals[pool_host] = totals.get(pool_host, ZERO) - component.total
            memos.setdefault(pool_host, []).append(f"{component.contract_id} pool host")
        for line in component.lines:
            totals[line.party] = totals.get(line.party, ZERO) + line.amount
            memos.setdefault(line.party, []).append(component.contract_id)
    legs = tuple(
        TransferLegDraft(party, amount, ", ".join(dict.fromkeys(memos[party])))
        for party, amount in totals.items()
        if amount != 0
    )
    return ProposedSet(legs, tuple(left_out))
