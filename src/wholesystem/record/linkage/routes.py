"""The linkage page: the person index's figures, its problem lists, and why a pair linked.

Those who manage data quality see record ids, person ids and identity values (NHS
numbers, names, dates of birth, sex, postcodes, local ids), and each such view is audited.
Everyone else who may view data quality sees the figures and the lists with keyed
pseudonyms in place of record and person ids and no identity values
(:mod:`wholesystem.record.linkage.masking`); their "why linked" links carry record
pseudonyms, turned back into records on the server. Every CSV export is audited.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission, has_permission
from wholesystem.access.pseudonyms import pseudonym_key
from wholesystem.access.web import CurrentUser, require
from wholesystem.footprint.queries import organisation_names
from wholesystem.record.linkage import presenters as p
from wholesystem.record.linkage import report
from wholesystem.record.linkage.masking import Mask, RecordPseudonyms
from wholesystem.record.linkage.pipeline import PERSON_INDEX_STEP
from wholesystem.record.presenters import partner_labels
from wholesystem.record.schemas import DATASETS
from wholesystem.store.lake import Lake
from wholesystem.store.models import PipelineRun
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter(
    dependencies=[Depends(require(Permission.view_data_quality))], include_in_schema=False
)

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_data_quality))]
SourceQ = Annotated[str | None, Query(max_length=16)]
DatasetQ = Annotated[str | None, Query(max_length=32)]
PageQ = Annotated[int, Query(ge=1, le=1_000_000)]
RecordQ = Annotated[str, Query(min_length=1, max_length=300)]

PAGE_SIZE = 25
_LINKAGE = Crumb("Linkage", "/linkage")
_NOT_BUILT = "The person index has not been built yet: run `wholesystem link-index`."


def _filters(source: str | None, dataset: str | None) -> report.Filters:
    if dataset and dataset not in DATASETS:
        raise HTTPException(
            400, f"'{dataset}' is not a dataset. Choose one of: {', '.join(DATASETS)}."
        )
    return report.Filters(source or None, dataset or None)


def _query(**values: str | None) -> str:
    kept = {k: v for k, v in values.items() if v}
    return f"?{urlencode(kept)}" if kept else ""


def _identifiable(user: CurrentUser) -> bool:
    return has_permission(user.role, Permission.manage_data_quality)


def _mask(request: Request, user: CurrentUser) -> Mask | None:
    """The pseudonymiser for a viewer who may not see identifiable data, else None."""
    if _identifiable(user):
        return None
    return Mask(pseudonym_key(request.app.state.settings))


def _last_run(db: Session) -> PipelineRun | None:
    return db.scalars(
        select(PipelineRun)
        .where(PipelineRun.step == PERSON_INDEX_STEP, PipelineRun.status == "succeeded")
        .order_by(PipelineRun.finished_at.desc(), PipelineRun.id.desc())
        .limit(1)
    ).first()


T = TypeVar("T")
_MAX_SNAPSHOTS = 4
_MAX_RESULTS = 256


class _Snapshot:
    """One DuckDB connection over one state of a lake's linkage tables.

    The figures only change when the lake does, so the working tables (the shared NHS
    numbers) are built once per state and every figure is remembered: at 200,000 people
    the first view costs seconds, the next ones milliseconds. A rebuilt index (new file
    times or sizes) gets a fresh snapshot.
    """

    def __init__(self, lake: Lake, state: tuple[tuple[object, ...], ...]) -> None:
        self.state = state
        self.lock = threading.Lock()
        self.closed = False
        self.results: dict[tuple[Any, ...], Any] = {}
        self._stack = ExitStack()
        self.con = self._stack.enter_context(lake.connect())
        report.load_working_tables(self.con, lake)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self._stack.close()


class _Figures:
    """What one request computes with: a cursor on the snapshot, and the snapshot's memo."""

    def __init__(self, snapshot: _Snapshot, con: duckdb.DuckDBPyConnection) -> None:
        self._snapshot = snapshot
        self.con = con

    def get(self, key: tuple[Any, ...], compute: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        results = self._snapshot.results
        if key not in results:
            if len(results) >= _MAX_RESULTS:
                results.clear()
            results[key] = compute(self.con)
        value: T = results[key]
        return value


_SNAPSHOTS: OrderedDict[Path, _Snapshot] = OrderedDict()
_GUARD = threading.Lock()


def _current_snapshot(lake: Lake) -> _Snapshot:
    state = report.lake_state(lake)
    with _GUARD:
        snapshot = _SNAPSHOTS.get(lake.root)
        if snapshot is None or snapshot.state != state or snapshot.closed:
            if snapshot is not None:
                snapshot.close()
            snapshot = _Snapshot(lake, state)
            _SNAPSHOTS[lake.root] = snapshot
        _SNAPSHOTS.move_to_end(lake.root)
        while len(_SNAPSHOTS) > _MAX_SNAPSHOTS:
            _SNAPSHOTS.popitem(last=False)[1].close()
        return snapshot


@contextmanager
def _lake(request: Request) -> Iterator[_Figures | None]:
    """The lake's figures, or None when there is no person index yet.

    Requests on one snapshot take turns (DuckDB runs each query on every core anyway).
    """
    lake = Lake(request.app.state.settings.resolved_lake_dir)
    if not report.index_present(lake):
        yield None
        return
    while True:
        snapshot = _current_snapshot(lake)
        with snapshot.lock:
            if snapshot.closed:  # replaced between the two locks: take the new one
                continue
            cursor = snapshot.con.cursor()
            try:
                yield _Figures(snapshot, cursor)
            finally:
                cursor.close()
            return


def _lake_or_404(figures: _Figures | None) -> _Figures:
    if figures is None:
        raise HTTPException(404, _NOT_BUILT)
    return figures


def _audit(
    db: Session, user: CurrentUser, action: str, object_type: str, object_id: str, **detail: Any
) -> None:
    audit.append(
        db,
        actor=user.username,
        action=action,
        object_type=object_type,
        object_id=object_id[:200],
        detail=detail,
    )
    db.commit()


def _export(
    db: Session,
    user: CurrentUser,
    filename: str,
    header: tuple[str, ...],
    rows: list[list[object]],
    *,
    identifiable: bool,
    filters: report.Filters = report.Filters(),
) -> Response:
    _audit(
        db,
        user,
        "linkage.export",
        "linkage_csv",
        filename,
        rows=len(rows),
        identifiable=identifiable,
        source=filters.source,
        dataset=filters.dataset,
    )
    return csv_response(filename, header, rows)


def _items(
    values: list[str], chosen: str | None, everything: str, shown: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """A select's items: ``everything`` first, then each value (shown as ``shown`` has it)."""
    return [{"value": "", "text": everything}] + [
        {"value": v, "text": (shown or {}).get(v, v), "selected": v == chosen} for v in values
    ]


def _filter_context(
    fig: _Figures | None, f: report.Filters, names: Mapping[str, str]
) -> dict[str, Any]:
    sources, datasets = (
        fig.get(("sources",), report.sources_and_datasets) if fig is not None else ([], [])
    )
    return {
        "filters": {"source": f.source or "", "dataset": f.dataset or ""},
        "source_items": _items(sources, f.source, "All sources", partner_labels(sources, names)),
        "dataset_items": _items(datasets, f.dataset, "All datasets"),
        "query": _query(source=f.source, dataset=f.dataset),
    }


def _summary_items(fig: _Figures, run: PipelineRun | None) -> list[tuple[str, str]]:
    changes = (
        fig.get(("changes", run.started_at), lambda c: report.changes_since(c, run.started_at))
        if run
        else None
    )
    return p.summary_items(
        fig.get(("summary",), report.summary), changes, run.finished_at if run else None
    )


def _rates(fig: _Figures, f: report.Filters) -> list[report.MatchRate]:
    return report.roll_up(fig.get(("rate_cells",), report.match_rate_cells), f)


def _shared_totals(fig: _Figures, f: report.Filters) -> report.SharedNhsTotals:
    return fig.get(("shared_totals", f), lambda c: report.shared_nhs_totals(c, f))


def _duplicates_by_source(fig: _Figures, f: report.Filters) -> list[report.DuplicatesBySource]:
    return fig.get(("duplicates_by_source", f), lambda c: report.duplicates_by_source(c, f))


def _shared(fig: _Figures, f: report.Filters, page: int | None) -> list[report.SharedNhsNumber]:
    """One page of shared NHS numbers, or all of them (``page`` None)."""
    limit, offset = (None, 0) if page is None else (PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return fig.get(
        ("shared", f, page),
        lambda c: report.shared_nhs_numbers(c, f, limit=limit, offset=offset),
    )


def _duplicates(
    fig: _Figures, f: report.Filters, page: int | None
) -> tuple[list[report.Duplicate], int]:
    """One page of within-source duplicates and their count, or all (``page`` None)."""
    limit, offset = (None, 0) if page is None else (PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return fig.get(
        ("duplicates", f, page), lambda c: report.duplicates(c, f, limit=limit, offset=offset)
    )


@router.get("/linkage", response_class=HTMLResponse)
def linkage_page(
    request: Request, db: Db, source: SourceQ = None, dataset: DatasetQ = None
) -> Response:
    """The person index: summary, how persons were linked, match rates, problem counts."""
    f = _filters(source, dataset)
    run = _last_run(db)
    names = organisation_names(db)
    with _lake(request) as fig:
        context: dict[str, Any] = {"ready": fig is not None, **_filter_context(fig, f, names)}
        if fig is not None:
            s = fig.get(("summary",), report.summary)
            context.update(
                summary=_summary_items(fig, run),
                methods=p.method_rows(s),
                sizes=p.size_rows(s),
                rates=p.match_rate_rows(_rates(fig, f), names),
                shared=_shared_totals(fig, f),
                duplicates=p.duplicates_by_source_rows(_duplicates_by_source(fig, f), names),
            )
    return render(
        request,
        "linkage/linkage.html",
        PageMeta(title="Linkage", breadcrumbs=(HOME, Crumb("Linkage", ""))),
        data_as_at=run.finished_at if run else None,
        **context,
    )


@router.get("/linkage/summary.csv")
def summary_csv(request: Request, db: Db, user: Viewer) -> Response:
    """The summary figures."""
    run = _last_run(db)
    with _lake(request) as fig:
        items = _summary_items(_lake_or_404(fig), run)
    return _export(
        db,
        user,
        "linkage-summary.csv",
        p.SUMMARY_CSV_COLUMNS,
        p.summary_csv_rows(items),
        identifiable=False,
    )


@router.get("/linkage/methods.csv")
def methods_csv(request: Request, db: Db, user: Viewer) -> Response:
    """Persons and records by how they were linked."""
    with _lake(request) as fig:
        rows = p.method_csv_rows(_lake_or_404(fig).get(("summary",), report.summary))
    return _export(db, user, "linkage-methods.csv", p.METHOD_CSV_COLUMNS, rows, identifiable=False)


@router.get("/linkage/sizes.csv")
def sizes_csv(request: Request, db: Db, user: Viewer) -> Response:
    """The records-per-person distribution."""
    with _lake(request) as fig:
        rows = p.size_csv_rows(_lake_or_404(fig).get(("summary",), report.summary))
    return _export(
        db, user, "linkage-records-per-person.csv", p.SIZE_CSV_COLUMNS, rows, identifiable=False
    )


@router.get("/linkage/match-rates.csv")
def match_rates_csv(
    request: Request, db: Db, user: Viewer, source: SourceQ = None, dataset: DatasetQ = None
) -> Response:
    """Match rates and records without an NHS number, by source and dataset."""
    f = _filters(source, dataset)
    with _lake(request) as fig:
        rows = p.match_rate_csv_rows(_rates(_lake_or_404(fig), f))
    return _export(
        db,
        user,
        "linkage-match-rates.csv",
        p.MATCH_RATE_CSV_COLUMNS,
        rows,
        identifiable=False,
        filters=f,
    )


@router.get("/linkage/duplicates-by-source.csv")
def duplicates_by_source_csv(
    request: Request, db: Db, user: Viewer, source: SourceQ = None, dataset: DatasetQ = None
) -> Response:
    """Within-source duplicates counted per source."""
    f = _filters(source, dataset)
    with _lake(request) as fig:
        rows = p.duplicates_by_source_csv_rows(_duplicates_by_source(_lake_or_404(fig), f))
    return _export(
        db,
        user,
        "linkage-duplicates-by-source.csv",
        p.DUPLICATES_BY_SOURCE_CSV_COLUMNS,
        rows,
        identifiable=False,
        filters=f,
    )


@dataclass(frozen=True)
class _ProblemList(Generic[T]):
    """One of the linkage page's problem lists: how it is fetched, masked and shown."""

    name: str  # the audited list, and the stem of its CSV file
    path: str
    template: str
    title: str
    fetch: Callable[[_Figures, report.Filters, int | None], tuple[list[T], int]]
    masked: Callable[[Mask, T], T]
    rows: Callable[[list[T], bool, Mapping[str, str]], list[Any]]
    csv_columns: tuple[str, ...]
    csv_rows: Callable[[list[T], bool], list[list[object]]]


def _fetch_shared(
    fig: _Figures, f: report.Filters, page: int | None
) -> tuple[list[report.SharedNhsNumber], int]:
    items = _shared(fig, f, page)
    return items, (len(items) if page is None else _shared_totals(fig, f).numbers)


_SHARED = _ProblemList(
    name="shared-nhs-numbers",
    path="/linkage/shared-nhs-numbers",
    template="linkage/shared_nhs.html",
    title="NHS numbers shared by incompatible demographics",
    fetch=_fetch_shared,
    masked=Mask.shared,
    rows=p.shared_nhs_rows,
    csv_columns=p.SHARED_NHS_CSV_COLUMNS,
    csv_rows=p.shared_nhs_csv_rows,
)
_DUPLICATES = _ProblemList(
    name="duplicates",
    path="/linkage/duplicates",
    template="linkage/duplicates.html",
    title="Within-source duplicates",
    fetch=_duplicates,
    masked=Mask.duplicate,
    rows=p.duplicate_rows,
    csv_columns=p.DUPLICATES_CSV_COLUMNS,
    csv_rows=p.duplicates_csv_rows,
)


def _problem_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    listed: _ProblemList[T],
    f: report.Filters,
    page: int,
    crumb: str,
) -> Response:
    """One page of a problem list; a view of identity values is audited."""
    identifiable = _identifiable(user)
    mask = _mask(request, user)
    run = _last_run(db)
    names = organisation_names(db)
    with _lake(request) as fig:
        context: dict[str, Any] = {"ready": fig is not None, **_filter_context(fig, f, names)}
        items: list[T] = []
        total = 0
        if fig is not None:
            items, total = listed.fetch(fig, f, page)
    if mask is not None:
        items = [listed.masked(mask, item) for item in items]
    if identifiable and items:
        _audit(
            db,
            user,
            "linkage.list.view",
            "linkage_list",
            listed.name.replace("-", "_"),
            page=page,
            rows=len(items),
            source=f.source,
            dataset=f.dataset,
        )
    return render(
        request,
        listed.template,
        PageMeta(title=listed.title, breadcrumbs=(HOME, _LINKAGE, Crumb(crumb, ""))),
        data_as_at=run.finished_at if run else None,
        rows=listed.rows(items, identifiable, names),
        paging=p.paging(listed.path, page, PAGE_SIZE, total, source=f.source, dataset=f.dataset),
        identifiable=identifiable,
        **context,
    )


def _problem_csv(
    request: Request, db: Session, user: CurrentUser, listed: _ProblemList[T], f: report.Filters
) -> Response:
    """Every record of a problem list; identity values only for data-quality managers."""
    identifiable = _identifiable(user)
    mask = _mask(request, user)
    with _lake(request) as fig:
        items, _total = listed.fetch(_lake_or_404(fig), f, None)
    if mask is not None:
        items = [listed.masked(mask, item) for item in items]
    return _export(
        db,
        user,
        f"linkage-{listed.name}.csv",
        listed.csv_columns,
        listed.csv_rows(items, identifiable),
        identifiable=identifiable,
        filters=f,
    )


@router.get("/linkage/shared-nhs-numbers", response_class=HTMLResponse)
def shared_nhs_page(
    request: Request,
    db: Db,
    user: Viewer,
    source: SourceQ = None,
    dataset: DatasetQ = None,
    page: PageQ = 1,
) -> Response:
    """NHS numbers on records of different persons, or with contradicting demographics."""
    f = _filters(source, dataset)
    return _problem_page(request, db, user, _SHARED, f, page, "Shared NHS numbers")


@router.get("/linkage/shared-nhs-numbers.csv")
def shared_nhs_csv(
    request: Request, db: Db, user: Viewer, source: SourceQ = None, dataset: DatasetQ = None
) -> Response:
    """Every record on a shared NHS number; identity values only for data-quality managers."""
    return _problem_csv(request, db, user, _SHARED, _filters(source, dataset))


@router.get("/linkage/duplicates", response_class=HTMLResponse)
def duplicates_page(
    request: Request,
    db: Db,
    user: Viewer,
    source: SourceQ = None,
    dataset: DatasetQ = None,
    page: PageQ = 1,
) -> Response:
    """Persons holding more than one local patient id at one source."""
    f = _filters(source, dataset)
    return _problem_page(request, db, user, _DUPLICATES, f, page, "Within-source duplicates")


@router.get("/linkage/duplicates.csv")
def duplicates_csv(
    request: Request, db: Db, user: Viewer, source: SourceQ = None, dataset: DatasetQ = None
) -> Response:
    """Every record of every within-source duplicate; identity values only for managers."""
    return _problem_csv(request, db, user, _DUPLICATES, _filters(source, dataset))


_NOT_INDEXED = "One of these records is not in the person index."


def _record_pseudonyms(fig: _Figures, mask: Mask) -> RecordPseudonyms:
    # Keyed by a digest of the key, so a changed key never answers from an old lookup.
    tag = hashlib.sha256(mask.key).hexdigest()
    return fig.get(
        ("record_pseudonyms", tag),
        lambda con: RecordPseudonyms(mask, report.listed_record_ids(con)),
    )


def _explain(request: Request, user: CurrentUser, a: str, b: str) -> report.PairExplanation:
    """The pair's evidence; for a masked viewer ``a`` and ``b`` are record pseudonyms,
    resolved here, and the answer comes back pseudonymised."""
    mask = _mask(request, user)
    with _lake(request) as fig:
        figures = _lake_or_404(fig)
        if mask is not None:
            lookup = _record_pseudonyms(figures, mask)
            record_a, record_b = lookup.resolve(a), lookup.resolve(b)
            if record_a is None or record_b is None:
                raise HTTPException(404, _NOT_INDEXED)
            a, b = record_a, record_b
        found = report.explain_records(figures.con, a, b)
    if found is None:
        raise HTTPException(404, _NOT_INDEXED)
    return found if mask is None else mask.explanation(found)


@router.get("/linkage/pairs", response_class=HTMLResponse)
def pair_page(request: Request, db: Db, user: Viewer, a: RecordQ, b: RecordQ) -> Response:
    """Why two records are (or are not) one person: the evidence and its match weights."""
    found = _explain(request, user, a, b)
    identifiable = _identifiable(user)
    if identifiable:
        _audit(db, user, "linkage.pair.view", "source_record", a, a=a, b=b)
    run = _last_run(db)
    return render(
        request,
        "linkage/pair.html",
        PageMeta(
            title="Why linked",
            breadcrumbs=(HOME, _LINKAGE, Crumb("Why linked", "")),
        ),
        data_as_at=run.finished_at if run else None,
        view=p.pair_view(found, identifiable, organisation_names(db)),
        identifiable=identifiable,
        csv_href="/linkage/pairs.csv?" + urlencode({"a": a, "b": b}),
    )


PAIR_CSV_COLUMNS = ("comparison", "match_weight")


@router.get("/linkage/pairs.csv")
def pair_csv(request: Request, db: Db, user: Viewer, a: RecordQ, b: RecordQ) -> Response:
    """The match weights of a pair (no identity values)."""
    found = _explain(request, user, a, b)
    rows: list[list[object]] = [[name, w] for name, w in found.weights]
    for label, value in (("total", found.match_weight), ("probability", found.match_probability)):
        rows.append([label, "" if value is None else value])
    return _export(db, user, "linkage-pair.csv", PAIR_CSV_COLUMNS, rows, identifiable=False)
