"""Footprint pages, CSV downloads and JSON API."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from wholesystem.access.permissions import Permission
from wholesystem.access.web import require
from wholesystem.footprint.models import Level
from wholesystem.footprint.pipeline import FOOTPRINT_STEP
from wholesystem.footprint.presenters import (
    AREA_CSV_COLUMNS,
    ORG_CSV_COLUMNS,
    org_csv_rows,
    tree_csv_rows,
    tree_rows,
)
from wholesystem.footprint.queries import AreaNode, footprint_tree, list_organisations
from wholesystem.footprint.schema import OrgType
from wholesystem.store.runs import last_success
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["api_router", "router"]

_guard = [Depends(require(Permission.view_footprint))]
router = APIRouter(dependencies=_guard, include_in_schema=False)
api_router = APIRouter(dependencies=_guard, tags=["footprint"])


def _tree_or_404(db: Session) -> AreaNode:
    tree = footprint_tree(db)
    if tree is None:
        raise HTTPException(404, "No footprint has been loaded yet.")
    return tree


def _place_filter(tree: AreaNode, place: str | None) -> AreaNode | None:
    if not place:
        return None
    node = next((c for c in tree.children if c.code == place), None)
    if node is None:
        raise HTTPException(400, f"There is no place with code '{place}' in this footprint.")
    return node


def _org_type(value: str | None) -> OrgType | None:
    if not value:
        return None
    try:
        return OrgType(value)
    except ValueError:
        choices = ", ".join(t.value for t in OrgType)
        raise HTTPException(
            400, f"'{value}' is not an organisation type. Choose one of: {choices}."
        ) from None


@router.get("/footprint", response_class=HTMLResponse)
def footprint_page(
    request: Request,
    db: Db,
    place: Annotated[str | None, Query(max_length=16)] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The tree with populations and the partner organisations, filterable."""
    tree = footprint_tree(db)
    as_at = last_success(db, FOOTPRINT_STEP)
    if tree is None:
        return render(
            request, "footprint/empty.html", PageMeta(title="Footprint"), data_as_at=as_at
        )
    chosen = _place_filter(tree, place)
    org_type = _org_type(type)
    nodes = [tree, *chosen.walk()] if chosen else tree.walk()
    filters = {k: v for k, v in (("place", place), ("type", type)) if v}
    query = f"?{urlencode(filters)}" if filters else ""
    return render(
        request,
        "footprint/tree.html",
        PageMeta(title="Footprint", breadcrumbs=(HOME, Crumb("Footprint", ""))),
        data_as_at=as_at,
        tree=tree,
        rows=tree_rows(nodes, tree.population),
        places=[{"value": "", "text": "All places"}]
        + [{"value": c.code, "text": c.name, "selected": c.code == place} for c in tree.children],
        org_types=[{"value": "", "text": "All types"}]
        + [{"value": t.value, "text": t.label, "selected": t.value == type} for t in OrgType],
        chosen_place=chosen,
        chosen_type=org_type,
        organisations=list_organisations(db, org_type),
        csv_query=query,
        counts={
            "places": len(tree.children),
            "neighbourhoods": sum(1 for n in tree.walk() if n.level is Level.neighbourhood),
            "practices": sum(1 for n in tree.walk() if n.level is Level.practice),
            "population": f"{tree.population:,}",
        },
    )


@router.get("/footprint.csv")
def footprint_csv(db: Db, place: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    """The tree behind the footprint table, with the same filter."""
    tree = _tree_or_404(db)
    chosen = _place_filter(tree, place)
    nodes = [tree, *chosen.walk()] if chosen else tree.walk()
    return csv_response("footprint.csv", AREA_CSV_COLUMNS, tree_csv_rows(nodes, tree.population))


@router.get("/footprint/organisations.csv")
def organisations_csv(db: Db, type: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    """The partner organisations table, with the same filter."""
    orgs = list_organisations(db, _org_type(type))
    return csv_response("organisations.csv", ORG_CSV_COLUMNS, org_csv_rows(orgs))


@router.get("/footprint/areas/{code}.csv")
def area_csv(code: str, db: Db) -> Response:
    """The area and everything beneath it, as CSV."""
    tree = _tree_or_404(db)
    node = tree.find(code)
    if node is None:
        raise HTTPException(404, f"There is no area with code '{code}' in this footprint.")
    return csv_response(
        f"footprint-{code}.csv", AREA_CSV_COLUMNS, tree_csv_rows(node.walk(), tree.population)
    )


@router.get("/footprint/areas/{code}", response_class=HTMLResponse)
def area_page(request: Request, code: str, db: Db) -> Response:
    """One area: where it sits, its population and what it contains."""
    tree = _tree_or_404(db)
    path = tree.path_to(code)
    if not path:
        raise HTTPException(404, f"There is no area with code '{code}' in this footprint.")
    node = path[-1]
    crumbs = (
        HOME,
        Crumb("Footprint", "/footprint"),
        *(Crumb(n.name, f"/footprint/areas/{n.code}") for n in path[:-1]),
        Crumb(node.name, ""),
    )
    return render(
        request,
        "footprint/area.html",
        PageMeta(title=node.name, breadcrumbs=crumbs),
        data_as_at=last_success(db, FOOTPRINT_STEP),
        node=node,
        summary=tree_rows([node], tree.population)[0],
        parent=path[-2] if len(path) > 1 else None,
        rows=tree_rows(node.children, tree.population),
    )


# --- JSON API -------------------------------------------------------------------------


class AreaOut(BaseModel):
    code: str
    name: str
    level: Level
    population: int
    organisation_code: str | None
    children: list[AreaOut] = []


class OrganisationOut(BaseModel):
    code: str
    name: str
    type: OrgType
    serves: list[str]


def _area_out(node: AreaNode, depth: int | None = None) -> AreaOut:
    kids = (
        []
        if depth == 0
        else [_area_out(c, None if depth is None else depth - 1) for c in node.children]
    )
    return AreaOut(
        code=node.code,
        name=node.name,
        level=node.level,
        population=node.population,
        organisation_code=node.organisation_code,
        children=kids,
    )


@api_router.get("/footprint", response_model=AreaOut)
def api_footprint(db: Db) -> AreaOut:
    """The whole footprint tree with registered populations at every level."""
    return _area_out(_tree_or_404(db))


@api_router.get("/footprint/areas/{code}", response_model=AreaOut)
def api_area(code: str, db: Db) -> AreaOut:
    """One area and the areas beneath it."""
    node = _tree_or_404(db).find(code)
    if node is None:
        raise HTTPException(404, f"unknown area code '{code}'")
    return _area_out(node)


@api_router.get("/organisations", response_model=list[OrganisationOut])
def api_organisations(
    db: Db, type: Annotated[str | None, Query(max_length=32)] = None
) -> list[OrganisationOut]:
    """Partner organisations, optionally of one type."""
    return [
        OrganisationOut(code=o.code, name=o.name, type=o.type, serves=list(o.serves))
        for o in list_organisations(db, _org_type(type))
    ]


@api_router.get("/organisations/{code}", response_model=OrganisationOut)
def api_organisation(code: str, db: Db) -> OrganisationOut:
    """One partner organisation by code."""
    for o in list_organisations(db):
        if o.code == code:
            return OrganisationOut(code=o.code, name=o.name, type=o.type, serves=list(o.serves))
    raise HTTPException(404, f"unknown organisation code '{code}'")
