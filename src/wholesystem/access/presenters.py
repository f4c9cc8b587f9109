"""Plain data for the access pages and their CSV downloads (templates only loop over this)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wholesystem.access.audit import AuditVerification, canonical_json
from wholesystem.access.models import AuditEvent, User
from wholesystem.access.permissions import Role

__all__ = [
    "AUDIT_CSV_HEADER",
    "USER_CSV_HEADER",
    "AuditPage",
    "audit_csv_row",
    "audit_table_rows",
    "format_time",
    "role_label",
    "user_csv_row",
    "user_table_rows",
    "verification_view",
]


def format_time(moment: datetime | None, *, never: str = "Never") -> str:
    """'23 Nov 2026, 19:40 UTC' for tables."""
    if moment is None:
        return never
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


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
