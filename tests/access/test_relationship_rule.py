"""The legitimate-relationship rule, pure: a table of cases and an exhaustive sweep."""

from __future__ import annotations

from itertools import chain, combinations, product

import pytest

from wholesystem.access.permissions import Permission, Role, has_permission
from wholesystem.access.relationships import Basis, PersonContext, Viewer, relationship_basis

# Footprint: practices P1 and P2 in neighbourhood (PCN) N1, practice P3 in N2.
PCN_MAP = {"P1": "N1", "P2": "N1", "P3": "N2"}
CARER = Role.care_team_member


def person(
    practices: tuple[str, ...] = (), episodes: tuple[str, ...] = (), nhs: str | None = None
) -> PersonContext:
    return PersonContext(
        person_id="WP0000000001",
        nhs_number=nhs,
        registered_practices=frozenset(practices),
        open_episode_orgs=frozenset(episodes),
    )


CASES = [
    # (description, role, org, active, practices, episodes, care orgs, break-glass, expected)
    ("own practice", CARER, "P1", True, ("P1",), (), (), False, Basis.registered_practice),
    ("coordinator, own practice", Role.care_coordinator, "P1", True, ("P1",), (), (), False,
     Basis.registered_practice),
    ("other practice, same PCN", CARER, "P2", True, ("P1",), (), (), False,
     Basis.registered_in_neighbourhood),
    ("PCN user, practice in PCN", CARER, "N1", True, ("P2",), (), (), False,
     Basis.registered_in_neighbourhood),
    ("PCN user, practice elsewhere", CARER, "N1", True, ("P3",), (), (), False, None),
    ("practice in another PCN", CARER, "P3", True, ("P1",), (), (), False, None),
    ("unknown practice of the person", CARER, "P1", True, ("PX",), (), (), False, None),
    ("two registrations, one here", CARER, "P3", True, ("P1", "P3"), (), (), False,
     Basis.registered_practice),
    ("caseload at trust", CARER, "T1", True, (), (), ("T1",), False, Basis.caseload),
    ("caseload elsewhere only", CARER, "T1", True, (), (), ("T2",), False, None),
    ("open episode at trust", CARER, "T1", True, (), ("T1",), (), False, Basis.open_episode),
    ("open episode elsewhere", CARER, "T1", True, (), ("T2",), (), False, None),
    ("caseload beats episode", CARER, "T1", True, (), ("T1",), ("T1",), False, Basis.caseload),
    ("practice beats everything", CARER, "P1", True, ("P1",), ("P1",), ("P1",), True,
     Basis.registered_practice),
    ("break-glass only", CARER, "T1", True, (), (), (), True, Basis.break_glass),
    ("relationship beats break-glass", CARER, "T1", True, (), ("T1",), (), True,
     Basis.open_episode),
    ("no facts at all", CARER, "T1", True, (), (), (), False, None),
    ("deactivated, own practice", CARER, "P1", False, ("P1",), (), (), False, None),
    ("deactivated, break-glass", CARER, "T1", False, (), (), (), True, None),
    ("analyst, own practice", Role.analyst, "P1", True, ("P1",), (), (), False, None),
    ("admin, break-glass", Role.system_admin, "T1", True, (), (), (), True, None),
    ("governance lead, episode", Role.governance_lead, "T1", True, (), ("T1",), (), False, None),
    ("board member, caseload", Role.board_member, "T1", True, (), (), ("T1",), False, None),
    ("councillor, own practice", Role.councillor, "P1", True, ("P1",), (), (), False, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "org", "active", "practices", "episodes", "care", "glass", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_relationship_rule_table(
    role: Role,
    org: str,
    active: bool,
    practices: tuple[str, ...],
    episodes: tuple[str, ...],
    care: tuple[str, ...],
    glass: bool,
    expected: Basis | None,
) -> None:
    viewer = Viewer(role=role.value, organisation_code=org, active=active)
    got = relationship_basis(
        viewer, person(practices, episodes), PCN_MAP, care, break_glass_active=glass
    )
    assert got == expected


def test_an_unknown_role_is_never_allowed() -> None:
    viewer = Viewer(role="superuser", organisation_code="P1")
    assert relationship_basis(viewer, person(("P1",)), PCN_MAP, ["P1"]) is None


def _subsets(items: tuple[str, ...]) -> list[tuple[str, ...]]:
    return list(chain.from_iterable(combinations(items, n) for n in range(len(items) + 1)))


ORGS = ("P1", "P2", "P3", "N1", "N2", "T1")


def _expected(
    role: Role,
    org: str,
    active: bool,
    practices: tuple[str, ...],
    episodes: tuple[str, ...],
    care: tuple[str, ...],
    glass: bool,
) -> Basis | None:
    """The rule restated from DESIGN.md in the most literal way, for the sweep."""
    if not active or not has_permission(role, Permission.view_identifiable_records):
        return None
    if org in practices:
        return Basis.registered_practice
    user_pcn = org if org.startswith("N") else PCN_MAP.get(org)
    if user_pcn is not None and user_pcn in {PCN_MAP.get(p) for p in practices}:
        return Basis.registered_in_neighbourhood
    if org in care:
        return Basis.caseload
    if org in episodes:
        return Basis.open_episode
    return Basis.break_glass if glass else None


def test_exhaustive_sweep_against_the_literal_rule() -> None:
    checked = 0
    for role, org, active, practices, episodes, care, glass in product(
        Role,
        ORGS,
        (True, False),
        _subsets(("P1", "P3")),
        _subsets(("T1", "P2")),
        _subsets(("T1", "N1")),
        (True, False),
    ):
        viewer = Viewer(role=role.value, organisation_code=org, active=active)
        got = relationship_basis(
            viewer, person(practices, episodes), PCN_MAP, care, break_glass_active=glass
        )
        assert got == _expected(role, org, active, practices, episodes, care, glass), (
            role, org, active, practices, episodes, care, glass,
        )  # fmt: skip
        if got is not None:
            assert has_permission(role, Permission.view_identifiable_records)
            assert active
        checked += 1
    assert checked == len(Role) * len(ORGS) * 2 * 4 * 4 * 4 * 2
