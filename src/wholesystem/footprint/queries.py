"""Read the footprint: the tree with populations, one area, the partner organisations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.footprint.schema import OrgType

__all__ = [
    "AreaNode",
    "OrgRow",
    "footprint_tree",
    "list_organisations",
    "organisation_codes_by_type",
    "organisation_names",
]


@dataclass
class AreaNode:
    code: str
    name: str
    level: Level
    population: int
    organisation_code: str | None
    parent_code: str | None
    children: list[AreaNode] = field(default_factory=list)

    def walk(self) -> list[AreaNode]:
        """This node and every descendant, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def find(self, code: str) -> AreaNode | None:
        for node in self.walk():
            if node.code == code:
                return node
        return None

    def path_to(self, code: str) -> list[AreaNode]:
        """The chain of nodes from this one down to ``code`` (empty if absent)."""
        if self.code == code:
            return [self]
        for child in self.children:
            sub = child.path_to(code)
            if sub:
                return [self, *sub]
        return []


@dataclass(frozen=True)
class OrgRow:
    code: str
    name: str
    type: OrgType
    serves: tuple[str, ...]


def footprint_tree(session: Session) -> AreaNode | None:
    """The whole active tree, or None before a footprint has been loaded."""
    areas = session.scalars(
        select(Area).where(Area.active.is_(True)).order_by(Area.position, Area.code)
    ).all()
    nodes = {
        a.code: AreaNode(
            a.code, a.name, Level(a.level), a.population, a.organisation_code, a.parent_code
        )
        for a in areas
    }
    children: dict[str | None, list[AreaNode]] = defaultdict(list)
    for area in areas:
        children[area.parent_code].append(nodes[area.code])
    for node in nodes.values():
        node.children = children.get(node.code, [])
    roots = [n for n in children.get(None, []) if n.level is Level.system]
    return roots[0] if roots else None


def list_organisations(session: Session, type_: OrgType | None = None) -> list[OrgRow]:
    """Active partner organisations, by type then name."""
    query = select(Organisation).where(Organisation.active.is_(True))
    if type_ is not None:
        query = query.where(Organisation.type == type_.value)
    rows = [
        OrgRow(o.code, o.name, OrgType(o.type), tuple(o.serves or ()))
        for o in session.scalars(query)
    ]
    order = list(OrgType)
    return sorted(rows, key=lambda r: (order.index(r.type), r.name))


def organisation_codes_by_type(session: Session) -> dict[str, list[str]]:
    """{'acute_trust': ['RX1', ...], ...} for the active organisations."""
    out: dict[str, list[str]] = defaultdict(list)
    for row in list_organisations(session):
        out[row.type.value].append(row.code)
    return dict(out)


def organisation_names(session: Session) -> dict[str, str]:
    """Every partner organisation's name, by its code."""
    rows = session.execute(select(Organisation.code, Organisation.name))
    return {code: name for code, name in rows}
