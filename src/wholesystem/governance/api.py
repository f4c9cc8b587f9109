"""The decision register as JSON: ``/api/v1/governance/decisions`` and one decision.

The list holds the same rows as ``/governance/decisions.csv`` with the same filters (both are
built from :func:`~wholesystem.governance.presenters.decision_record`); one decision adds its
full version history, the conflicts recorded and how they were managed, and the votes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from wholesystem.access.permissions import Permission
from wholesystem.access.web import require
from wholesystem.governance.deps import Q32
from wholesystem.governance.presenters import decision_record
from wholesystem.governance.queries import decision_by_reference, list_decisions
from wholesystem.governance.routes import decision_filters
from wholesystem.governance.services import from_pence
from wholesystem.web.rendering import Db

__all__ = ["api_router"]

api_router = APIRouter(
    dependencies=[Depends(require(Permission.view_dashboard))], tags=["governance"]
)


class DecisionOut(BaseModel):
    """A decision at its latest version: the columns of the register's CSV."""

    reference: str
    version: int
    title: str
    kind: str
    status: str
    level: str
    place: str | None
    body: str | None
    value_gbp: Decimal
    crg: str
    needs_ratification: bool
    ratified_on: date | None
    decided_on: date | None
    planned_on: date | None
    effective_date: date | None
    review_date: date | None
    proposer: str


class VersionOut(BaseModel):
    """One immutable version."""

    version: int
    status: str
    title: str
    value_gbp: Decimal
    crg: str
    method: str | None
    votes_for: int | None
    votes_against: int | None
    votes_abstain: int | None
    attendance_and_quorum: str
    decided_on: date | None
    effective_date: date | None
    review_date: date | None
    progress: str
    ratified_on: date | None
    ratified_by: str | None
    change_note: str
    recorded_at: datetime
    recorded_by: str


class ConflictOut(BaseModel):
    """A conflict recorded when the decision was taken, and its management."""

    version: int
    person: str
    source: str
    category: str | None
    reason: str
    management: list[str]


class VoteOut(BaseModel):
    version: int
    person: str
    vote: str


class DecisionDetailOut(DecisionOut):
    reasons: str
    alternatives: str
    routing_explanation: str
    versions: list[VersionOut]
    conflicts: list[ConflictOut]
    votes: list[VoteOut]


@api_router.get("/governance/decisions", response_model=list[DecisionOut])
def api_decisions(
    db: Db, body: Q32 = None, place: Q32 = None, kind: Q32 = None, status: Q32 = None
) -> list[DecisionOut]:
    """The decision register, newest first, filtered like the page and the CSV."""
    rows = list_decisions(db, decision_filters(body, place, kind, status))
    return [DecisionOut.model_validate(decision_record(r)) for r in rows]


@api_router.get("/governance/decisions/{reference}", response_model=DecisionDetailOut)
def api_decision(reference: str, db: Db) -> DecisionDetailOut:
    """One decision with its version history, conflicts and their management, and votes."""
    detail = decision_by_reference(db, reference)
    if detail is None:
        raise HTTPException(404, f"There is no decision {reference}.")
    v = detail.row.version
    versions = [
        VersionOut(
            version=x.version,
            status=x.status,
            title=x.title,
            value_gbp=from_pence(x.value_pence),
            crg=x.crg_status,
            method=x.method,
            votes_for=x.votes_for,
            votes_against=x.votes_against,
            votes_abstain=x.votes_abstain,
            attendance_and_quorum=x.quorum_note,
            decided_on=x.decided_on,
            effective_date=x.effective_date,
            review_date=x.review_date,
            progress=x.progress,
            ratified_on=x.ratified_on,
            ratified_by=x.ratified_by,
            change_note=x.change_note,
            recorded_at=x.recorded_at,
            recorded_by=x.recorded_by,
        )
        for x in detail.versions
    ]
    conflicts = [
        ConflictOut(
            version=c.version,
            person=p.name,
            source=c.source,
            category=c.category,
            reason=c.reason,
            management=list(c.management),
        )
        for c, p in detail.conflicts
    ]
    votes = [VoteOut(version=x.version, person=p.name, vote=x.vote) for x, p in detail.votes]
    return DecisionDetailOut.model_validate(
        {
            **decision_record(detail.row),
            "reasons": v.reasons,
            "alternatives": v.alternatives,
            "routing_explanation": v.routing_explanation,
            "versions": versions,
            "conflicts": conflicts,
            "votes": votes,
        }
    )
