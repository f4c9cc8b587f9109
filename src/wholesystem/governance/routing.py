"""Route a decision to the body with the delegated authority. Pure: no database, no web.

The rules (issue 7, part 4), applied to a :class:`DecisionFacts` under a
:class:`~wholesystem.governance.scheme.Scheme`:

1. a reserved matter goes to the system board;
2. a decision affecting no particular place (the whole system) or several places goes to
   the system board;
3. a decision affecting one place goes to that place's board when its value is strictly
   below the place's delegated limit, else to the system board;
4. independently, a kind that changes patient care needs clinical reference group (CRG)
   agreement first, and a decision at a level the scheme names, at or above the
   ratification threshold or reserved, needs statutory ratification by the accountable body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from wholesystem.governance.scheme import DecisionKind, Scheme

__all__ = [
    "DecisionFacts",
    "Level",
    "Route",
    "RoutingError",
    "authority_problem",
    "route_decision",
]


class RoutingError(ValueError):
    """The facts of a decision cannot be routed; the message says why."""


class Level(StrEnum):
    place = "place"
    system = "system"


@dataclass(frozen=True)
class DecisionFacts:
    """What routing needs to know about a decision."""

    kind: DecisionKind
    value: Decimal
    places: tuple[str, ...]  # place codes affected; empty means the whole system
    reserved_matters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """Where a decision goes and why."""

    level: Level
    place_code: str | None
    needs_crg: bool
    needs_ratification: bool
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        return " ".join(self.reasons)


def _pounds(amount: Decimal) -> str:
    return f"£{amount:,.2f}".replace(".00", "")


def route_decision(facts: DecisionFacts, scheme: Scheme, known_places: Sequence[str]) -> Route:
    """Route ``facts`` under ``scheme``; ``known_places`` are the footprint's place codes."""
    if not facts.value.is_finite() or facts.value < 0:
        raise RoutingError("the value of a decision must be zero or more")
    unknown = sorted(set(facts.places) - set(known_places))
    if unknown:
        raise RoutingError(f"no such place in the footprint: {', '.join(unknown)}")
    places = tuple(sorted(set(facts.places)))
    not_in_scheme = sorted(set(facts.reserved_matters) - scheme.reserved_matters)
    if not_in_scheme:
        raise RoutingError(
            f"not a reserved matter in the scheme of delegation: {', '.join(not_in_scheme)}"
        )
    reasons: list[str] = []
    level = Level.system
    place_code: str | None = None
    if facts.reserved_matters:
        matters = ", ".join(m.replace("_", " ") for m in sorted(facts.reserved_matters))
        reasons.append(f"Reserved to the system board by the scheme of delegation ({matters}).")
    elif not places:
        reasons.append("Affects the whole system rather than a named place, so the system board.")
    elif len(places) > 1:
        reasons.append(f"Affects {len(places)} places ({', '.join(places)}), so the system board.")
    else:
        limit = scheme.place_limit(places[0])
        if facts.value < limit:
            level, place_code = Level.place, places[0]
            reasons.append(
                f"Affects one place ({places[0]}) and its value {_pounds(facts.value)} is below "
                f"the place's delegated limit of {_pounds(limit)}, so that place's board."
            )
        else:
            reasons.append(
                f"Affects one place ({places[0]}) but its value {_pounds(facts.value)} is at or "
                f"above the place's delegated limit of {_pounds(limit)}, so the system board."
            )
    needs_crg = facts.kind in scheme.patient_care_kinds
    if needs_crg:
        reasons.append(
            "It changes patient care, so the clinical reference group must agree it first."
        )
    needs_ratification = level.value in scheme.ratification_levels and (
        facts.value >= scheme.ratification_threshold or bool(facts.reserved_matters)
    )
    if needs_ratification:
        reasons.append("The accountable body must ratify it (statutory ratification).")
    return Route(level, place_code, needs_crg, needs_ratification, tuple(reasons))


def authority_problem(
    route: Route, *, body_level: Level, body_place_code: str | None
) -> str | None:
    """Why a body at ``body_level`` (for ``body_place_code``) may not make this decision.

    None when it has the delegated authority: the system board for system decisions, the
    place's own board for a place decision.
    """
    if route.level is Level.system and body_level is not Level.system:
        return "This decision is for the system board; a place board has no delegated authority."
    if route.level is Level.place:
        if body_level is Level.system:
            return (
                f"This decision is delegated to the board of place {route.place_code}; "
                "the system board does not take delegated place decisions."
            )
        if body_place_code != route.place_code:
            return (
                f"This decision is for the board of place {route.place_code}, "
                f"not of {body_place_code}."
            )
    return None
