"""Demo users: one per role, attached to a suitable organisation of the demo ICS.

Only the ``demo`` command calls this, and only in demo mode: the passwords are fixed
and printed by ``make run`` so people can try each role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from wholesystem.access.audit import SYSTEM_ACTOR
from wholesystem.access.errors import AccessError
from wholesystem.access.permissions import Role
from wholesystem.access.users import create_user, get_user

__all__ = ["DEMO_USERS", "DemoUser", "create_demo_users"]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    # Organisation types to attach to, best first; the ICB is always the last resort.
    organisation_types: tuple[str, ...]
    password: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Alex Admin", Role.system_admin, ("icb",), "demo-admin-2026"),
    DemoUser("gp", "Dr Priya Patel", Role.care_team_member, ("gp_practice",), "demo-gp-pass-2026"),
    DemoUser(
        "coordinator",
        "Sam Coordinator",
        Role.care_coordinator,
        ("pcn", "gp_practice"),
        "demo-coordinator-2026",
    ),
    DemoUser("analyst", "Ana Lyst", Role.analyst, ("icb",), "demo-analyst-2026"),
    DemoUser("finance", "Fran Finance", Role.finance_lead, ("acute_trust",), "demo-finance-2026"),
    DemoUser(
        "governance", "Gail Governance", Role.governance_lead, ("icb",), "demo-governance-2026"
    ),
    DemoUser("board", "Bob Board", Role.board_member, ("icb",), "demo-board-2026"),
    DemoUser("ned", "Nadia Nonexec", Role.non_executive, ("icb",), "demo-ned-pass-2026"),
    DemoUser(
        "councillor",
        "Cllr Chris Council",
        Role.councillor,
        ("local_authority",),
        "demo-councillor-2026",
    ),
)


def _organisation_for(demo: DemoUser, organisations_by_type: Mapping[str, Sequence[str]]) -> str:
    for org_type in (*demo.organisation_types, "icb"):
        codes = organisations_by_type.get(org_type) or ()
        if codes:
            return sorted(codes)[0]
    raise AccessError(
        f"cannot create demo user '{demo.username}': the footprint has no organisation of type "
        f"{' or '.join(repr(t) for t in (*demo.organisation_types, 'icb'))}"
    )


def create_demo_users(
    session: Session,
    organisations_by_type: Mapping[str, Sequence[str]],
    *,
    mode: str = "demo",
) -> list[tuple[str, str, str, str]]:
    """Create the demo users that do not exist yet (existing accounts are left alone).

    Returns ``(username, password, role label, organisation code)`` for every demo user,
    in role order, so the demo can print how to sign in as each. The caller commits.
    Pass ``mode=settings.mode``: published passwords are refused in production.
    """
    if str(mode) == "production":
        raise AccessError(
            "demo users have published passwords and are never created in production mode"
        )
    out: list[tuple[str, str, str, str]] = []
    for demo in DEMO_USERS:
        existing = get_user(session, demo.username)
        if existing is None:
            code = _organisation_for(demo, organisations_by_type)
            create_user(
                session,
                username=demo.username,
                display_name=demo.display_name,
                role=demo.role,
                organisation_code=code,
                password=demo.password,
                actor=SYSTEM_ACTOR,
            )
        else:
            code = existing.organisation_code
        out.append((demo.username, demo.password, demo.role.label, code))
    return out
