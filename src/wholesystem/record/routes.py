"""Data-quality pages: ingest runs per partner and dataset, quarantined rows and replay."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission, has_permission
from wholesystem.access.web import CurrentUser, require
from wholesystem.footprint.queries import organisation_names
from wholesystem.record.ingest import INGEST_STEP, ReplayError, replay
from wholesystem.record.models import IngestRun, QuarantineRow, QuarantineStatus, RunStatus
from wholesystem.record.presenters import (
    QUARANTINE_CSV_COLUMNS,
    RUN_CSV_COLUMNS,
    SUMMARY_CSV_COLUMNS,
    list_runs,
    partner_label,
    partner_labels,
    quarantine_csv_rows,
    quarantine_rows,
    raw_text,
    run_csv_rows,
    shown_message,
    shown_raw,
    summary_csv_rows,
    summary_rows,
)
from wholesystem.record.schemas import DATASETS
from wholesystem.store.lake import Lake
from wholesystem.store.runs import last_success
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["router"]

router = APIRouter(
    dependencies=[Depends(require(Permission.view_data_quality))], include_in_schema=False
)

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_data_quality))]
Manager = Annotated[CurrentUser, Depends(require(Permission.manage_data_quality))]
_STATUSES = tuple(s.value for s in RunStatus if s is not RunStatus.running)
_ROW_STATUSES = tuple(s.value for s in QuarantineStatus)


def _choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise HTTPException(400, f"'{value}' is not a {what}. Choose one of: {', '.join(allowed)}.")
    return value


def _query(**filters: str | None) -> str:
    kept = {k: v for k, v in filters.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def _run_or_404(db: Session, run_id: int) -> IngestRun:
    run = db.get(IngestRun, run_id)
    if run is None:
        raise HTTPException(404, f"There is no ingest run {run_id}.")
    return run


def _may_see_rows(user: CurrentUser) -> bool:
    return has_permission(user.role, Permission.manage_data_quality)


@router.get("/data-quality", response_class=HTMLResponse)
def data_quality_page(
    request: Request,
    db: Db,
    org: Annotated[str | None, Query(max_length=16)] = None,
    dataset: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Per partner and dataset: files and rows loaded and quarantined, rejected files, runs."""
    ds = _choice(dataset, tuple(DATASETS), "dataset")
    st = _choice(status, _STATUSES, "run status")
    orgs = sorted(set(db.scalars(select(IngestRun.org_code).distinct())))
    partners = partner_labels(orgs, organisation_names(db))
    return render(
        request,
        "record/data_quality.html",
        PageMeta(title="Data quality", breadcrumbs=(HOME, Crumb("Data quality", ""))),
        data_as_at=last_success(db, INGEST_STEP),
        summary=summary_rows(db, org, ds),
        runs=list_runs(db, org, ds, st, limit=200),
        rejected=list_runs(db, org, ds, RunStatus.rejected, limit=200),
        filters={"org": org or "", "dataset": ds or "", "status": st or ""},
        partners=partners,
        org_items=[{"value": "", "text": "All partners"}]
        + [{"value": o, "text": partners[o], "selected": o == org} for o in orgs],
        dataset_items=[{"value": "", "text": "All datasets"}]
        + [{"value": d, "text": d, "selected": d == ds} for d in DATASETS],
        status_items=[{"value": "", "text": "Any status"}]
        + [{"value": s, "text": s, "selected": s == st} for s in _STATUSES],
        query=_query(org=org, dataset=ds, status=st),
        summary_query=_query(org=org, dataset=ds),
    )


@router.get("/data-quality.csv")
def data_quality_csv(
    db: Db,
    org: Annotated[str | None, Query(max_length=16)] = None,
    dataset: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The per-partner, per-dataset summary table."""
    ds = _choice(dataset, tuple(DATASETS), "dataset")
    return csv_response(
        "data-quality.csv", SUMMARY_CSV_COLUMNS, summary_csv_rows(summary_rows(db, org, ds))
    )


@router.get("/data-quality/runs.csv")
def runs_csv(
    db: Db,
    org: Annotated[str | None, Query(max_length=16)] = None,
    dataset: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Every ingest run (with rejected files' reasons), with the page's filters."""
    ds = _choice(dataset, tuple(DATASETS), "dataset")
    st = _choice(status, _STATUSES, "run status")
    runs = list_runs(db, org, ds, st, limit=100_000)
    return csv_response("ingest-runs.csv", RUN_CSV_COLUMNS, run_csv_rows(runs))


@router.get("/data-quality/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: int,
    db: Db,
    user: Viewer,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    replayed: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """One run: the file, its counts, and its quarantined rows (line, column, rule, row)."""
    run = _run_or_404(db, run_id)
    st = _choice(status, _ROW_STATUSES, "row status")
    rows = quarantine_rows(db, run_id, rule, st)
    identifiable = _may_see_rows(user)
    if identifiable and rows:
        audit.append(
            db,
            actor=user.username,
            action="quarantine.view",
            object_type="ingest_run",
            object_id=str(run_id),
            detail={"rows": len(rows), "rule": rule, "status": st},
        )
        db.commit()
    rules = sorted({r.rule for r in quarantine_rows(db, run_id)})
    return render(
        request,
        "record/run.html",
        PageMeta(
            title=f"Ingest run {run_id}",
            breadcrumbs=(
                HOME,
                Crumb("Data quality", "/data-quality"),
                Crumb(f"Run {run_id}", ""),
            ),
        ),
        data_as_at=run.finished_at or run.started_at,
        run=run,
        partner=partner_label(run.org_code, organisation_names(db)),
        rows=[
            {
                "row": q,
                "raw": raw_text(q.raw, identifiable),
                "message": shown_message(q, identifiable),
                "fields": shown_raw(q.raw, identifiable) if identifiable else {},
            }
            for q in rows
        ],
        identifiable=identifiable,
        can_replay=identifiable and run.status == RunStatus.loaded,
        rule_items=[{"value": "", "text": "Any rule"}]
        + [{"value": r, "text": r, "selected": r == rule} for r in rules],
        status_items=[{"value": "", "text": "Any status"}]
        + [{"value": s, "text": s, "selected": s == st} for s in _ROW_STATUSES],
        filters={"rule": rule or "", "status": st or ""},
        query=_query(rule=rule, status=st),
        replayed=replayed,
    )


@router.get("/data-quality/runs/{run_id}/quarantine.csv")
def quarantine_csv(
    run_id: int,
    db: Db,
    user: Viewer,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The run's quarantined rows; identity values only for those who manage data quality."""
    _run_or_404(db, run_id)
    st = _choice(status, _ROW_STATUSES, "row status")
    rows = quarantine_rows(db, run_id, rule, st)
    identifiable = _may_see_rows(user)
    audit.append(
        db,
        actor=user.username,
        action="quarantine.export",
        object_type="ingest_run",
        object_id=str(run_id),
        detail={"rows": len(rows), "identifiable": identifiable},
    )
    db.commit()
    return csv_response(
        f"ingest-run-{run_id}-quarantine.csv",
        QUARANTINE_CSV_COLUMNS,
        quarantine_csv_rows(rows, identifiable),
    )


@router.post("/data-quality/runs/{run_id}/replay")
async def replay_action(request: Request, run_id: int, db: Db, user: Manager) -> Response:
    """Re-validate the run's open rows, or one row with the corrected values from the form."""
    run = _run_or_404(db, run_id)
    form = await request.form()
    row_field = str(form.get("row_id") or "")
    fixes: dict[int, dict[str, str | None]] = {}
    row_ids: list[int] | None = None
    if row_field:
        if not row_field.isdigit():
            raise HTTPException(400, "The row to re-play is not a number.")
        row = db.get(QuarantineRow, int(row_field))
        if row is None or row.run_id != run_id:
            raise HTTPException(404, f"Run {run_id} has no quarantined row {row_field}.")
        row_ids = [row.id]
        fix = {
            key.removeprefix("fix__"): (str(value) if str(value) != "" else None)
            for key, value in form.multi_items()
            if key.startswith("fix__")
        }
        if fix:
            fixes[row.id] = fix
    db.close()
    settings = request.app.state.settings
    try:
        result = replay(
            request.app.state.session_factory,
            Lake(settings.resolved_lake_dir),
            run.id,
            actor=user.username,
            fixes=fixes,
            row_ids=row_ids,
        )
    except ReplayError as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(
        f"/data-quality/runs/{run_id}?replayed={result.passed}-{result.still_failing}",
        status_code=303,
    )
