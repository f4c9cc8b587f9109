"""The header navigation: one entry per capability, shown to those allowed to use it."""

from __future__ import annotations

from dataclasses import dataclass

from wholesystem.access.permissions import Permission, Role, has_permission

__all__ = ["NAVIGATION", "NavItem", "navigation_for"]


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/dashboard", Permission.view_dashboard),
    NavItem("Find a record", "/records", Permission.view_identifiable_records),
    NavItem("Population health", "/population", Permission.view_dashboard),
    NavItem("Footprint", "/footprint", Permission.view_footprint),
    NavItem("Governance", "/governance", Permission.view_dashboard),
    NavItem("Finance", "/finance", Permission.view_all_finance),
    NavItem("Data quality", "/data-quality", Permission.view_data_quality),
    NavItem("Linkage", "/linkage", Permission.view_data_quality),
    NavItem("Users", "/admin/users", Permission.manage_users),
    NavItem("Audit log", "/admin/audit", Permission.view_audit),
    NavItem("Break-glass review", "/admin/break-glass", Permission.review_break_glass),
    NavItem("Opt-outs", "/admin/opt-outs", Permission.manage_opt_outs),
)


def navigation_for(role: Role | None, current_path: str) -> list[dict[str, object]]:
    """Header items (as the NHS.UK header macro wants them) for a signed-in role."""
    if role is None:
        return []
    items: list[dict[str, object]] = []
    for item in NAVIGATION:
        if has_permission(role, item.permission):
            current = current_path == item.href or current_path.startswith(item.href + "/")
            items.append({"href": item.href, "text": item.label, "current": current})
    return items
