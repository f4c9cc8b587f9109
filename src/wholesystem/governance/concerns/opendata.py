"""The open-data export of published governance: each dataset once, as CSV and as JSON.

Every dataset is built as (columns, rows) once; the CSV writes those rows and the JSON keys
the same rows by the same column names, so the two can never disagree. Only what the public
pages already publish goes out: members of bodies, the decision register (withdrawn
decisions left out), the published register of interests, counts of concerns (no titles,
people or organisations) and answered questions (no personal detail of the public).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from wholesystem.governance.concerns.presenters import (
    CONCERN_SUMMARY_COLUMNS,
    PUBLIC_QUESTION_COLUMNS,
    public_question_rows,
)
from wholesystem.governance.concerns.queries import (
    QuestionFilters,
    concern_summary,
    list_questions,
)
from wholesystem.governance.presenters import (
    DECISION_CSV_COLUMNS,
    REGISTER_CSV_COLUMNS,
    decision_csv_rows,
    register_csv_rows,
)
from wholesystem.governance.queries import (
    DecisionFilters,
    bodies_with_members,
    list_decisions,
    register_rows,
)

__all__ = ["DATASETS", "MEMBER_COLUMNS", "Dataset", "dataset"]

Table = tuple[Sequence[str], list[list[object]]]

MEMBER_COLUMNS = (
    "body_code",
    "body",
    "body_kind",
    "area_code",
    "name",
    "organisation",
    "joint_post_organisation",
    "role",
    "member_group",
    "voting",
    "term_start",
    "term_end",
)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    build: Callable[[Session, date], Table]


def _members(session: Session, today: date) -> Table:
    rows: list[list[object]] = [
        [
            b.code,
            b.name,
            b.kind,
            b.area_code or "",
            p.name,
            p.organisation_code,
            p.second_organisation_code or "",
            m.role,
            m.member_group,
            m.voting,
            m.term_start,
            m.term_end or "",
        ]
        for b, members in bodies_with_members(session)
        for m, p in members
    ]
    return MEMBER_COLUMNS, rows


def _decisions(session: Session, today: date) -> Table:
    rows = [
        r for r in list_decisions(session, DecisionFilters()) if r.version.status != "withdrawn"
    ]
    return DECISION_CSV_COLUMNS, decision_csv_rows(rows)


def _interests(session: Session, today: date) -> Table:
    return REGISTER_CSV_COLUMNS, register_csv_rows(register_rows(session, public=True, on=today))


def _concerns(session: Session, today: date) -> Table:
    return CONCERN_SUMMARY_COLUMNS, [list(r) for r in concern_summary(session, today)]


def _questions(session: Session, today: date) -> Table:
    return PUBLIC_QUESTION_COLUMNS, public_question_rows(
        list_questions(session, QuestionFilters(), answered_only=True)
    )


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "bodies-and-members",
        "Bodies and members",
        "Every seat on every governance body: role, organisation, voting or not, term.",
        _members,
    ),
    Dataset(
        "decisions",
        "Decision register",
        "Every decision at its latest version: routing, decision maker, value, dates.",
        _decisions,
    ),
    Dataset(
        "interests",
        "Register of interests",
        "The published register of decision-making staff: interests, gifts and hospitality.",
        _interests,
    ),
    Dataset(
        "concerns-summary",
        "Concerns and escalations (summary)",
        "How many concerns are at each stage, open or resolved, and how many are overdue.",
        _concerns,
    ),
    Dataset(
        "questions",
        "Questions and answers",
        "Answered questions and comments on decisions, papers and the plan.",
        _questions,
    ),
)


def dataset(name: str) -> Dataset | None:
    """The dataset with this name, or None."""
    for d in DATASETS:
        if d.name == name:
            return d
    return None
