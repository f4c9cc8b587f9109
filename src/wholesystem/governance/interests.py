"""Gifts and hospitality under the NHS guidance. Pure: no database, no web.

NHS England, *Managing conflicts of interest in the NHS* (2017; 2024 update): gifts from
suppliers or contractors may be accepted only when worth £6 or less; other gifts worth more
than £50 are accepted only on behalf of the organisation; hospitality worth £25 or less needs
no declaration, £25 to £75 is declared, over £75 is refused unless a senior manager approves.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

__all__ = ["GiftKind", "GiftOutcome", "gift_outcome"]

SUPPLIER_GIFT_LIMIT = Decimal("6")
OTHER_GIFT_LIMIT = Decimal("50")
HOSPITALITY_NO_DECLARATION = Decimal("25")
HOSPITALITY_DECLARE_LIMIT = Decimal("75")


class GiftKind(StrEnum):
    gift = "gift"
    hospitality = "hospitality"


class GiftOutcome(StrEnum):
    accept_and_declare = "accept_and_declare"
    decline = "decline"
    accept_on_behalf_of_organisation = "accept_on_behalf_of_organisation"
    no_declaration_needed = "no_declaration_needed"
    refuse_unless_senior_approval = "refuse_unless_senior_approval"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def gift_outcome(kind: GiftKind, *, from_supplier: bool, value: Decimal) -> GiftOutcome:
    """What the guidance says to do with a gift or hospitality of ``value`` pounds."""
    if value < 0:
        raise ValueError("a value cannot be negative")
    if kind is GiftKind.hospitality:
        if value <= HOSPITALITY_NO_DECLARATION:
            return GiftOutcome.no_declaration_needed
        if value <= HOSPITALITY_DECLARE_LIMIT:
            return GiftOutcome.accept_and_declare
        return GiftOutcome.refuse_unless_senior_approval
    if from_supplier:
        return (
            GiftOutcome.accept_and_declare
            if value <= SUPPLIER_GIFT_LIMIT
            else (GiftOutcome.decline)
        )
    if value > OTHER_GIFT_LIMIT:
        return GiftOutcome.accept_on_behalf_of_organisation
    return GiftOutcome.accept_and_declare
