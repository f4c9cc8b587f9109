"""Read concerns and questions for the pages, the CSV files and the open-data export."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.governance.concerns.models import Concern, ConcernEvent, Question
from wholesystem.governance.concerns.rules import Stage
from wholesystem.governance.models import Person

__all__ = [
    "ConcernFilters",
    "ConcernRow",
    "QuestionFilters",
    "concern_summary",
    "list_concerns",
    "list_questions",
    "timeline",
]

STATUSES = ("open", "resolved")
SOURCES = ("partner", "metric")


@dataclass(frozen=True)
class ConcernFilters:
    """The list's filters, as they appear in the URL."""

    status: str | None = None
    stage: str | None = None
    source: str | None = None
    organisation: str | None = None
    overdue: bool = False

    def problems(self) -> list[str]:
        """What is wrong with the filters (unknown values), for a 400 page."""
        out: list[str] = []
        if self.status and self.status not in STATUSES:
            out.append(f"'{self.status}' is not a concern status (open or resolved).")
        if self.stage and self.stage not in {s.value for s in Stage}:
            out.append(f"'{self.stage}' is not a stage of the agreed process.")
        if self.source and self.source not in SOURCES:
            out.append(f"'{self.source}' is not a source (partner or metric).")
        return out

    def as_query(self) -> dict[str, str]:
        out = {
            k: v
            for k, v in (
                ("status", self.status),
                ("stage", self.stage),
                ("source", self.source),
                ("organisation", self.organisation),
            )
            if v
        }
        if self.overdue:
            out["overdue"] = "yes"
        return out


@dataclass(frozen=True)
class ConcernRow:
    concern: Concern
    owner: Person
    overdue: bool


def list_concerns(session: Session, filters: ConcernFilters, today: date) -> list[ConcernRow]:
    """Concerns matching the filters, open ones first, then newest first."""
    query = select(Concern, Person).join(Person, Person.id == Concern.owner_person_id)
    if filters.status:
        query = query.where(Concern.status == filters.status)
    if filters.stage:
        query = query.where(Concern.stage == filters.stage)
    if filters.source:
        query = query.where(Concern.source == filters.source)
    if filters.overdue:
        query = query.where(Concern.status == "open", Concern.due_on < today)
    query = query.order_by(Concern.status, Concern.id.desc())
    rows = [
        ConcernRow(c, p, c.status == "open" and c.due_on is not None and c.due_on < today)
        for c, p in session.execute(query).all()
    ]
    if filters.organisation:
        # The organisations involved are a JSON list: filtered here, the same on every backend.
        code = filters.organisation.upper()
        rows = [r for r in rows if code in r.concern.organisations]
    return rows


def timeline(session: Session, concern_id: int) -> list[tuple[ConcernEvent, Person | None]]:
    """The concern's history with the owner of each stage entered."""
    rows = session.execute(
        select(ConcernEvent, Person)
        .outerjoin(Person, Person.id == ConcernEvent.owner_person_id)
        .where(ConcernEvent.concern_id == concern_id)
        .order_by(ConcernEvent.seq)
    ).all()
    return [(e, p) for e, p in rows]


def concern_summary(session: Session, today: date) -> list[tuple[str, str, str, int, int]]:
    """Counts of concerns by stage, status and source, with how many are overdue.

    No titles, people or organisations: this is what the open data publishes.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    overdue: Counter[tuple[str, str, str]] = Counter()
    for c in session.scalars(select(Concern)):
        key = (c.stage, c.status, c.source)
        counts[key] += 1
        if c.status == "open" and c.due_on is not None and c.due_on < today:
            overdue[key] += 1
    order = {s.value: i for i, s in enumerate(Stage)}
    return [
        (stage, status, source, n, overdue[(stage, status, source)])
        for (stage, status, source), n in sorted(
            counts.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1], kv[0][2])
        )
    ]


@dataclass(frozen=True)
class QuestionFilters:
    status: str | None = None
    subject_kind: str | None = None

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in (("status", self.status), ("subject", self.subject_kind)) if v}


def list_questions(
    session: Session,
    filters: QuestionFilters,
    *,
    answered_only: bool = False,
    username: str | None = None,
) -> list[Question]:
    """Questions, oldest due first for the answer queue (newest first once answered)."""
    query = select(Question)
    if answered_only:
        query = query.where(Question.status == "answered")
    if filters.status:
        query = query.where(Question.status == filters.status)
    if filters.subject_kind:
        query = query.where(Question.subject_kind == filters.subject_kind)
    if username is not None:
        query = query.where(Question.asker_username == username)
    query = query.order_by(Question.status.desc(), Question.due_on, Question.id)
    return list(session.scalars(query))
