"""Detect conflicts of interest and decide who is excluded. Pure: no database, no web.

Following NHS England, *Managing conflicts of interest in the NHS* (2017, updated 2024):
interests are financial, non-financial professional, non-financial personal or indirect
(through a close family member or associate). A member is conflicted on an agenda item or
decision when

* an interest they have declared, current on the date, names an organisation that is a
  party to the item, or a matter (topic) the item concerns; or
* an organisation that employs them is a party (a joint post has two employers, and either
  being a party conflicts the member).

Every conflicted member is excluded from the vote; the proposed management adds leaving
the discussion and withholding the papers where the interest is direct and financial, or
the member's own employer stands to gain. Quorum is then re-checked without them
(:mod:`wholesystem.governance.quorum`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "Conflict",
    "ConflictSource",
    "InterestCategory",
    "InterestFacts",
    "ItemFacts",
    "Management",
    "MemberFacts",
    "detect_conflicts",
    "excluded_from_vote",
    "proposed_management",
]


class InterestCategory(StrEnum):
    """The four kinds of interest in the NHS guidance."""

    financial = "financial"
    non_financial_professional = "non_financial_professional"
    non_financial_personal = "non_financial_personal"
    indirect = "indirect"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    InterestCategory.financial: "Financial",
    InterestCategory.non_financial_professional: "Non-financial professional",
    InterestCategory.non_financial_personal: "Non-financial personal",
    InterestCategory.indirect: "Indirect",
}


class Management(StrEnum):
    """Ways a conflict is managed at a meeting."""

    papers_withheld = "papers_withheld"
    leave_discussion = "leave_discussion"
    no_vote = "no_vote"

    @property
    def label(self) -> str:
        return {
            Management.papers_withheld: "Papers withheld",
            Management.leave_discussion: "Leaves the discussion",
            Management.no_vote: "Does not vote",
        }[self]


class ConflictSource(StrEnum):
    interest = "interest"
    employer_party = "employer_party"


@dataclass(frozen=True)
class InterestFacts:
    """One declared interest."""

    id: int
    category: InterestCategory
    organisation_code: str | None
    matter: str | None
    description: str
    starts: date
    ends: date | None = None

    def current_on(self, day: date) -> bool:
        return self.starts <= day and (self.ends is None or day <= self.ends)


@dataclass(frozen=True)
class MemberFacts:
    """A member of a body: who employs them (two for a joint post) and their interests."""

    person_id: int
    name: str
    employers: tuple[str, ...]
    interests: tuple[InterestFacts, ...] = ()


@dataclass(frozen=True)
class ItemFacts:
    """What an agenda item or decision concerns."""

    parties: tuple[str, ...]  # organisation codes
    matters: tuple[str, ...]  # topics, compared case-insensitively
    on: date


@dataclass(frozen=True)
class Conflict:
    """One detected conflict of one member."""

    person_id: int
    name: str
    source: ConflictSource
    category: InterestCategory | None
    interest_id: int | None
    organisation_code: str | None
    matter: str | None
    reason: str
    management: tuple[Management, ...]


def _norm(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def proposed_management(
    source: ConflictSource, category: InterestCategory | None
) -> tuple[Management, ...]:
    """The default management of a conflict: always no vote; more for stronger interests."""
    if source is ConflictSource.employer_party or category is InterestCategory.financial:
        return (Management.papers_withheld, Management.leave_discussion, Management.no_vote)
    if category is InterestCategory.indirect:
        return (Management.leave_discussion, Management.no_vote)
    return (Management.no_vote,)


def detect_conflicts(members: Iterable[MemberFacts], item: ItemFacts) -> list[Conflict]:
    """Every conflict of every member on ``item``, employer conflicts first per member."""
    parties = {p.upper() for p in item.parties}
    matters = {_norm(m) for m in item.matters if m.strip()}
    found: list[Conflict] = []
    for member in members:
        for employer in member.employers:
            if employer.upper() in parties:
                found.append(
                    Conflict(
                        member.person_id,
                        member.name,
                        ConflictSource.employer_party,
                        None,
                        None,
                        employer,
                        None,
                        f"{member.name}'s employer ({employer}) is a party.",
                        proposed_management(ConflictSource.employer_party, None),
                    )
                )
        for interest in member.interests:
            if not interest.current_on(item.on):
                continue
            org = (interest.organisation_code or "").upper()
            matter = _norm(interest.matter) if interest.matter else ""
            hit_org = bool(org) and org in parties
            hit_matter = bool(matter) and matter in matters
            if not (hit_org or hit_matter):
                continue
            what = (
                f"organisation {interest.organisation_code}"
                if hit_org
                else (f"matter '{interest.matter}'")
            )
            found.append(
                Conflict(
                    member.person_id,
                    member.name,
                    ConflictSource.interest,
                    interest.category,
                    interest.id,
                    interest.organisation_code if hit_org else None,
                    interest.matter if hit_matter else None,
                    f"{member.name} has declared a {interest.category.label.lower()} interest "
                    f"in {what}: {interest.description}",
                    proposed_management(ConflictSource.interest, interest.category),
                )
            )
    return found


def excluded_from_vote(
    conflicts: Sequence[Conflict],
    managed: dict[int, tuple[Management, ...]] | None = None,
) -> frozenset[int]:
    """People who may not vote: every conflicted member, whatever was later recorded.

    ``managed`` (person id → recorded management) can only add exclusions: a recorded
    management that includes ``no_vote`` for someone not detected also excludes them.
    """
    out = {c.person_id for c in conflicts}
    for person_id, actions in (managed or {}).items():
        if Management.no_vote in actions:
            out.add(person_id)
    return frozenset(out)
