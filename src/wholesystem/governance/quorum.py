"""Is a meeting quorate? Pure: no database, no web.

A body's rule (from the scheme of delegation) asks for at least ``minimum_voting`` voting
members present and, for each required member group, at least one voting member of that
group. Members excluded for a conflict of interest do not count: quorum is re-checked
without them (NHS England, *Managing conflicts of interest in the NHS*).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wholesystem.governance.scheme import QuorumRule

__all__ = ["Attendee", "QuorumResult", "check_quorum"]


@dataclass(frozen=True)
class Attendee:
    person_id: int
    voting: bool
    group: str


@dataclass(frozen=True)
class QuorumResult:
    quorate: bool
    voting_counted: int
    minimum_voting: int
    missing_groups: tuple[str, ...]
    excluded: tuple[int, ...]

    @property
    def explanation(self) -> str:
        if self.quorate:
            return (
                f"Quorate: {self.voting_counted} voting members count "
                f"(at least {self.minimum_voting} needed)."
            )
        parts = []
        if self.voting_counted < self.minimum_voting:
            parts.append(
                f"only {self.voting_counted} voting members count, {self.minimum_voting} are needed"
            )
        if self.missing_groups:
            groups = ", ".join(g.replace("_", " ") for g in self.missing_groups)
            parts.append(f"no voting member present from: {groups}")
        tail = " after excluding conflicted members" if self.excluded else ""
        return "Not quorate" + tail + ": " + "; ".join(parts) + "."


def check_quorum(
    rule: QuorumRule, present: Iterable[Attendee], excluded: Iterable[int] = ()
) -> QuorumResult:
    """Check ``rule`` against those ``present``, leaving out the ``excluded`` person ids."""
    out = frozenset(excluded)
    counted = {a.person_id: a for a in present if a.voting and a.person_id not in out}
    groups = {a.group for a in counted.values()}
    missing = tuple(g for g in rule.required_groups if g not in groups)
    quorate = len(counted) >= rule.minimum_voting and not missing
    return QuorumResult(quorate, len(counted), rule.minimum_voting, missing, tuple(sorted(out)))
