"""A small governance set-up (bodies, people with users) and a small metric snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from wholesystem.access.models import User
from wholesystem.governance import services as gov
from wholesystem.governance.models import Person
from wholesystem.governance.scheme import BodyKind
from wholesystem.metrics.compute import ComputedValue
from wholesystem.metrics.pipeline import write_snapshot

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
CUT_OFF = date(2026, 1, 31)


@dataclass(frozen=True)
class Cast:
    ceo: Person  # ICB chief executive, system board
    trust_ceo: Person  # acute trust chief executive
    director: Person  # place director on PL1's board
    nurse: Person


def make_cast(session: Session, users: dict[str, int] | None = None) -> Cast:
    """Bodies and people as the demo has them, small; ``users`` links people to users."""
    users = users or {}

    def person(name: str, org: str, title: str) -> Person:
        return gov.create_person(
            session,
            name=name,
            organisation_code=org,
            job_title=title,
            user_id=users.get(name),
            actor="test",
            now=NOW,
        )

    ceo = person("Bob Board", "QXX", "ICB chief executive")
    trust = person("Jo Hart", "RA1", "Chief executive")
    director = person("Lee Carter", "RC1", "Director of integrated care")
    nurse = person("Amira Khan", "RC1", "Director of nursing")
    sb = gov.create_body(
        session,
        code="SB",
        name="System board",
        kind=BodyKind.system_board,
        area_code=None,
        actor="test",
        now=NOW,
    )
    pb = gov.create_body(
        session,
        code="PB-PL1",
        name="Testshire North place board",
        kind=BodyKind.place_board,
        area_code="PL1",
        actor="test",
        now=NOW,
    )
    for body, who, role, group in (
        (sb, ceo, "Chief executive", "executive"),
        (sb, trust, "Trust partner member", "nhs_trust"),
        (pb, director, "Place director", "executive"),
        (pb, nurse, "Nursing lead", "clinical"),
    ):
        gov.add_member(
            session,
            body_id=body.id,
            person_id=who.id,
            role=role,
            member_group=group,
            voting=True,
            term_start=date(2025, 4, 1),
            actor="test",
            now=NOW,
        )
    session.flush()
    return Cast(ceo, trust, director, nurse)


def _series(
    metric: str, area: str, kind: str, values: list[str], start_month: int = 8
) -> list[ComputedValue]:
    out = []
    for i, v in enumerate(values):
        month = start_month + i
        period = date(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        out.append(ComputedValue(metric, area, kind, period, None, None, Decimal(v)))
    return out


def small_snapshot(session: Session) -> int:
    """A published snapshot: three failing series at accountable levels, others not."""
    values = (
        # A&E 4 hours at the acute trust: under 78% for six months (failing).
        _series("ae_4hr", "RA1", "organisation", ["70", "71", "69", "72", "70", "71"])
        # ... and fine for the system.
        + _series("ae_4hr", "QXX", "system", ["80", "81", "82", "80", "79", "81"])
        # Readmissions in place PL1: over 14% for the last three months (failing).
        + _series("readmissions_30d", "PL1", "place", ["12", "13", "12", "15", "16", "15"])
        # ... and for the whole system (whose code is also the ICB's organisation code).
        + _series("readmissions_30d", "QXX", "system", ["15", "15", "15", "15", "15", "15"])
        # A failing neighbourhood: not an accountable level, so no concern.
        + _series("readmissions_30d", "U00001", "neighbourhood", ["20", "20", "20", "20"])
        # Bed occupancy within its ceiling.
        + _series("bed_occupancy", "RA1", "organisation", ["85", "86", "88", "90", "91", "89"])
    )
    info = write_snapshot(session, values, actor="analyst", data_cut_off=CUT_OFF)
    return info.id


def user_ids(session: Session) -> dict[str, int]:
    return {u.username: u.id for u in session.query(User).all()}
