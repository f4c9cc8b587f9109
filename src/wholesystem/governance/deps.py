"""What the governance pages' routes take: the session's user by permission, filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, require
from wholesystem.web.rendering import Crumb

__all__ = ["GOVERNANCE", "Q32", "Lead", "Viewer"]

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_dashboard))]
"""Anyone who may see the system's dashboards and governance pages."""
Lead = Annotated[CurrentUser, Depends(require(Permission.manage_governance))]
"""A governance lead: records decisions, meetings, the plan and risks."""
Q32 = Annotated[str | None, Query(max_length=32)]
"""A short filter value in a page's query string."""
GOVERNANCE = Crumb("Governance", "/governance")
