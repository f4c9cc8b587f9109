"""Neighbourhood case-finding: who would most likely benefit from a multidisciplinary review.

The rule (:func:`criteria_met`, pure): a person is a candidate when they are at **high
risk** — risk tier ``top_0_5`` or ``p0_5_to_5`` (the top 5% by predicted risk of an
emergency admission in the next 12 months) — **and** at least one activity or complexity
criterion holds:

* 2 or more emergency admissions in the 12 months before the index date;
* 3 or more A&E attendances in those 12 months;
* in the complex multimorbidity, or frailty and dementia, segment with at least one
  emergency admission in those 12 months.

and they are **not already under review**: nobody has them on an open caseload (a
``care_relationship`` of kind ``caseload`` with no end, at any organisation; see
``wholesystem.access.relationships``). Adding someone to the MDT caseload therefore
takes them off the list. Candidates are ordered by risk, highest first.

Each candidate carries the criteria that fired, in plain words, and the model's own
``reasons`` (the factors that raised their risk, most important first).
"""

# Every request value reaches SQL as a bound parameter; only this module's own column
# names and its `?` parameter markers are written into the query text.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wholesystem.access.models import CareRelationship
from wholesystem.population.cohorts import POPULATION_TABLE, _run, _table_sql
from wholesystem.store.lake import Lake

__all__ = [
    "COMPLEX_SEGMENTS",
    "HIGH_RISK_TIERS",
    "MIN_AE_ATTENDANCES",
    "MIN_EMERGENCY_ADMISSIONS",
    "REVIEW_KIND",
    "Case",
    "criteria_met",
    "find_cases",
    "neighbourhood_rows",
    "under_review",
]

HIGH_RISK_TIERS = ("top_0_5", "p0_5_to_5")
MIN_EMERGENCY_ADMISSIONS = 2
MIN_AE_ATTENDANCES = 3
COMPLEX_SEGMENTS = ("complex_multimorbidity", "frailty_and_dementia")
# The care_relationship kind that means "already under (MDT) review".
REVIEW_KIND = "caseload"

_SEGMENT_WORDS = {
    "complex_multimorbidity": "complex multimorbidity",
    "frailty_and_dementia": "frailty or dementia",
}


@dataclass(frozen=True)
class Case:
    """One person found for review, with why."""

    person_id: str
    risk: float
    risk_rank: int
    tier: str
    segment: str
    criteria: tuple[str, ...]  # which criteria fired, in plain words
    reasons: tuple[str, ...]  # the model's factors, most important first
    row: Mapping[str, Any]  # the lake row (identity and activity columns for the page)


def _count(row: Mapping[str, Any], column: str) -> int:
    value = row.get(column)
    return int(value) if value is not None else 0


def _times(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def criteria_met(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The activity or complexity criteria ``row`` meets, in plain words.

    Empty when the person is not at high risk, whatever their activity: high risk is
    required, the criteria say why a review now.
    """
    if row.get("tier") not in HIGH_RISK_TIERS:
        return ()
    admissions = _count(row, "emergency_admissions_12m")
    attendances = _count(row, "ae_attendances_12m")
    fired: list[str] = []
    if admissions >= MIN_EMERGENCY_ADMISSIONS:
        fired.append(
            _times(admissions, "emergency admission", "emergency admissions")
            + " in the last 12 months"
        )
    if attendances >= MIN_AE_ATTENDANCES:
        fired.append(
            _times(attendances, "A&E attendance", "A&E attendances") + " in the last 12 months"
        )
    segment = str(row.get("segment") or "")
    if segment in COMPLEX_SEGMENTS and admissions >= 1:
        fired.append(
            f"Living with {_SEGMENT_WORDS[segment]} and admitted as an emergency "
            "in the last 12 months"
        )
    if fired:
        fired[0] = fired[0][0].upper() + fired[0][1:]
    return tuple(fired)


def find_cases(rows: Iterable[Mapping[str, Any]], under_review_ids: Set[str]) -> list[Case]:
    """Candidates among ``rows`` (``population_person`` rows), highest risk first.

    People in ``under_review_ids`` (an open caseload relationship) are left out.
    """
    cases: list[Case] = []
    for row in rows:
        person_id = str(row["person_id"])
        if person_id in under_review_ids:
            continue
        fired = criteria_met(row)
        if not fired:
            continue
        cases.append(
            Case(
                person_id=person_id,
                risk=float(row.get("risk") or 0.0),
                risk_rank=_count(row, "risk_rank"),
                tier=str(row["tier"]),
                segment=str(row.get("segment") or ""),
                criteria=fired,
                reasons=tuple(str(r) for r in (row.get("reasons") or ())),
                row=row,
            )
        )
    cases.sort(key=lambda c: (-c.risk, c.risk_rank, c.person_id))
    return cases


# ------------------------------------------------------------------------ lake and DB

CASE_COLUMNS = (
    "person_id",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "age",
    "sex",
    "practice_code",
    "neighbourhood_code",
    "segment",
    "tier",
    "risk",
    "risk_rank",
    "ltc_count",
    "emergency_admissions_12m",
    "ae_attendances_12m",
    "reasons",
)
_PERSON_COLUMNS = frozenset({"nhs_number", "given_name", "family_name", "date_of_birth"})


def neighbourhood_rows(
    lake: Lake, neighbourhood_code: str, person_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """High-risk rows of one neighbourhood among ``person_ids``, with identity columns.

    ``person_ids`` are the people the caller has decided the user may see; nobody else
    is read. The rule itself is applied by :func:`find_cases`.
    """
    source = _table_sql(lake, POPULATION_TABLE)
    people = _table_sql(lake, "person")
    allowed = sorted(set(person_ids))
    if source is None or people is None or not allowed:
        return []
    columns = ", ".join(f"p.{c}" if c in _PERSON_COLUMNS else f"pp.{c}" for c in CASE_COLUMNS)
    sql = (
        f"SELECT {columns} FROM {source} pp JOIN {people} p ON p.person_id = pp.person_id "
        "WHERE pp.neighbourhood_code = ? AND pp.tier IN (?, ?) "
        "AND list_contains(?::VARCHAR[], pp.person_id) ORDER BY pp.risk_rank, pp.person_id"
    )
    rows = _run(sql, [neighbourhood_code, *HIGH_RISK_TIERS, allowed])
    return [dict(zip(CASE_COLUMNS, r, strict=True)) for r in rows]


def under_review(session: Session, person_ids: Iterable[str], *, now: datetime) -> set[str]:
    """Which of ``person_ids`` are on an open caseload (any organisation) at ``now``."""
    wanted = sorted(set(person_ids))
    found: set[str] = set()
    # In chunks: a neighbourhood's high-risk list can run to thousands.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(CareRelationship.person_id).where(
            CareRelationship.person_id.in_(chunk),
            CareRelationship.kind == REVIEW_KIND,
            CareRelationship.started_at <= now,
            or_(CareRelationship.ended_at.is_(None), CareRelationship.ended_at > now),
        )
        found.update(session.execute(query).scalars())
    return found
