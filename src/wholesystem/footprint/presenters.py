"""Shape footprint data for pages, CSV files and the JSON API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wholesystem.footprint.models import Level
from wholesystem.footprint.queries import AreaNode, OrgRow

__all__ = [
    "AREA_CSV_COLUMNS",
    "ORG_CSV_COLUMNS",
    "TreeRow",
    "org_csv_rows",
    "tree_csv_rows",
    "tree_rows",
]

_LEVEL_LABEL = {
    Level.system: "System",
    Level.place: "Place",
    Level.neighbourhood: "Neighbourhood (PCN)",
    Level.practice: "GP practice",
}
_DEPTH = {Level.system: 0, Level.place: 1, Level.neighbourhood: 2, Level.practice: 3}

AREA_CSV_COLUMNS = ("code", "name", "level", "parent_code", "population", "share_of_system_pct")
ORG_CSV_COLUMNS = ("code", "name", "type", "serves")


@dataclass(frozen=True)
class TreeRow:
    code: str
    name: str
    level_label: str
    depth: int
    population: str
    share: str
    href: str


def _share(node: AreaNode, total: int) -> str:
    return f"{100 * node.population / total:.1f}%" if total else "n/a"


def tree_rows(nodes: Iterable[AreaNode], system_population: int) -> list[TreeRow]:
    """One table row per area, depth-first, with formatted populations."""
    return [
        TreeRow(
            code=n.code,
            name=n.name,
            level_label=_LEVEL_LABEL[n.level],
            depth=_DEPTH[n.level],
            population=f"{n.population:,}",
            share=_share(n, system_population),
            href=f"/footprint/areas/{n.code}",
        )
        for n in nodes
    ]


def tree_csv_rows(nodes: Iterable[AreaNode], system_population: int) -> list[list[str]]:
    return [
        [
            n.code,
            n.name,
            n.level.value,
            n.parent_code or "",
            str(n.population),
            f"{100 * n.population / system_population:.2f}" if system_population else "",
        ]
        for n in nodes
    ]


def org_csv_rows(orgs: Iterable[OrgRow]) -> list[list[str]]:
    return [[o.code, o.name, o.type.value, " ".join(o.serves)] for o in orgs]
