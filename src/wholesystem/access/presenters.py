"""Plain data for the access pages and their CSV downloads (templates only loop over this)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wholesystem.access.audit import AuditVerification, canonical_json
from wholesystem.access.break_glass import GrantStatus, grant_status
from wholesystem.access.models import AuditEvent, BreakGlassGrant, OptOut, User
from wholesystem.access.permissions import Role
from wholesystem.times import uk_stamp

__all__ = [
    "AUDIT_CSV_HEADER",
    "BREAK_GLASS_CSV_HEADER",
    "OPT_OUT_CSV_HEADER",
    "USER_CSV_HEADER",
    "AuditPage",
    "audit_csv_row",
    "audit_table_rows",
    "break_glass_csv_row",
    "break_glass_summary",
    "break_glass_table_rows",
    "format_time",
    "opt_out_csv_row",
    "opt_out_table_rows",
    "role_label",
    "user_csv_row",
    "user_table_rows",
    "verification_view",
]


def format_time(moment: datetime | None, *, never: str = "Never") -> str:
    """'23 Nov 2026, 19:40 GMT' (UK time) for tables."""
    if moment is None:
        return never
    return uk_stamp(moment, "%-d %b %Y, %H:%M")


def iso_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def role_label(role: str) -> str:
    try:
        return Role(role).label
    except ValueError:
        return f"Unknown role ({role})"


# ------------------------------------------------------------------------------ users

USER_CSV_HEADER = (
    "username",
    "display_name",
    "email",
    "role",
    "role_label",
    "organisation_code",
    "organisation_name",
    "active",
    "created_at",
    "last_login_at",
)


def _status(user: User) -> str:
    return "Active" if user.active else "Deactivated"


def user_table_rows(
    users: Iterable[User], organisation_names: dict[str, str]
) -> list[list[dict[str, str]]]:
    rows = []
    for user in users:
        org = organisation_names.get(user.organisation_code, "")
        rows.append(
            [
                {"text": user.username, "header": "Username"},
                {"text": user.display_name, "header": "Name"},
                {"text": role_label(user.role), "header": "Role"},
                {
                    "text": f"{org} ({user.organisation_code})" if org else user.organisation_code,
                    "header": "Organisation",
                },
                {"text": _status(user), "header": "Status"},
                {"text": format_time(user.last_login_at), "header": "Last signed in"},
            ]
        )
    return rows


def user_csv_row(user: User, organisation_names: dict[str, str]) -> list[Any]:
    return [
        user.username,
        user.display_name,
        user.email or "",
        user.role,
        role_label(user.role),
        user.organisation_code,
        organisation_names.get(user.organisation_code, ""),
        "yes" if user.active else "no",
        iso_time(user.created_at),
        iso_time(user.last_login_at),
    ]


# ------------------------------------------------------------------------------ audit

AUDIT_CSV_HEADER = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "detail",
    "prev_hash",
    "hash",
)


def _detail_text(detail: Any, limit: int = 160) -> str:
    if not detail:
        return ""
    text = canonical_json(detail)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_table_rows(events: Iterable[AuditEvent]) -> list[list[dict[str, str]]]:
    return [
        [
            {"text": str(e.seq), "header": "Row", "format": "numeric"},
            {"text": format_time(e.at), "header": "When"},
            {"text": e.actor, "header": "Who"},
            {"text": e.action, "header": "Action"},
            {"text": f"{e.object_type}: {e.object_id}", "header": "Object"},
            {"text": _detail_text(e.detail), "header": "Detail"},
            {"text": e.hash[:12], "header": "Hash"},
        ]
        for e in events
    ]


def audit_csv_row(event: AuditEvent) -> list[Any]:
    return [
        event.seq,
        event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        event.actor,
        event.action,
        event.object_type,
        event.object_id,
        canonical_json(event.detail if event.detail is not None else {}),
        event.prev_hash,
        event.hash,
    ]


@dataclass(frozen=True)
class AuditPage:
    """Which slice of the log a page shows."""

    page: int
    pages: int
    total: int
    first: int
    last: int


def page_window(total: int, page: int, per_page: int) -> AuditPage:
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    first = 0 if total == 0 else (page - 1) * per_page + 1
    last = min(total, page * per_page)
    return AuditPage(page=page, pages=pages, total=total, first=first, last=last)


def verification_view(result: AuditVerification) -> dict[str, Any]:
    return {"ok": result.ok, "summary": result.summary, "problem": result.problem}


# ------------------------------------------------------------------------ break-glass

BREAK_GLASS_CSV_HEADER = (
    "grant_id",
    "started_at",
    "expires_at",
    "username",
    "user_name",
    "organisation_code",
    "person_id",
    "reason",
    "status",
    "reviewed_at",
    "reviewed_by",
    "review_outcome",
    "review_note",
)

_OUTCOME_LABELS = {"appropriate": "Appropriate", "inappropriate": "Inappropriate"}


def _user_text(user: User) -> str:
    return f"{user.display_name} ({user.username}, {user.organisation_code})"


def _review_text(grant: BreakGlassGrant, reviewer: User | None) -> str:
    if grant.review_outcome is None:
        return "Awaiting review"
    who = reviewer.username if reviewer is not None else "unknown"
    return f"{_OUTCOME_LABELS.get(grant.review_outcome, grant.review_outcome)} ({who})"


def break_glass_table_rows(
    grants: Iterable[tuple[BreakGlassGrant, User, User | None]], now: datetime
) -> list[list[dict[str, str]]]:
    """Rows for the review table; each grant links to its review page."""
    rows = []
    for grant, user, reviewer in grants:
        status = grant_status(grant, now)
        rows.append(
            [
                {
                    "html": f'<a href="/admin/break-glass/{grant.id}">{grant.id}</a>',
                    "header": "Grant",
                },
                {"text": format_time(grant.started_at), "header": "Started"},
                {"text": _user_text(user), "header": "Who"},
                {"text": grant.person_id, "header": "Person"},
                {"text": grant.reason, "header": "Reason"},
                {
                    "text": ("Active until " if status is GrantStatus.active else "Expired ")
                    + format_time(grant.expires_at),
                    "header": "Access",
                },
                {"text": _review_text(grant, reviewer), "header": "Review"},
            ]
        )
    return rows


def break_glass_csv_row(
    grant: BreakGlassGrant, user: User, reviewer: User | None, now: datetime
) -> list[Any]:
    return [
        grant.id,
        iso_time(grant.started_at),
        iso_time(grant.expires_at),
        user.username,
        user.display_name,
        user.organisation_code,
        grant.person_id,
        grant.reason,
        grant_status(grant, now).value,
        iso_time(grant.reviewed_at),
        reviewer.username if reviewer is not None else "",
        grant.review_outcome or "",
        grant.review_note or "",
    ]


def break_glass_summary(
    grant: BreakGlassGrant, user: User, reviewer: User | None, now: datetime
) -> list[dict[str, dict[str, str]]]:
    """Summary-list rows for one grant."""
    status = grant_status(grant, now)
    rows = [
        ("Who", _user_text(user)),
        ("Role", role_label(user.role)),
        ("Person", grant.person_id),
        ("Reason given", grant.reason),
        ("Started", format_time(grant.started_at)),
        (
            "Access",
            ("Active until " if status is GrantStatus.active else "Expired ")
            + format_time(grant.expires_at),
        ),
        ("Review", _review_text(grant, reviewer)),
    ]
    if grant.reviewed_at is not None:
        rows.append(("Reviewed", format_time(grant.reviewed_at)))
        rows.append(("Review note", grant.review_note or "None"))
    return [{"key": {"text": k}, "value": {"text": v}} for k, v in rows]


# ---------------------------------------------------------------------------- opt-outs

OPT_OUT_CSV_HEADER = (
    "nhs_number",
    "recorded_at",
    "recorded_by",
    "source",
    "withdrawn_at",
    "withdrawn_by",
)


def format_nhs_number(digits: str) -> str:
    """'943 476 5919', the way NHS numbers are shown to people."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits


def opt_out_table_rows(rows: Iterable[OptOut]) -> list[list[dict[str, str]]]:
    return [
        [
            {"text": format_nhs_number(r.nhs_number), "header": "NHS number"},
            {"text": format_time(r.recorded_at), "header": "Recorded"},
            {"text": r.recorded_by, "header": "By"},
            {"text": r.source, "header": "Source"},
            {
                "text": "Current"
                if r.withdrawn_at is None
                else f"Withdrawn {format_time(r.withdrawn_at)} ({r.withdrawn_by or 'unknown'})",
                "header": "Status",
            },
        ]
        for r in rows
    ]


def opt_out_csv_row(row: OptOut) -> list[Any]:
    return [
        row.nhs_number,
        iso_time(row.recorded_at),
        row.recorded_by,
        row.source,
        iso_time(row.withdrawn_at),
        row.withdrawn_by or "",
    ]
