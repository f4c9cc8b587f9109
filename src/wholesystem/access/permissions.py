"""Roles and what each may do. Pure data and functions: no database, no web."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLE_PERMISSIONS", "Permission", "Role", "has_permission", "permissions_for"]


class Role(StrEnum):
    """The roles of the service (DESIGN.md, Users)."""

    system_admin = "system_admin"
    care_team_member = "care_team_member"
    care_coordinator = "care_coordinator"
    analyst = "analyst"
    finance_lead = "finance_lead"
    governance_lead = "governance_lead"
    board_member = "board_member"
    non_executive = "non_executive"
    councillor = "councillor"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.system_admin: "System administrator",
    Role.care_team_member: "Care-team member",
    Role.care_coordinator: "Care coordinator",
    Role.analyst: "Population-health analyst",
    Role.finance_lead: "Finance lead",
    Role.governance_lead: "Governance lead",
    Role.board_member: "Board member",
    Role.non_executive: "Non-executive or lay member",
    Role.councillor: "Councillor",
}


class Permission(StrEnum):
    """Things a route may require. Later capabilities add theirs here."""

    view_footprint = "view_footprint"
    manage_footprint = "manage_footprint"
    view_data_state = "view_data_state"
    manage_users = "manage_users"
    view_audit = "view_audit"
    view_identifiable_records = "view_identifiable_records"
    view_pseudonymised_data = "view_pseudonymised_data"
    manage_caseload = "manage_caseload"
    submit_finance = "submit_finance"
    view_all_finance = "view_all_finance"
    manage_governance = "manage_governance"
    view_board_papers = "view_board_papers"
    challenge = "challenge"
    view_data_quality = "view_data_quality"
    manage_data_quality = "manage_data_quality"
    view_dashboard = "view_dashboard"
    publish_snapshots = "publish_snapshots"
    review_break_glass = "review_break_glass"
    manage_opt_outs = "manage_opt_outs"
    declare_interests = "declare_interests"
    raise_concerns = "raise_concerns"
    approve_transfers = "approve_transfers"


_EVERYONE = frozenset(
    {
        Permission.view_footprint,
        Permission.view_data_state,
        Permission.view_dashboard,
        Permission.declare_interests,
        Permission.raise_concerns,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.system_admin: _EVERYONE
    | {
        Permission.manage_footprint,
        Permission.manage_users,
        Permission.view_audit,
        Permission.view_data_quality,
        Permission.manage_data_quality,
        Permission.publish_snapshots,
        Permission.review_break_glass,
        Permission.manage_opt_outs,
    },
    Role.care_team_member: _EVERYONE | {Permission.view_identifiable_records},
    Role.care_coordinator: _EVERYONE
    | {Permission.view_identifiable_records, Permission.manage_caseload},
    Role.analyst: _EVERYONE
    | {
        Permission.view_pseudonymised_data,
        Permission.view_data_quality,
        Permission.publish_snapshots,
    },
    Role.finance_lead: _EVERYONE | {Permission.submit_finance, Permission.view_all_finance},
    Role.governance_lead: _EVERYONE
    | {
        Permission.manage_governance,
        Permission.view_board_papers,
        Permission.view_audit,
        Permission.review_break_glass,
        Permission.approve_transfers,
    },
    Role.board_member: _EVERYONE
    | {
        Permission.view_board_papers,
        Permission.view_all_finance,
        Permission.challenge,
        Permission.approve_transfers,
    },
    Role.non_executive: _EVERYONE | {Permission.view_board_papers, Permission.challenge},
    Role.councillor: _EVERYONE | {Permission.view_board_papers, Permission.challenge},
}


def permissions_for(role: Role) -> frozenset[Permission]:
    """Everything ``role`` may do."""
    return ROLE_PERMISSIONS[role]


def has_permission(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
