"""Governance meetings: meetings of a body, agendas with public and private parts, papers,
the standing declarations item, the 28-day forward plan of key decisions, attendance with
live quorum and conflict exclusions per item, minutes from draft to approved to locked
(with errata), and actions chased until done."""

from __future__ import annotations

__all__ = [
    "actions",
    "attendance",
    "forward_plan",
    "minutes",
    "models",
    "services",
]
