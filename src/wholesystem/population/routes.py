"""Population pages: risk pyramid and segment mix, cohort builder, case-finding, model cards.

Information governance (DESIGN.md; docs/population-pages.md, "Cohorts and case-finding"):

* aggregate counts (pyramid, segment mix, drill-down, cohort counts and breakdowns, their
  CSV files) are shown to everyone with ``view_dashboard``, always through disclosure
  control (1-7 suppressed, others rounded to 5, secondary suppression in tables);
* cohort **lists** only for care-team roles (``view_identifiable_records``), identifiable,
  and only for the people each user has a legitimate relationship with (the access
  capability's pure rule ``relationship_basis``, applied in bulk; break-glass is for one
  record at a time and never widens a list), or for analysts (``view_pseudonymised_data``),
  pseudonymised, without people who have a national data opt-out;
* case-finding lists for care-team roles only, restricted to the user's practice (a
  practice user) or neighbourhood (a PCN user), and always to a legitimate relationship;
* every list view and every export is audited, and so is every caseload addition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.disclosure import (
    ProtectedTable,
    protect_count,
    protect_series,
    protect_table,
)
from wholesystem.access.models import CareRelationship, User
from wholesystem.access.opt_outs import opted_out_nhs_numbers
from wholesystem.access.permissions import Permission, Role
from wholesystem.access.pseudonyms import pseudonym_key, pseudonymise
from wholesystem.access.relationships import (
    Basis,
    CareRelationshipError,
    PersonContext,
    Viewer,
    add_care_relationship,
    neighbourhood_map,
    relationship_basis,
)
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.footprint.models import Level
from wholesystem.footprint.queries import AreaNode, footprint_tree
from wholesystem.population import casefinding, cohorts, registry
from wholesystem.population import presenters as p
from wholesystem.population.cohorts import CohortFilter, CohortFilterError
from wholesystem.store.lake import Lake
from wholesystem.store.runs import last_success
from wholesystem.times import uk_datetime
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["LIST_PAGE_ROWS", "STRATIFY_STEP", "router"]

# The pipeline step whose last success is the population pages' "data as at".
STRATIFY_STEP = (
    "stratify"  # wholesystem.population.pipeline.STEP (not imported: it loads the model stack)
)
LIST_PAGE_ROWS = 100
CASELOAD_TEAM = "Neighbourhood MDT"
# Roles that may read model cards besides analysts: administrators run the model, and the
# board is accountable for its use (the card holds aggregate validation figures only).
MODEL_CARD_ROLES = frozenset({Role.system_admin, Role.board_member})

Anyone = Annotated[CurrentUser, Depends(require(Permission.view_dashboard))]
Carer = Annotated[CurrentUser, Depends(require(Permission.view_identifiable_records))]
Coordinator = Annotated[CurrentUser, Depends(require(Permission.manage_caseload))]
Area_ = Annotated[str | None, Query(max_length=16)]

router = APIRouter(include_in_schema=False)

_LEVEL_COLUMN = {
    Level.system: None,
    Level.place: "place_code",
    Level.neighbourhood: "neighbourhood_code",
    Level.practice: "practice_code",
}
_CHILD_LEVEL = {Level.system: Level.place, Level.place: Level.neighbourhood}
_CHILD_LEVEL[Level.neighbourhood] = Level.practice


# --------------------------------------------------------------------------- helpers


def _lake(request: Request) -> Lake:
    return Lake(request.app.state.settings.resolved_lake_dir)


def _as_at(db: Session, lake: Lake) -> tuple[datetime | None, date | None]:
    """(data as at, index date): the last stratify run, else midnight of the index date."""
    index = cohorts.index_date(lake)
    ran = last_success(db, STRATIFY_STEP)
    if ran is None and index is not None:
        ran = datetime.combine(index, time(0), tzinfo=UTC)
    return ran, index


def _crumbs(*tail: Crumb) -> tuple[Crumb, ...]:
    return (HOME, Crumb("Population health", "/population"), *tail)


def _empty(request: Request, title: str, crumbs: tuple[Crumb, ...]) -> HTMLResponse:
    return render(
        request, "population/empty.html", PageMeta(title=title, breadcrumbs=crumbs), title=title
    )


def _cohort_or_400(request: Request) -> CohortFilter:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        return cohorts.parse_filter(params)
    except CohortFilterError as exc:
        raise HTTPException(400, f"The cohort filter is not valid: {exc}.") from None


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    return f"?{urlencode(pairs)}" if pairs else ""


def _org_relationship_ids(db: Session, org: str, now: datetime) -> set[str]:
    query = select(CareRelationship.person_id).where(
        CareRelationship.organisation_code == org,
        CareRelationship.started_at <= now,
        or_(CareRelationship.ended_at.is_(None), CareRelationship.ended_at > now),
    )
    return set(db.execute(query).scalars())


def _visible(
    db: Session, lake: Lake, user: CurrentUser, cohort: CohortFilter, now: datetime
) -> dict[str, Basis]:
    """Cohort members ``user`` has a legitimate relationship with, and on which basis.

    The facts are gathered in bulk (registrations from the lake, caseloads from the
    database, open episodes at the user's organisation from the lake) and each person
    is decided by the access capability's rule, ``relationship_basis``. The user's role,
    organisation and status are read afresh, as ``decide_access`` does.
    """
    stored = db.get(User, user.id)
    if stored is None:
        return {}
    viewer = Viewer(
        role=stored.role, organisation_code=stored.organisation_code, active=stored.active
    )
    org = viewer.organisation_code
    practice_map = neighbourhood_map(db)
    hood = org if org in set(practice_map.values()) else practice_map.get(org)
    practices = {k for k, v in practice_map.items() if hood is not None and v == hood} | {org}
    today = now.date()
    caseload = _org_relationship_ids(db, org, now)
    episodes = cohorts.open_episode_person_ids(lake, org, today)
    facts = cohorts.registration_facts(
        lake, cohort, practices=practices, person_ids=caseload | episodes, today=today
    )
    visible: dict[str, Basis] = {}
    for fact in facts:
        context = PersonContext(
            person_id=fact.person_id,
            nhs_number=fact.nhs_number,
            registered_practices=fact.registered_practices,
            open_episode_orgs=frozenset({org}) if fact.person_id in episodes else frozenset(),
        )
        care_orgs = [org] if fact.person_id in caseload else []
        basis = relationship_basis(viewer, context, practice_map, care_orgs)
        if basis is not None:
            visible[fact.person_id] = basis
    return visible


def _audit(db: Session, user: CurrentUser, action: str, object_id: str, **detail: Any) -> None:
    audit.append(
        db,
        actor=user.username,
        action=action,
        object_type="cohort",
        object_id=object_id[:200] or "all",
        detail=detail,
    )
    db.commit()


def _list_kind(user: CurrentUser) -> str | None:
    if user.can(Permission.view_identifiable_records):
        return "identifiable"
    if user.can(Permission.view_pseudonymised_data):
        return "pseudonymised"
    return None


# ------------------------------------------------------------------ pyramid and mix


def _area_node(tree: AreaNode, area: str | None) -> list[AreaNode]:
    if not area:
        return [tree]
    path = tree.path_to(area)
    if not path:
        raise HTTPException(404, f"There is no area with code '{area}' in this footprint.")
    return path


def _area_tables(
    lake: Lake, node: AreaNode
) -> tuple[ProtectedTable, list[tuple[str, str, str]], ProtectedTable | None]:
    """The protected tier x segment table of ``node`` and its children x tier table."""
    child_level = _CHILD_LEVEL.get(node.level)
    group = _LEVEL_COLUMN[child_level] if child_level else None
    counts = cohorts.area_tier_segment_counts(
        lake,
        _LEVEL_COLUMN[node.level],
        node.code if node.level is not Level.system else None,
        group,
    )
    grid = [
        [
            sum(n for (_, t, s), n in counts.items() if t == tier and s == segment)
            for segment in cohorts.SEGMENTS
        ]
        for tier in cohorts.TIERS
    ]
    mix = protect_table(grid)
    if not node.children or group is None:
        return mix, [], None
    children = [(c.code, c.name, f"/population?area={c.code}") for c in node.children]
    by_child = [
        [
            sum(n for (g, t, _), n in counts.items() if g == c.code and t == tier)
            for tier in cohorts.TIERS
        ]
        for c in node.children
    ]
    return mix, children, protect_table(by_child)


@router.get("/population", response_class=HTMLResponse)
def population_page(request: Request, db: Db, user: Anyone, area: Area_ = None) -> Response:
    """The risk pyramid and segment mix of one footprint area, with drill-down."""
    lake = _lake(request)
    tree = footprint_tree(db)
    as_at, index = _as_at(db, lake)
    if tree is None or index is None:
        return _empty(request, "Population health", (HOME, Crumb("Population health", "")))
    path = _area_node(tree, area)
    node = path[-1]
    mix, children, by_child = _area_tables(lake, node)
    crumbs = (
        HOME,
        *(
            Crumb(
                n.name if i else "Population health",
                f"/population?area={n.code}" if i else "/population",
            )
            for i, n in enumerate(path[:-1])
        ),
        Crumb(node.name if len(path) > 1 else "Population health", ""),
    )
    query = _query([("area", node.code)] if area else [])
    return render(
        request,
        "population/overview.html",
        PageMeta(title=f"Population health: {node.name}", breadcrumbs=crumbs),
        data_as_at=as_at,
        node=node,
        level_label=node.level.value.title(),
        index_date=index.strftime("%-d %B %Y"),
        total=mix.grand_total.text,
        bars=p.pyramid_bars(mix),
        mix_rows=p.segment_mix_rows(mix),
        segment_labels=[p.SEGMENT_LABELS[s] for s in cohorts.SEGMENTS],
        segment_totals=[c.text for c in mix.column_totals],
        tier_labels=[p.TIER_SHORT[t] for t in cohorts.TIERS],
        children=p.child_rows(children, by_child) if by_child is not None else [],
        child_totals=[c.text for c in by_child.column_totals] if by_child is not None else [],
        child_level=_CHILD_LEVEL[node.level].value if node.level in _CHILD_LEVEL else None,
        csv_query=query,
        cohort_href="/population/cohorts" + _query([("area", node.code)] if area else []),
        can_case_find=user.can(Permission.view_identifiable_records),
    )


@router.get("/population.csv")
def population_csv(request: Request, db: Db, user: Anyone, area: Area_ = None) -> Response:
    """The tier x segment table of the area, long form, under disclosure control."""
    lake = _lake(request)
    tree = footprint_tree(db)
    if tree is None or cohorts.index_date(lake) is None:
        raise HTTPException(404, "No risk stratification has been run yet.")
    node = _area_node(tree, area)[-1]
    mix, _, _ = _area_tables(lake, node)
    return csv_response(
        f"population-{node.code}.csv",
        p.AGGREGATE_CSV_COLUMNS,
        p.aggregate_csv_rows(node.code, node.name, mix),
    )


# ------------------------------------------------------------------------ cohorts


def _cohort_lists(
    request: Request, db: Db, user: CurrentUser, cohort: CohortFilter, *, limit: int | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """The list ``user`` may see for ``cohort`` (kind, raw rows), or (None, [])."""
    lake = _lake(request)
    kind = _list_kind(user)
    if kind == "identifiable":
        visible = _visible(db, lake, user, cohort, current_time(request.app))
        return kind, cohorts.identifiable_rows(lake, cohort, visible, limit=limit)
    if kind == "pseudonymised":
        return kind, cohorts.pseudonymised_rows(
            lake, cohort, opted_out_nhs_numbers(db), limit=limit
        )
    return None, []


def _pseudonymiser(request: Request) -> Any:
    key = pseudonym_key(request.app.state.settings)
    return lambda person_id: pseudonymise(person_id, key)


def _choice_items(
    values: Sequence[str], labels: dict[str, str], chosen: Sequence[str]
) -> list[dict[str, Any]]:
    return [{"value": v, "text": labels.get(v, v), "checked": v in chosen} for v in values]


@router.get("/population/cohorts", response_class=HTMLResponse)
def cohorts_page(
    request: Request,
    db: Db,
    user: Anyone,
    show: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The cohort builder: filters in the URL, protected counts, the list per IG rules."""
    lake = _lake(request)
    as_at, index = _as_at(db, lake)
    crumbs = _crumbs(Crumb("Cohort builder", ""))
    if index is None:
        return _empty(request, "Cohort builder", crumbs)
    cohort = _cohort_or_400(request)
    pairs = cohorts.filter_query(cohort)
    tiers = cohorts.tier_counts(lake, cohort)
    breakdown = protect_series([tiers[t] for t in cohorts.TIERS])
    kind = _list_kind(user)
    listed: list[dict[str, Any]] = []
    shown = False
    if show == "list" and kind is not None:
        kind, raw = _cohort_lists(request, db, user, cohort, limit=None)
        shown = True
        _audit(
            db,
            user,
            "population.cohort_list",
            urlencode(pairs),
            kind=kind,
            filters=urlencode(pairs),
            rows=len(raw),
        )
        page_rows = raw[:LIST_PAGE_ROWS]
        listed = (
            p.identifiable_rows(page_rows)
            if kind == "identifiable"
            else p.pseudonymised_rows(page_rows, _pseudonymiser(request))
        )
        list_total = len(raw)
    else:
        list_total = 0
    tree = footprint_tree(db)
    areas: list[dict[str, Any]] = [{"value": "", "text": "Whole system"}]
    if tree is not None:
        for n in tree.walk()[1:]:
            areas.append(
                {
                    "value": n.code,
                    "text": f"{n.name} ({n.level.value})",
                    "selected": n.code == cohort.area,
                }
            )
    conditions = cohorts.condition_ids(lake)
    return render(
        request,
        "population/cohorts.html",
        PageMeta(title="Cohort builder", breadcrumbs=crumbs),
        data_as_at=as_at,
        index_date=index.strftime("%-d %B %Y"),
        cohort=cohort,
        count=protect_count(sum(tiers.values())).text,
        breakdown=[
            {"label": p.TIER_LABELS[t], "text": c.text}
            for t, c in zip(cohorts.TIERS, breakdown.cells[0], strict=True)
        ],
        breakdown_total=breakdown.grand_total.text,
        segments=_choice_items(cohorts.SEGMENTS, p.SEGMENT_LABELS, cohort.segments),
        tiers=_choice_items(cohorts.TIERS, p.TIER_LABELS, cohort.tiers),
        conditions=_choice_items(
            conditions, {c: p.condition_label(c) for c in conditions}, cohort.conditions
        ),
        quintiles=_choice_items(
            ["1", "2", "3", "4", "5"],
            {"1": "1 (most deprived)", "5": "5 (least deprived)"},
            [str(q) for q in cohort.deprivation_quintiles],
        ),
        matches=[
            {"value": "any", "text": "Any of these", "selected": cohort.condition_match == "any"},
            {"value": "all", "text": "All of these", "selected": cohort.condition_match == "all"},
        ],
        areas=areas,
        query=_query(pairs),
        list_href="/population/cohorts" + _query([*pairs, ("show", "list")]),
        list_kind=kind,
        list_shown=shown,
        listed=listed,
        list_total=f"{list_total:,}",
        list_truncated=list_total > LIST_PAGE_ROWS,
        page_rows=LIST_PAGE_ROWS,
    )


@router.get("/population/cohorts/counts.csv")
def cohort_counts_csv(request: Request, db: Db, user: Anyone) -> Response:
    """The cohort's count by risk tier, under disclosure control."""
    lake = _lake(request)
    if cohorts.index_date(lake) is None:
        raise HTTPException(404, "No risk stratification has been run yet.")
    cohort = _cohort_or_400(request)
    tiers = cohorts.tier_counts(lake, cohort)
    series = protect_series([tiers[t] for t in cohorts.TIERS])
    rows: list[tuple[object, ...]] = [
        (t, c.text) for t, c in zip(cohorts.TIERS, series.cells[0], strict=True)
    ]
    rows.append(("all", series.grand_total.text))
    return csv_response("cohort-counts.csv", ("tier", "people"), rows)


@router.get("/population/cohorts.csv")
def cohort_list_csv(request: Request, db: Db, user: Anyone) -> Response:
    """The cohort list a user may see, as CSV (audited); 403 for roles without lists."""
    kind = _list_kind(user)
    if kind is None:
        raise HTTPException(
            403,
            f"Your role ({user.role.label}) sees cohort counts only. Lists of people are "
            "for care-team members (people they care for) and analysts (pseudonymised).",
        )
    lake = _lake(request)
    if cohorts.index_date(lake) is None:
        raise HTTPException(404, "No risk stratification has been run yet.")
    cohort = _cohort_or_400(request)
    pairs = cohorts.filter_query(cohort)
    kind, raw = _cohort_lists(request, db, user, cohort, limit=None)
    _audit(
        db,
        user,
        "population.cohort_export",
        urlencode(pairs),
        kind=kind,
        filters=urlencode(pairs),
        rows=len(raw),
    )
    if kind == "identifiable":
        return csv_response("cohort.csv", p.IDENTIFIABLE_CSV_COLUMNS, p.identifiable_csv_rows(raw))
    return csv_response(
        "cohort-pseudonymised.csv",
        p.PSEUDONYMISED_CSV_COLUMNS,
        p.pseudonymised_csv_rows(raw, _pseudonymiser(request)),
    )


# ------------------------------------------------------------------- case-finding


def _neighbourhoods(tree: AreaNode | None) -> list[AreaNode]:
    if tree is None:
        return []
    return [n for n in tree.walk() if n.level is Level.neighbourhood]


def _home_neighbourhood(tree: AreaNode | None, org: str) -> str | None:
    """The neighbourhood area of the user's organisation (a PCN, or a practice in one)."""
    for hood in _neighbourhoods(tree):
        if org in (hood.code, hood.organisation_code):
            return hood.code
        for practice in hood.children:
            if org in (practice.code, practice.organisation_code):
                return hood.code
    return None


def _cases(
    request: Request, db: Session, user: CurrentUser, hood: AreaNode
) -> tuple[list[casefinding.Case], dict[str, Basis]]:
    """The candidates of ``hood`` that ``user`` may see, with each one's basis.

    Scope: a practice user sees their practice's patients; a PCN user their PCN's;
    anyone else only the people on their organisation's caseload or with an open
    episode there. Always also a legitimate relationship (``relationship_basis``).
    """
    lake = _lake(request)
    now = current_time(request.app)
    cohort = CohortFilter(tiers=casefinding.HIGH_RISK_TIERS, area=hood.code)
    visible = _visible(db, lake, user, cohort, now)
    org = user.organisation_code
    practice_codes = {c.code for c in hood.children} | {
        c.organisation_code for c in hood.children if c.organisation_code
    }
    is_practice = org in practice_codes
    is_pcn = org in (hood.code, hood.organisation_code)
    rows = casefinding.neighbourhood_rows(lake, hood.code, visible)
    scoped = []
    for row in rows:
        basis = visible[str(row["person_id"])]
        if is_practice and basis is Basis.registered_in_neighbourhood:
            continue  # a practice sees its own patients here, not the whole PCN's
        if not (is_practice or is_pcn) and basis in (
            Basis.registered_practice,
            Basis.registered_in_neighbourhood,
        ):
            continue
        scoped.append(row)
    reviewed = casefinding.under_review(db, (str(r["person_id"]) for r in scoped), now=now)
    return casefinding.find_cases(scoped, reviewed), visible


def _hood_or_error(
    db: Session, user: CurrentUser, code: str | None
) -> tuple[AreaNode | None, list[AreaNode]]:
    tree = footprint_tree(db)
    hoods = _neighbourhoods(tree)
    chosen = code or _home_neighbourhood(tree, user.organisation_code)
    if chosen is None:
        return None, hoods
    hood = next((h for h in hoods if h.code == chosen), None)
    if hood is None:
        raise HTTPException(
            404, f"There is no neighbourhood with code '{chosen}' in this footprint."
        )
    return hood, hoods


@router.get("/population/case-finding", response_class=HTMLResponse)
def case_finding_page(
    request: Request,
    db: Db,
    user: Carer,
    neighbourhood: Area_ = None,
    added: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    """People in a neighbourhood most likely to benefit from MDT review (audited)."""
    lake = _lake(request)
    as_at, index = _as_at(db, lake)
    crumbs = _crumbs(Crumb("Case-finding", ""))
    if index is None:
        return _empty(request, "Neighbourhood case-finding", crumbs)
    hood, hoods = _hood_or_error(db, user, neighbourhood)
    cases: list[casefinding.Case] = []
    visible: dict[str, Basis] = {}
    if hood is not None:
        cases, visible = _cases(request, db, user, hood)
        _audit(
            db,
            user,
            "population.case_finding_view",
            hood.code,
            neighbourhood=hood.code,
            rows=len(cases),
            person_ids=[c.person_id for c in cases[:LIST_PAGE_ROWS]],
        )
    return render(
        request,
        "population/case_finding.html",
        PageMeta(title="Neighbourhood case-finding", breadcrumbs=crumbs),
        data_as_at=as_at,
        index_date=index.strftime("%-d %B %Y"),
        hood=hood,
        hoods=[
            {"value": h.code, "text": h.name, "selected": hood is not None and h.code == hood.code}
            for h in hoods
        ],
        cases=p.case_rows(cases[:LIST_PAGE_ROWS], {k: v.label for k, v in visible.items()}),
        total=len(cases),
        truncated=len(cases) > LIST_PAGE_ROWS,
        page_rows=LIST_PAGE_ROWS,
        can_add=user.can(Permission.manage_caseload),
        added=added == "1",
        criteria=(
            f"{casefinding.MIN_EMERGENCY_ADMISSIONS} or more emergency admissions",
            f"{casefinding.MIN_AE_ATTENDANCES} or more A&E attendances",
            "complex multimorbidity, or frailty and dementia, with an emergency admission",
        ),
    )


@router.get("/population/case-finding.csv")
def case_finding_csv(
    request: Request, db: Db, user: Carer, neighbourhood: Area_ = None
) -> Response:
    """The case-finding list as CSV (audited)."""
    if cohorts.index_date(_lake(request)) is None:
        raise HTTPException(404, "No risk stratification has been run yet.")
    hood, _ = _hood_or_error(db, user, neighbourhood)
    if hood is None:
        raise HTTPException(400, "Choose a neighbourhood.")
    cases, _ = _cases(request, db, user, hood)
    _audit(
        db,
        user,
        "population.case_finding_export",
        hood.code,
        neighbourhood=hood.code,
        rows=len(cases),
    )
    return csv_response(f"case-finding-{hood.code}.csv", p.CASE_CSV_COLUMNS, p.case_csv_rows(cases))


@router.post("/population/case-finding/caseload")
def add_to_caseload(
    request: Request,
    db: Db,
    user: Coordinator,
    person_id: Annotated[str, Form(max_length=64)],
    neighbourhood: Annotated[str, Form(max_length=16)],
) -> Response:
    """Put a case-finding candidate on the user's organisation's MDT caseload (audited)."""
    hood, _ = _hood_or_error(db, user, neighbourhood)
    if hood is None:
        raise HTTPException(400, "Choose a neighbourhood.")
    cases, _ = _cases(request, db, user, hood)
    if person_id not in {c.person_id for c in cases}:
        # The same answer whether the person does not exist or is not the user's to see.
        raise HTTPException(
            404, "That person is not on your case-finding list. Reload the list and try again."
        )
    try:
        add_care_relationship(
            db,
            person_id=person_id,
            organisation_code=user.organisation_code,
            kind=casefinding.REVIEW_KIND,
            actor=user.username,
            team=CASELOAD_TEAM,
            started_at=current_time(request.app),
        )
    except CareRelationshipError as exc:
        raise HTTPException(400, str(exc)) from None
    db.commit()
    target = "/population/case-finding?" + urlencode({"neighbourhood": hood.code, "added": "1"})
    return RedirectResponse(target, status_code=303)


# --------------------------------------------------------------------- model cards


def _model_reader(user: CurrentUser) -> None:
    if user.can(Permission.view_pseudonymised_data) or user.role in MODEL_CARD_ROLES:
        return
    raise HTTPException(
        403,
        f"Your role ({user.role.label}) cannot see model cards. They are for analysts, "
        "administrators and board members.",
    )


@router.get("/population/models", response_class=HTMLResponse)
def models_page(request: Request, db: Db, user: Anyone) -> Response:
    """Every version of the risk model, newest first."""
    _model_reader(user)
    versions = registry.list_versions(db)
    return render(
        request,
        "population/models.html",
        PageMeta(title="Risk models", breadcrumbs=_crumbs(Crumb("Risk models", ""))),
        data_as_at=versions[0].created_at if versions else None,
        versions=[
            {
                "version": v.version,
                "href": f"/population/models/{v.version}",
                "created": uk_datetime(v.created_at, "%-d %B %Y, %H:%M"),
                "created_by": v.created_by,
                "train": v.train_index_date.strftime("%-d %B %Y"),
                "validation": v.validation_index_date.strftime("%-d %B %Y"),
                "auroc": f"{v.metrics.auroc:.3f}",
                "active": v.active,
            }
            for v in versions
        ],
    )


@router.get("/population/models/{version}", response_class=HTMLResponse)
def model_card(request: Request, version: str, db: Db, user: Anyone) -> Response:
    """The model card of one version: data window, features, validation and subgroups."""
    _model_reader(user)
    found = registry.get_version(db, version[:64])
    if found is None:
        raise HTTPException(404, f"There is no model version '{version[:64]}'.")
    return render(
        request,
        "population/model_card.html",
        PageMeta(
            title=f"Model card: {found.version}",
            breadcrumbs=_crumbs(
                Crumb("Risk models", "/population/models"), Crumb(found.version, "")
            ),
        ),
        data_as_at=found.created_at,
        model=found,
        summary=[
            {"key": "Version", "value": found.version},
            {
                "key": "Status",
                "value": "Active (scores the population now)" if found.active else "Not active",
            },
            {
                "key": "Created",
                "value": uk_datetime(found.created_at, "%-d %B %Y, %H:%M")
                + f" by {found.created_by}",
            },
            {
                "key": "Training data",
                "value": f"Index date {found.train_index_date:%-d %B %Y}: features up to it, "
                f"outcomes in the 12 months after; {found.n_train:,} people",
            },
            {
                "key": "Validation data",
                "value": f"Index date {found.validation_index_date:%-d %B %Y} (a later year); "
                f"{found.n_validate:,} people",
            },
            {
                "key": "Left out of training (national data opt-out)",
                "value": protect_count(int(found.excluded_opted_out)).text,
            },
            {
                "key": "Outcome",
                "value": "An emergency admission in the 12 months after the index date",
            },
        ],
        features=list(found.features),
        csv_base=f"/population/models/{found.version}",
        validation=p.validation_rows(found.metrics, found.baseline),
        top=p.top_rows(found.metrics, found.baseline),
        calibration=p.calibration_rows(found.metrics.calibration, protect_count),
        subgroups=p.subgroup_rows(found.subgroups, protect_count),
        top_labels=["Top 0.5%", "Top 1%", "Top 5%"],
    )


@router.get("/population/models/{version}/{table}.csv")
def model_card_csv(request: Request, version: str, table: str, db: Db, user: Anyone) -> Response:
    """One table of a model card as CSV (the tables are ``presenters.MODEL_CARD_TABLES``)."""
    _model_reader(user)
    found = registry.get_version(db, version[:64])
    if found is None:
        raise HTTPException(404, f"There is no model version '{version[:64]}'.")
    if table not in p.MODEL_CARD_TABLES:
        raise HTTPException(
            404,
            f"A model card has no table '{table[:40]}'; the tables are "
            + ", ".join(p.MODEL_CARD_TABLES)
            + ".",
        )
    header, rows = p.model_card_csv(found, table, protect_count)
    return csv_response(f"model-{found.version}-{table}.csv", header, rows)
