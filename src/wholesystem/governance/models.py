"""Governance tables: bodies, people and members, interests, and the versioned decision register.

Decisions are never overwritten: ``gov_decision`` holds the reference and a pointer to the
latest version; every change (amendment, CRG agreement, the decision being made, ratification)
adds a ``gov_decision_version`` row. Versions, votes and recorded conflicts are append-only
in the database itself (triggers in migration 0008 refuse UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = [
    "Body",
    "CrgStatus",
    "Decision",
    "DecisionConflict",
    "DecisionStatus",
    "DecisionVersion",
    "DecisionVote",
    "GiftOrHospitality",
    "Interest",
    "InterestDeclaration",
    "Member",
    "Person",
]


class DecisionStatus(StrEnum):
    proposed = "proposed"
    awaiting_crg = "awaiting_crg"
    ready = "ready"
    deferred = "deferred"
    made = "made"
    rejected = "rejected"
    ratified = "ratified"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return {
            DecisionStatus.proposed: "Proposed",
            DecisionStatus.awaiting_crg: "Awaiting CRG agreement",
            DecisionStatus.ready: "Ready for decision",
            DecisionStatus.deferred: "Deferred",
            DecisionStatus.made: "Made",
            DecisionStatus.rejected: "Rejected",
            DecisionStatus.ratified: "Ratified",
            DecisionStatus.withdrawn: "Withdrawn",
        }[self]


class CrgStatus(StrEnum):
    not_needed = "not_needed"
    awaiting = "awaiting"
    agreed = "agreed"
    not_agreed = "not_agreed"

    @property
    def label(self) -> str:
        return {
            CrgStatus.not_needed: "Not needed",
            CrgStatus.awaiting: "Awaiting",
            CrgStatus.agreed: "Agreed",
            CrgStatus.not_agreed: "Not agreed",
        }[self]


class Body(Base):
    """A governance body: system board, a place board, the CRG, a reference group, ..."""

    __tablename__ = "gov_body"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    area_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("area.code"), nullable=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    """Someone who sits on a body or declares interests; a joint post has a second employer."""

    __tablename__ = "gov_person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("app_user.id"), nullable=True, unique=True
    )
    organisation_code: Mapped[str] = mapped_column(String(16), ForeignKey("organisation.code"))
    second_organisation_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("organisation.code"), nullable=True
    )
    job_title: Mapped[str] = mapped_column(String(200), default="")
    decision_maker: Mapped[bool] = mapped_column(Boolean, default=True)


class Member(Base):
    """A person's seat on a body."""

    __tablename__ = "gov_member"
    __table_args__ = (UniqueConstraint("body_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_body.id"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"), index=True)
    role: Mapped[str] = mapped_column(String(200))
    member_group: Mapped[str] = mapped_column(String(32))
    voting: Mapped[bool] = mapped_column(Boolean, default=True)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date, nullable=True)


class Interest(Base):
    """A declared interest in one of the four NHS categories."""

    __tablename__ = "gov_interest"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    organisation_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    matter: Mapped[str | None] = mapped_column(String(100), nullable=True)
    description: Mapped[str] = mapped_column(Text)
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date | None] = mapped_column(Date, nullable=True)
    withheld_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))


class InterestDeclaration(Base):
    """An annual declaration: interests confirmed, or a nil return."""

    __tablename__ = "gov_interest_declaration"
    __table_args__ = (UniqueConstraint("person_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    nil_return: Mapped[bool] = mapped_column(Boolean)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))


class GiftOrHospitality(Base):
    """A gift or hospitality offered, with the value in pence and what the guidance says."""

    __tablename__ = "gov_gift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # gift, hospitality
    offered_by: Mapped[str] = mapped_column(String(200))
    from_supplier: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text)
    value_pence: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(32))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))


class Decision(Base):
    """A decision's identity; its content lives in append-only versions."""

    __tablename__ = "gov_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class DecisionVersion(Base):
    """One immutable version of a decision."""

    __tablename__ = "gov_decision_version"
    __table_args__ = (UniqueConstraint("decision_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_decision.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    proposer: Mapped[str] = mapped_column(String(200))
    value_pence: Mapped[int] = mapped_column(BigInteger)
    places: Mapped[list[str]] = mapped_column(JSON)
    parties: Mapped[list[str]] = mapped_column(JSON)
    matters: Mapped[list[str]] = mapped_column(JSON)
    reserved_matters: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[str] = mapped_column(Text)
    alternatives: Mapped[str] = mapped_column(Text)
    routed_level: Mapped[str] = mapped_column(String(16))
    routed_place_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    routed_body_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_body.id"), nullable=True
    )
    routing_explanation: Mapped[str] = mapped_column(Text)
    needs_crg: Mapped[bool] = mapped_column(Boolean)
    needs_ratification: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), index=True)
    crg_status: Mapped[str] = mapped_column(String(16))
    crg_note: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    votes_for: Mapped[int | None] = mapped_column(Integer, nullable=True)
    votes_against: Mapped[int | None] = mapped_column(Integer, nullable=True)
    votes_abstain: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quorum_note: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    planned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    progress: Mapped[str] = mapped_column(Text, default="")
    ratified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ratified_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    change_note: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class DecisionConflict(Base):
    """A conflict of interest on a decision and how it was managed (append-only)."""

    __tablename__ = "gov_decision_conflict"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_decision.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    interest_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_interest.id"), nullable=True
    )
    reason: Mapped[str] = mapped_column(Text)
    management: Mapped[list[str]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class DecisionVote(Base):
    """One member's vote on a decision (append-only)."""

    __tablename__ = "gov_decision_vote"
    __table_args__ = (UniqueConstraint("decision_id", "version", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_decision.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    vote: Mapped[str] = mapped_column(String(16))  # for, against, abstain
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
