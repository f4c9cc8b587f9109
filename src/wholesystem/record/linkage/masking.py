"""What the linkage lists show someone who may not see identifiable data.

A source record id (``org:dataset:local_patient_id:hash``) carries the partner's local
patient id, and a person id leads to the person's joined record, so neither may reach an
analyst (DESIGN.md, Information governance: analysts see pseudonymised data only). Before
anything is presented to such a viewer, every record id and person id in the linkage
figures is replaced by a keyed pseudonym (the presenters withhold the identity values).

* Person ids become the same pseudonym the pseudonymised record view uses
  (:func:`wholesystem.access.pseudonyms.pseudonymise`), so an analyst can follow one.
* Record ids become a pseudonym of their own domain (the id behind a distinct label),
  so a record's pseudonym never equals a person's.

The "why linked" page takes record pseudonyms from an analyst and turns them back into
record ids on the server through :class:`RecordPseudonyms`, a lookup over the records the
lists can show; nothing that reaches the browser can be turned back without the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from wholesystem.access.pseudonyms import pseudonymise
from wholesystem.record.linkage.report import (
    Duplicate,
    MemberRecord,
    PairExplanation,
    PathEdge,
    SharedNhsNumber,
)

__all__ = [
    "RECORD_LABEL",
    "Mask",
    "RecordPseudonyms",
]

RECORD_LABEL = "source-record/"
"""Separates record pseudonyms from person pseudonyms under one key."""


@dataclass(frozen=True)
class Mask:
    """Pseudonymises the linkage figures under one key."""

    key: bytes

    def person(self, person_id: str | None) -> str | None:
        """The person's pseudonym (the one the pseudonymised record view answers to)."""
        return None if person_id is None else pseudonymise(person_id, self.key)

    def record(self, record_id: str) -> str:
        """The record's pseudonym."""
        return pseudonymise(RECORD_LABEL + record_id, self.key)

    def member(self, m: MemberRecord) -> MemberRecord:
        """A member record with pseudonyms for its ids.

        Its identity values stay, for the presenters to show as withheld where present.
        """
        return replace(m, record_id=self.record(m.record_id), person_id=self.person(m.person_id))

    def shared(self, item: SharedNhsNumber) -> SharedNhsNumber:
        """A shared NHS number without the number, its records and persons pseudonymised."""
        return replace(
            item,
            nhs_number="",
            persons=tuple(sorted(p for p in map(self.person, item.persons) if p is not None)),
            pair=(self.record(item.pair[0]), self.record(item.pair[1])),
            members=[self.member(m) for m in item.members],
        )

    def duplicate(self, item: Duplicate) -> Duplicate:
        """A within-source duplicate with its person and records pseudonymised."""
        return replace(
            item,
            person_id=self.person(item.person_id) or "",
            pair=(self.record(item.pair[0]), self.record(item.pair[1])),
            members=[self.member(m) for m in item.members],
        )

    def explanation(self, e: PairExplanation) -> PairExplanation:
        """A pair's evidence with its records pseudonymised; the weights are kept."""
        return replace(
            e,
            a=self.member(e.a),
            b=self.member(e.b),
            path=[
                PathEdge(
                    self.record(edge.record_id_l),
                    self.record(edge.record_id_r),
                    edge.kind,
                    edge.match_weight,
                    edge.match_probability,
                )
                for edge in e.path
            ],
        )


class RecordPseudonyms:
    """Record pseudonym → record id, over the records a masked viewer can be shown."""

    def __init__(self, mask: Mask, record_ids: Iterable[str]) -> None:
        self._ids = {mask.record(r): r for r in record_ids}

    def __len__(self) -> int:
        return len(self._ids)

    def resolve(self, pseudonym: str) -> str | None:
        """The record id behind ``pseudonym``, or None when it names no listed record."""
        return self._ids.get(pseudonym)
