"""The joined-up record on the web: find a patient, the record page, its CSV, JSON and FHIR.

Information governance (DESIGN.md), enforced here for every view:

* every route demands ``view_identifiable_records`` (analysts' pseudonymised pages demand
  ``view_pseudonymised_data``) — a role without it gets 403 before anything is read;
* then :func:`~wholesystem.access.relationships.decide_access`: without a legitimate
  relationship (or an active break-glass grant) the answer is a 404 **identical** to the
  one for a person who does not exist, so a refusal never confirms that someone exists;
* every view (page, JSON, FHIR) is audited as ``record.view`` with its basis, every CSV
  as ``record.export``, every search as ``record.search``, every refusal as
  ``record.view_refused``;
* break-glass is started from the search, for an NHS number, with a reason; it is
  time-boxed, audited and flagged for review by the access capability, and the record
  shows a warning with its expiry while it lasts;
* analysts see a pseudonymised record by pseudonym; people with a national data opt-out
  are excluded from that secondary use (404).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.break_glass import start_break_glass
from wholesystem.access.errors import AccessError
from wholesystem.access.models import User
from wholesystem.access.opt_outs import is_opted_out
from wholesystem.access.permissions import Permission
from wholesystem.access.pseudonyms import pseudonym_key, pseudonymise
from wholesystem.access.relationships import AccessDecision, Basis, decide_access
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.footprint.queries import organisation_names
from wholesystem.record.validate import nhs_number_problem, normalise_nhs_number
from wholesystem.record.view.assemble import (
    SETTINGS,
    JoinedRecord,
    PseudonymisedRecord,
    TimelineFilter,
    assemble,
    filter_timeline,
    pseudonymise_record,
)
from wholesystem.record.view.fhir_bundle import (
    FHIR_CONTENT_TYPE,
    everything_bundle,
    operation_outcome,
    patient_resource,
)
from wholesystem.record.view.fhir_search import patient_query, patient_searchset
from wholesystem.record.view.presenters import (
    TIMELINE_CSV_COLUMNS,
    UK_TIME,
    allergy_rows,
    care_package_rows,
    current_registration,
    demographic_rows,
    details_form,
    filter_query,
    format_date,
    format_nhs_number,
    held_by,
    identity_rows,
    medication_rows,
    observation_rows,
    problem_rows,
    pseudonymised_json,
    record_json,
    registration_rows,
    search_json,
    setting_items,
    timeline_csv_rows,
    timeline_rows,
)
from wholesystem.record.view.queries import (
    DETAILS_LIMIT,
    LakeReader,
    RecordRows,
    context_from_rows,
    person_for_pseudonym,
    reader_for,
)
from wholesystem.record.view.search import NAME_MAX, FieldError, details_search
from wholesystem.store.lake import Lake
from wholesystem.store.runs import last_success
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["NOT_FOUND", "router"]

# The pipeline step that builds the linked lake tables (the record's "data as at").
LINKED_STEP = "linked_lake"
# One message for "no such person" and "not yours to see": the two must be indistinguishable.
NOT_FOUND = (
    "No record found. Check the address, or find the person by NHS number. "
    "You can only see the records of people you have a care relationship with."
)
TIMELINE_PAGE_ROWS = 500
_PERSON_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Carer = Annotated[CurrentUser, Depends(require(Permission.view_identifiable_records))]
Analyst = Annotated[CurrentUser, Depends(require(Permission.view_pseudonymised_data))]

router = APIRouter()

# --------------------------------------------------------------------------- helpers


def _reader(request: Request) -> LakeReader:
    return reader_for(Lake(request.app.state.settings.resolved_lake_dir))


def _refuse(db: Session, user: CurrentUser, person_id: str, view: str) -> None:
    # Audited so that a pattern of refused look-ups can be seen; the detail is the same
    # whether or not the person exists.
    audit.append(
        db,
        actor=user.username,
        action="record.view_refused",
        object_type="person",
        object_id=person_id[:200] or "-",
        detail={"view": view},
    )
    db.commit()


def _allowed_rows(
    request: Request, db: Session, user: CurrentUser, person_id: str, view: str
) -> tuple[RecordRows, AccessDecision] | None:
    """The person's rows and the access decision, or None (audited) when not to be shown."""
    if not _PERSON_ID.match(person_id):
        _refuse(db, user, person_id, view)
        return None
    rows = _reader(request).record_rows(person_id)
    now = current_time(request.app)
    decision = decide_access(db, user, context_from_rows(rows, today=now.date()), now=now)
    if not (rows.exists and decision.allowed and decision.basis is not None):
        _refuse(db, user, person_id, view)
        return None
    return rows, decision


def _record(rows: RecordRows, today: date) -> JoinedRecord:
    assert rows.person is not None  # checked by _allowed_rows
    return assemble(rows.person_id, rows.person, rows.tables, today=today)


def _audit_view(
    db: Session,
    user: CurrentUser,
    person_id: str,
    decision: AccessDecision,
    view: str,
    *,
    action: str = "record.view",
    **extra: Any,
) -> None:
    basis = decision.basis.value if decision.basis else None
    detail: dict[str, Any] = {"view": view, "basis": basis, **extra}
    if decision.break_glass_id is not None:
        detail["break_glass_id"] = decision.break_glass_id
    audit.append(
        db,
        actor=user.username,
        action=action,
        object_type="person",
        object_id=person_id,
        detail=detail,
    )
    db.commit()


def _parse_date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            400, f"The {what} date '{value}' is not a date. Use the form 2024-03-31."
        ) from None


def _timeline_filter(
    setting: list[str], date_from: str | None, date_to: str | None
) -> TimelineFilter:
    unknown = [s for s in setting if s not in SETTINGS]
    if unknown:
        raise HTTPException(
            400,
            f"'{unknown[0]}' is not a care setting. Choose from: {', '.join(SETTINGS)}.",
        )
    chosen = TimelineFilter(
        settings=frozenset(setting),
        date_from=_parse_date(date_from, "from"),
        date_to=_parse_date(date_to, "to"),
    )
    if chosen.date_from and chosen.date_to and chosen.date_from > chosen.date_to:
        raise HTTPException(400, "The 'from' date is after the 'to' date. Swap them and try again.")
    return chosen


Settings_ = Annotated[list[str], Query(alias="setting", max_length=20)]
From_ = Annotated[str | None, Query(alias="from", max_length=10)]
To_ = Annotated[str | None, Query(alias="to", max_length=10)]


def _crumbs(*tail: Crumb) -> tuple[Crumb, ...]:
    return (HOME, Crumb("Find a record", "/records"), *tail)


# ---------------------------------------------------------------------------- search


def _visible(
    request: Request, db: Session, user: CurrentUser, person_ids: list[str], *, whole: bool = False
) -> list[tuple[RecordRows, AccessDecision]]:
    """Of ``person_ids``, those ``user`` may see: their rows (what an access decision
    needs, or the ``whole`` record) and the decision."""
    reader = _reader(request)
    now = current_time(request.app)
    found = []
    for person_id in person_ids:
        rows = reader.record_rows(person_id) if whole else reader.context_rows(person_id)
        decision = decide_access(db, user, context_from_rows(rows, today=now.date()), now=now)
        if rows.person is not None and decision.allowed and decision.basis is not None:
            found.append((rows, decision))
    return found


def _search_results(
    request: Request, db: Session, user: CurrentUser, person_ids: list[str]
) -> list[dict[str, Any]]:
    """Of ``person_ids``, those ``user`` may see, as the results table shows them."""
    names = organisation_names(db)
    found = []
    for rows, decision in _visible(request, db, user, person_ids):
        person = rows.person or {}
        practice = person.get("practice_code")
        found.append(
            {
                "person_id": rows.person_id,
                "name": " ".join(
                    p
                    for p in (person.get("given_name"), (person.get("family_name") or "").upper())
                    if p
                )
                or "Name not recorded",
                "nhs_number": format_nhs_number(person.get("nhs_number")),
                "date_of_birth": format_date(person.get("date_of_birth")),
                "practice": f"{names.get(practice, practice)} ({practice})"
                if practice
                else "Not registered",
                "basis": decision.basis.label if decision.basis else "",
                "break_glass": decision.basis is Basis.break_glass,
            }
        )
    return found


def _audit_search(
    db: Session,
    user: CurrentUser,
    object_type: str,
    object_id: str,
    results: list[str],
    **extra: Any,
) -> None:
    audit.append(
        db,
        actor=user.username,
        action="record.search",
        object_type=object_type,
        object_id=object_id[:200],
        detail={**extra, "results": results},
    )
    db.commit()


def _search_page(
    request: Request,
    *,
    nhs_number: str = "",
    error: str | None = None,
    details: dict[str, str] | None = None,
    details_errors: list[FieldError] | None = None,
    too_many: bool = False,
    results: list[dict[str, Any]] | None = None,
    searched: str = "",
    glass_error: str | None = None,
    glass_error_field: str = "reason",
    glass_reason: str = "",
    glass_nhs_number: str = "",
    glass_no_match: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "recordview/search.html",
        PageMeta("Find a record", breadcrumbs=(HOME, Crumb("Find a record", ""))),
        status_code=status_code,
        nhs_number=nhs_number,
        error=error,
        entered=details or {},  # not `details`: the template's details component
        **details_form(details or {}, details_errors or []),
        too_many=too_many,
        details_limit=DETAILS_LIMIT,
        results=results or [],
        searched=searched,
        glass_error=glass_error,
        glass_error_field=glass_error_field,
        glass_open=bool(glass_error),
        glass_reason=glass_reason,
        glass_nhs_number=glass_nhs_number,
        glass_no_match=glass_no_match,
        break_glass_minutes=request.app.state.settings.break_glass_minutes,
    )


def _nhs_number_error(text: str) -> str | None:
    if normalise_nhs_number(text) is None:
        return "Enter an NHS number"
    problem = nhs_number_problem(text)
    if problem is None:
        return None
    if problem[0] == "nhs_number_format":
        return "NHS number must be 10 digits, like 943 476 5919"
    return "Enter a valid NHS number: this one fails the check digit"


Detail = Annotated[str | None, Query(max_length=NAME_MAX * 2)]
SearchParam = Detail  # a search parameter of the FHIR or JSON API


@router.get("/records", response_class=HTMLResponse, include_in_schema=False)
def search_page(
    request: Request,
    db: Db,
    user: Carer,
    nhs_number: Annotated[str | None, Query(max_length=20)] = None,
    family_name: Detail = None,
    given_name: Detail = None,
    dob_day: Annotated[str | None, Query(alias="dob-day", max_length=10)] = None,
    dob_month: Annotated[str | None, Query(alias="dob-month", max_length=10)] = None,
    dob_year: Annotated[str | None, Query(alias="dob-year", max_length=10)] = None,
) -> Response:
    """Find a patient by NHS number, or by family name and date of birth: only people you
    have a care relationship with are listed."""
    typed = {"family_name": family_name, "given_name": given_name}
    typed |= {"dob-day": dob_day, "dob-month": dob_month, "dob-year": dob_year}
    if nhs_number is None and any(v is not None for v in typed.values()):
        return _details_search(request, db, user, {k: v or "" for k, v in typed.items()})
    if nhs_number is None:
        return _search_page(request)
    error = _nhs_number_error(nhs_number)
    if error:
        return _search_page(request, nhs_number=nhs_number, error=error, status_code=400)
    digits = normalise_nhs_number(nhs_number) or ""
    results = _search_results(request, db, user, _reader(request).persons_with_nhs_number(digits))
    _audit_search(db, user, "nhs_number", digits, [r["person_id"] for r in results])
    return _search_page(request, nhs_number=nhs_number, results=results, searched="nhs_number")


def _details_search(
    request: Request, db: Session, user: CurrentUser, typed: dict[str, str]
) -> Response:
    """The search by family name and date of birth (see :mod:`.search`)."""
    found = details_search(
        typed["family_name"],
        typed["given_name"],
        typed["dob-day"],
        typed["dob-month"],
        typed["dob-year"],
        today=current_time(request.app).astimezone(UK_TIME).date(),
    )
    if isinstance(found, list):
        return _search_page(request, details=typed, details_errors=found, status_code=400)
    matches = _reader(request).persons_with_details(
        found.family_name, found.date_of_birth, found.given_name
    )
    # Too many to check one by one: nobody is listed, whatever the relationships.
    too_many = len(matches) > DETAILS_LIMIT
    results = [] if too_many else _search_results(request, db, user, matches)
    _audit_search(
        db,
        user,
        "demographics",
        f"{found.family_name[:NAME_MAX]} {found.date_of_birth.isoformat()}",
        [r["person_id"] for r in results],
        given_name=found.given_name,
        too_many=too_many,
    )
    return _search_page(
        request, details=typed, too_many=too_many, results=results, searched="details"
    )


@router.post("/records/break-glass", include_in_schema=False)
async def break_glass(request: Request, db: Db, user: Carer) -> Response:
    """Open a record you have no relationship with: an NHS number and a reason; time-boxed."""
    form = await request.form()
    nhs_number = str(form.get("nhs_number") or "")
    reason = str(form.get("reason") or "")
    error = _nhs_number_error(nhs_number)
    if error:
        return _search_page(
            request,
            glass_error=error,
            glass_error_field="nhs_number",
            glass_reason=reason,
            glass_nhs_number=nhs_number,
            status_code=400,
        )
    digits = normalise_nhs_number(nhs_number) or ""
    reader = _reader(request)
    now = current_time(request.app)
    stored = db.get(User, user.id)
    person_ids = reader.persons_with_nhs_number(digits)
    if stored is None:
        raise HTTPException(401, "Sign in to use this service")
    if not person_ids:
        audit.append(
            db,
            actor=user.username,
            action="break_glass.no_match",
            object_type="nhs_number",
            object_id=digits,
            detail={"reason": " ".join(reason.split())[:500]},
            at=now,
        )
        db.commit()
        return _search_page(request, glass_nhs_number=nhs_number, glass_no_match=True)
    minutes = request.app.state.settings.break_glass_minutes
    try:
        for person_id in person_ids:
            start_break_glass(db, stored, person_id, reason, now=now, minutes=minutes)
    except AccessError as exc:
        db.rollback()
        return _search_page(
            request,
            glass_error=exc.message,
            glass_reason=reason,
            glass_nhs_number=nhs_number,
            status_code=400,
        )
    db.commit()
    if len(person_ids) == 1:
        return RedirectResponse(f"/records/{person_ids[0]}", status_code=303)
    return RedirectResponse(f"/records?nhs_number={digits}", status_code=303)


# ---------------------------------------------------------------------------- record


@router.get("/records/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def record_page(
    request: Request,
    person_id: str,
    db: Db,
    user: Carer,
    setting: Settings_ = [],  # noqa: B006 - FastAPI copies defaults per request
    date_from: From_ = None,
    date_to: To_ = None,
) -> Response:
    """One person's joined-up record, with the timeline filtered by setting and date."""
    chosen = _timeline_filter(setting, date_from, date_to)
    allowed = _allowed_rows(request, db, user, person_id, "page")
    if allowed is None:
        raise HTTPException(404, NOT_FOUND)
    rows, decision = allowed
    now = current_time(request.app)
    record = _record(rows, now.date())
    names = organisation_names(db)
    entries = filter_timeline(record.timeline, chosen)
    counts: dict[str, int] = {}
    for entry in record.timeline:
        counts[entry.setting] = counts.get(entry.setting, 0) + 1
    _audit_view(db, user, person_id, decision, "page")
    demo = record.demographics
    current = record.current_registration
    return render(
        request,
        "recordview/record.html",
        PageMeta(demo.name, breadcrumbs=_crumbs(Crumb(demo.name, ""))),
        data_as_at=last_success(db, LINKED_STEP),
        record=record,
        demo=demo,
        nhs_number=format_nhs_number(demo.nhs_number),
        date_of_birth=format_date(demo.date_of_birth),
        basis_label=decision.basis.label if decision.basis else "",
        break_glass=decision.basis is Basis.break_glass,
        break_glass_expires=(
            decision.break_glass_expires_at.astimezone(UK_TIME).strftime("%-d %b %Y at %H:%M")
            + " UK time"
            if decision.break_glass_expires_at
            else ""
        ),
        demographics=demographic_rows(demo, names),
        identities=identity_rows(demo, names),
        held_by=held_by(demo.sources, names),
        conflicts=len(demo.conflicts),
        registration=current_registration(current, names),
        registrations=registration_rows(record.registrations, names),
        problems=problem_rows(record.problems, names),
        medications=medication_rows(record.medications, names),
        allergies=allergy_rows(record.allergies, names),
        observations=observation_rows(record.latest_observations),
        care_packages=care_package_rows(record.care_packages, names),
        timeline=timeline_rows(entries[:TIMELINE_PAGE_ROWS], names),
        timeline_total=len(entries),
        timeline_all=len(record.timeline),
        timeline_limit=TIMELINE_PAGE_ROWS,
        open_episodes=timeline_rows(record.open_episodes, names),
        setting_items=setting_items(chosen, counts),
        filters={
            "from": chosen.date_from.isoformat() if chosen.date_from else "",
            "to": chosen.date_to.isoformat() if chosen.date_to else "",
        },
        filtered=chosen.active,
        query=filter_query(chosen),
    )


@router.get("/records/{person_id}/timeline.csv", include_in_schema=False)
def timeline_csv(
    request: Request,
    person_id: str,
    db: Db,
    user: Carer,
    setting: Settings_ = [],  # noqa: B006
    date_from: From_ = None,
    date_to: To_ = None,
) -> Response:
    """The timeline (with the page's filters) as CSV: an export, audited."""
    chosen = _timeline_filter(setting, date_from, date_to)
    allowed = _allowed_rows(request, db, user, person_id, "csv")
    if allowed is None:
        raise HTTPException(404, NOT_FOUND)
    rows, decision = allowed
    record = _record(rows, current_time(request.app).date())
    entries = filter_timeline(record.timeline, chosen)
    _audit_view(
        db,
        user,
        person_id,
        decision,
        "csv",
        action="record.export",
        rows=len(entries),
        filter=filter_query(chosen),
    )
    return csv_response(
        f"record-{person_id}-timeline.csv",
        TIMELINE_CSV_COLUMNS,
        timeline_csv_rows(entries, organisation_names(db)),
    )


def _given(**values: str | None) -> dict[str, str]:
    """The search parameters given (FHIR names)."""
    return {k: v for k, v in values.items() if v is not None}


# The JSON search's parameters, by the FHIR search's names for them.
_JSON_SEARCH_NAMES = {
    "identifier": "nhs_number",
    "family": "family_name",
    "given": "given_name",
    "birthdate": "date_of_birth",
}


@router.get("/api/v1/records", tags=["records"])
def records_search_api(
    request: Request,
    db: Db,
    user: Carer,
    nhs_number: SearchParam = None,
    family_name: SearchParam = None,
    given_name: SearchParam = None,
    date_of_birth: SearchParam = None,
) -> JSONResponse:
    """Find people by ``nhs_number``, or by ``family_name`` and ``date_of_birth``
    (YYYY-MM-DD; ``given_name``'s first letters narrow it), as the page does: only people
    you have a care relationship with are listed, each with the basis. Audited."""
    params = _given(identifier=nhs_number, family=family_name, given=given_name)
    params |= _given(birthdate=date_of_birth)
    try:
        candidates = _api_candidates(request, params, _JSON_SEARCH_NAMES)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    results = [
        search_json(rows.person or {}, rows.person_id, decision)
        for rows, decision in _visible(request, db, user, candidates)
    ]
    _audit_search(db, user, "api", urlencode(params), [r["person_id"] for r in results])
    return JSONResponse({"results": results})


@router.get("/api/v1/records/{person_id}", tags=["records"])
def record_api(request: Request, person_id: str, db: Db, user: Carer) -> JSONResponse:
    """One person's joined-up record as JSON (404 unless you have a care relationship)."""
    allowed = _allowed_rows(request, db, user, person_id, "json")
    if allowed is None:
        raise HTTPException(404, NOT_FOUND)
    rows, decision = allowed
    record = _record(rows, current_time(request.app).date())
    _audit_view(db, user, person_id, decision, "json")
    return JSONResponse(
        record_json(
            record,
            basis=decision.basis.value if decision.basis else "",
            break_glass_expires_at=decision.break_glass_expires_at,
        )
    )


def _fhir_error(code: str, diagnostics: str, status_code: int) -> JSONResponse:
    return JSONResponse(
        operation_outcome(code, diagnostics), status_code=status_code, media_type=FHIR_CONTENT_TYPE
    )


@router.get("/fhir/Patient", tags=["fhir"])
def fhir_patient_search(
    request: Request,
    db: Db,
    user: Carer,
    identifier: SearchParam = None,
    family: SearchParam = None,
    given: SearchParam = None,
    birthdate: SearchParam = None,
) -> Response:
    """FHIR R4 Patient search by ``identifier`` (an NHS number) or by ``family`` and
    ``birthdate`` (``given`` narrows it): a searchset Bundle of the people you have a care
    relationship with; anyone else is left out as if they did not exist. Audited."""
    params = _given(identifier=identifier, family=family, given=given, birthdate=birthdate)
    now = current_time(request.app)
    try:
        candidates = _api_candidates(request, params)
    except ValueError as exc:
        code = "too-costly" if isinstance(exc, _TooMany) else "invalid"
        return _fhir_error(code, str(exc), 400)
    names = organisation_names(db)
    patients = [
        patient_resource(_record(rows, now.date()), names)
        for rows, _ in _visible(request, db, user, candidates, whole=True)
    ]
    _audit_search(db, user, "fhir_patient", urlencode(params), [p["id"] for p in patients])
    bundle = patient_searchset(
        patients,
        base_url=str(request.base_url).rstrip("/") + "/fhir",
        query=urlencode(params),
        timestamp=now,
    )
    return JSONResponse(bundle, media_type=FHIR_CONTENT_TYPE)


class _TooMany(ValueError):
    """More people match a search by details than are looked at one by one."""


def _api_candidates(
    request: Request, params: dict[str, str], labels: dict[str, str] | None = None
) -> list[str]:
    """The people an API search (FHIR parameter names; ``labels``: the names its errors
    use) matches, before anyone's access is checked; ValueError (:class:`_TooMany`)
    saying what is wrong with it."""
    today = current_time(request.app).astimezone(UK_TIME).date()
    query = patient_query(params, today=today, labels=labels)
    if query.nobody:
        return []
    reader = _reader(request)
    sets = []
    if query.nhs_number:
        sets.append(set(reader.persons_with_nhs_number(query.nhs_number)))
    if query.details:
        d = query.details
        found = reader.persons_with_details(d.family_name, d.date_of_birth, d.given_name)
        if len(found) > DETAILS_LIMIT:
            raise _TooMany(
                f"more than {DETAILS_LIMIT} people match: add given, or search by identifier"
            )
        sets.append(set(found))
    return sorted(set.intersection(*sets))


@router.get("/fhir/Patient/{person_id}", tags=["fhir"])
def fhir_patient_read(request: Request, person_id: str, db: Db, user: Carer) -> Response:
    """FHIR R4 Patient read: the person's demographics (404 unless you have a care
    relationship, the same as for nobody). Audited as a view."""
    allowed = _allowed_rows(request, db, user, person_id, "fhir_patient")
    if allowed is None:
        return _fhir_error("not-found", NOT_FOUND, 404)
    rows, decision = allowed
    record = _record(rows, current_time(request.app).date())
    _audit_view(db, user, person_id, decision, "fhir_patient")
    return JSONResponse(
        patient_resource(record, organisation_names(db)), media_type=FHIR_CONTENT_TYPE
    )


@router.get("/fhir/Patient/{person_id}/$everything", tags=["fhir"])
def fhir_everything(request: Request, person_id: str, db: Db, user: Carer) -> Response:
    """FHIR R4 ``Patient/$everything``: a searchset Bundle of the person's record."""
    allowed = _allowed_rows(request, db, user, person_id, "fhir")
    if allowed is None:
        return _fhir_error("not-found", NOT_FOUND, 404)
    rows, decision = allowed
    now = current_time(request.app)
    record = _record(rows, now.date())
    _audit_view(db, user, person_id, decision, "fhir")
    base = str(request.base_url).rstrip("/") + "/fhir"
    bundle = everything_bundle(
        record, base_url=base, timestamp=now, org_names=organisation_names(db)
    )
    return JSONResponse(bundle, media_type=FHIR_CONTENT_TYPE)


# -------------------------------------------------------------- pseudonymised (analysts)


def _pseudonymised(
    request: Request, db: Session, user: CurrentUser, pseudonym: str, view: str
) -> PseudonymisedRecord | None:
    settings = request.app.state.settings
    key = pseudonym_key(settings)
    reader = _reader(request)
    person_id = person_for_pseudonym(reader, pseudonym, key)
    rows = reader.record_rows(person_id) if person_id else None
    excluded = False
    if rows is not None and rows.person is not None:
        numbers = {rows.person.get("nhs_number")} | {
            r.get("nhs_number") for r in rows.rows("source_record")
        }
        excluded = any(is_opted_out(db, n) for n in numbers if n)
    if rows is None or rows.person is None or excluded:
        audit.append(
            db,
            actor=user.username,
            action="record.view_pseudonymised_refused",
            object_type="pseudonym",
            object_id=pseudonym[:200] or "-",
            detail={"view": view},
        )
        db.commit()
        return None
    now = current_time(request.app)
    record = _record(rows, now.date())
    audit.append(
        db,
        actor=user.username,
        action="record.view_pseudonymised",
        object_type="pseudonym",
        object_id=pseudonym,
        detail={"view": view},
    )
    db.commit()
    assert person_id is not None
    return pseudonymise_record(record, pseudonymise(person_id, key))


@router.get(
    "/pseudonymised/records/{pseudonym}", response_class=HTMLResponse, include_in_schema=False
)
def pseudonymised_page(request: Request, pseudonym: str, db: Db, user: Analyst) -> Response:
    """A pseudonymised record for analysts: no identifiers, year of birth only."""
    record = _pseudonymised(request, db, user, pseudonym, "page")
    if record is None:
        raise HTTPException(404, NOT_FOUND)
    names = organisation_names(db)
    return render(
        request,
        "recordview/pseudonymised.html",
        PageMeta(
            f"Pseudonymised record {record.pseudonym}",
            breadcrumbs=(HOME, Crumb(f"Record {record.pseudonym}", "")),
        ),
        data_as_at=last_success(db, LINKED_STEP),
        record=record,
        timeline=timeline_rows(record.timeline[:TIMELINE_PAGE_ROWS], names),
        timeline_total=len(record.timeline),
        observations=observation_rows(record.latest_observations),
        care_packages=care_package_rows(record.care_packages, names),
    )


@router.get("/api/v1/pseudonymised/records/{pseudonym}", tags=["records"])
def pseudonymised_api(request: Request, pseudonym: str, db: Db, user: Analyst) -> JSONResponse:
    """A pseudonymised record as JSON (404 for unknown pseudonyms and opted-out people)."""
    record = _pseudonymised(request, db, user, pseudonym, "json")
    if record is None:
        raise HTTPException(404, NOT_FOUND)
    return JSONResponse(pseudonymised_json(record))
