"""Conflict detection, proposed management, vote exclusion and the quorum re-check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wholesystem.governance.conflicts import (
    ConflictSource,
    InterestCategory,
    InterestFacts,
    ItemFacts,
    Management,
    MemberFacts,
    detect_conflicts,
    excluded_from_vote,
)
from wholesystem.governance.interests import GiftKind, GiftOutcome, gift_outcome
from wholesystem.governance.quorum import Attendee, check_quorum
from wholesystem.governance.scheme import QuorumRule

DAY = date(2026, 5, 1)
C = InterestCategory
M = Management


def _member(
    pid: int, *interests: InterestFacts, employers: tuple[str, ...] = ("QXX",)
) -> MemberFacts:
    return MemberFacts(pid, f"Member {pid}", employers, interests)


def _interest(
    iid: int,
    category: InterestCategory,
    org: str | None = None,
    matter: str | None = None,
    ends: date | None = None,
) -> InterestFacts:
    return InterestFacts(iid, category, org, matter, "described", date(2025, 1, 1), ends)


@pytest.mark.parametrize(
    ("category", "management"),
    [
        (C.financial, (M.papers_withheld, M.leave_discussion, M.no_vote)),
        (C.non_financial_professional, (M.no_vote,)),
        (C.non_financial_personal, (M.no_vote,)),
        (C.indirect, (M.leave_discussion, M.no_vote)),
    ],
)
def test_each_category_of_interest_in_a_party_is_a_conflict(
    category: InterestCategory, management: tuple[Management, ...]
) -> None:
    member = _member(1, _interest(10, category, org="RA1"))
    found = detect_conflicts([member], ItemFacts(("RA1",), (), DAY))
    assert len(found) == 1
    assert (found[0].source, found[0].category, found[0].interest_id) == (
        ConflictSource.interest,
        category,
        10,
    )
    assert found[0].management == management
    assert excluded_from_vote(found) == {1}


def test_an_interest_in_a_matter_matches_case_and_underscores_aside() -> None:
    member = _member(
        1, _interest(10, C.non_financial_professional, matter="Community ophthalmology")
    )
    found = detect_conflicts([member], ItemFacts((), ("community_ophthalmology",), DAY))
    assert [c.matter for c in found] == ["Community ophthalmology"]


def test_the_members_employer_being_a_party_is_a_conflict() -> None:
    found = detect_conflicts([_member(2, employers=("RA1",))], ItemFacts(("ra1",), (), DAY))
    assert [(c.source, c.organisation_code) for c in found] == [
        (ConflictSource.employer_party, "RA1")
    ]
    assert M.no_vote in found[0].management


def test_a_joint_post_conflicts_through_either_employer() -> None:
    joint = _member(3, employers=("RC1", "E06000901"))
    assert detect_conflicts([joint], ItemFacts(("E06000901",), (), DAY))
    assert detect_conflicts([joint], ItemFacts(("RC1",), (), DAY))
    assert not detect_conflicts([joint], ItemFacts(("RA1",), (), DAY))


def test_no_conflict_without_a_match_or_outside_the_interest_dates() -> None:
    old = _interest(10, C.financial, org="RA1", ends=date(2026, 1, 1))
    other = _interest(11, C.financial, org="RC1")
    assert detect_conflicts([_member(1, old, other)], ItemFacts(("RA1",), ("x",), DAY)) == []


def test_recorded_management_can_only_add_exclusions() -> None:
    found = detect_conflicts([_member(1, employers=("RA1",))], ItemFacts(("RA1",), (), DAY))
    assert excluded_from_vote(found, {2: (M.no_vote,), 3: (M.leave_discussion,)}) == {1, 2}


RULE = QuorumRule(4, ("clinical", "local_authority"))
PRESENT = [
    Attendee(1, True, "clinical"),
    Attendee(2, True, "local_authority"),
    Attendee(3, True, "nhs_trust"),
    Attendee(4, True, "clinical"),
    Attendee(5, False, "lay"),
]


@pytest.mark.parametrize(
    ("excluded", "quorate", "counted", "missing"),
    [
        ((), True, 4, ()),
        ((5,), True, 4, ()),  # a non-voting member never counted
        ((1,), False, 3, ()),  # too few after exclusion
        ((2,), False, 3, ("local_authority",)),  # and the only councillor is gone
        ((1, 4), False, 2, ("clinical",)),
    ],
)
def test_quorum_is_rechecked_after_exclusions(
    excluded: tuple[int, ...], quorate: bool, counted: int, missing: tuple[str, ...]
) -> None:
    result = check_quorum(RULE, PRESENT, excluded)
    assert (result.quorate, result.voting_counted, result.missing_groups) == (
        quorate,
        counted,
        missing,
    )
    assert ("Not quorate" in result.explanation) is not quorate


# NHS England, Managing conflicts of interest in the NHS (2017), gifts and hospitality limits.
@pytest.mark.parametrize(
    ("kind", "supplier", "value", "outcome"),
    [
        (GiftKind.gift, True, "6", GiftOutcome.accept_and_declare),
        (GiftKind.gift, True, "6.01", GiftOutcome.decline),
        (GiftKind.gift, False, "50", GiftOutcome.accept_and_declare),
        (GiftKind.gift, False, "50.01", GiftOutcome.accept_on_behalf_of_organisation),
        (GiftKind.hospitality, False, "25", GiftOutcome.no_declaration_needed),
        (GiftKind.hospitality, True, "75", GiftOutcome.accept_and_declare),
        (GiftKind.hospitality, False, "75.01", GiftOutcome.refuse_unless_senior_approval),
    ],
)
def test_gifts_and_hospitality_limits(
    kind: GiftKind, supplier: bool, value: str, outcome: GiftOutcome
) -> None:
    assert gift_outcome(kind, from_supplier=supplier, value=Decimal(value)) is outcome
