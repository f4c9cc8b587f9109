"""Governance concerns, escalation and disputes; challenge (questions with tracked answers) and
the open-data export of the published governance registers."""

from __future__ import annotations

__all__: list[str] = []
