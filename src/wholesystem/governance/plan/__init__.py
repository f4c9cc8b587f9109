"""The system plan (versioned vision, priorities, objectives with metric trajectories) and the
shared risk register (NHS 5x5 matrix, score history and trend, controls, actions)."""

from __future__ import annotations

__all__: list[str] = []
