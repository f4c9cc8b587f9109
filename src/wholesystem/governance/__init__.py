"""Governance: bodies and members, the decision register routed by the scheme of delegation,
clinical reference group agreement and ratification, interests and conflicts, and the
published registers."""

from __future__ import annotations

__all__: list[str] = []
