"""The home page: the footprint at a glance and the state of the data."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from wholesystem.access.permissions import Permission
from wholesystem.access.web import require
from wholesystem.footprint.queries import footprint_tree
from wholesystem.store.lake import Lake
from wholesystem.store.runs import latest_runs
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import Db, PageMeta, format_as_at, render

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(require(Permission.view_data_state))])

_STATUS_TAG = {"succeeded": "green", "failed": "red", "running": "blue"}
_RUN_COLUMNS = ("step", "status", "started_at", "finished_at", "summary")


@dataclass(frozen=True)
class RunRow:
    step: str
    status: str
    tag_colour: str
    started: str
    finished: str
    summary: str


@dataclass(frozen=True)
class LakeRow:
    table: str
    rows: str


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _run_rows(db: Session) -> list[RunRow]:
    return [
        RunRow(
            step=r.step,
            status=r.status,
            tag_colour=_STATUS_TAG.get(r.status, "grey"),
            started=format_as_at(r.started_at) or "",
            finished=format_as_at(r.finished_at) or "not finished",
            summary=r.summary,
        )
        for r in latest_runs(db)
    ]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, db: Db) -> Response:
    """Where everyone starts: the system, its places, and how fresh the data is."""
    tree = footprint_tree(db)
    runs = latest_runs(db)
    lake = Lake(request.app.state.settings.resolved_lake_dir)
    lake_rows = [LakeRow(t, f"{lake.row_count(t):,}") for t in lake.tables()]
    finished = [r.finished_at for r in runs if r.finished_at is not None]
    return render(
        request,
        "home.html",
        PageMeta(title="Home"),
        data_as_at=max(finished) if finished else None,
        tree=tree,
        places=[
            {
                "name": p.name,
                "href": f"/footprint/areas/{p.code}",
                "description": f"{p.population:,} registered people in "
                + _plural(len(p.children), "neighbourhood"),
            }
            for p in (tree.children if tree else [])
        ],
        population=f"{tree.population:,}" if tree else None,
        runs=_run_rows(db),
        lake_rows=lake_rows,
    )


@router.get("/pipeline-runs.csv", include_in_schema=False)
def runs_csv(db: Db) -> Response:
    """The state-of-the-data table as CSV."""
    return csv_response(
        "pipeline-runs.csv",
        _RUN_COLUMNS,
        [(r.step, r.status, r.started, r.finished, r.summary) for r in _run_rows(db)],
    )
