"""What the record pages, CSV and JSON show: plain rows from a :class:`JoinedRecord`.

Pure functions; the templates only loop over what these return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from wholesystem.access.relationships import AccessDecision
from wholesystem.record.presenters import partner_label
from wholesystem.record.schemas import DATASETS
from wholesystem.record.terms import (
    discharge_system,
    named_code,
    named_codes,
    service_words,
    system_name,
    worded,
)
from wholesystem.record.view.assemble import (
    SETTING_LABELS,
    SETTINGS,
    Allergy,
    CarePackage,
    Demographics,
    JoinedRecord,
    LatestObservation,
    MedicationLine,
    Problem,
    PseudonymisedRecord,
    Registration,
    TimelineEntry,
    TimelineFilter,
)
from wholesystem.record.view.search import DATE_PARTS, FieldError
from wholesystem.times import UK_TIME, in_uk

__all__ = [
    "TIMELINE_CSV_COLUMNS",
    "UK_TIME",
    "allergy_rows",
    "care_package_rows",
    "current_registration",
    "demographic_rows",
    "details_form",
    "filter_query",
    "format_date",
    "format_moment",
    "format_nhs_number",
    "held_by",
    "identity_rows",
    "medication_rows",
    "observation_rows",
    "problem_rows",
    "pseudonymised_json",
    "record_json",
    "recorded_by",
    "registration_rows",
    "search_json",
    "setting_items",
    "timeline_csv_rows",
    "timeline_rows",
]

TIMELINE_CSV_COLUMNS = (
    "start",
    "end",
    "setting",
    "partner",
    "partner_name",
    "dataset",
    "code",
    "code_system",
    "description",
    "codes",
    "service_type",
    "contact_type",
    "emergency",
    "admission_method",
    "discharge_destination",
    "acuity",
    "attended",
    "first_attendance",
    "inpatient",
    "out_of_area",
    "open",
    "cost",
    "event_id",
)


def format_date(value: date | None) -> str:
    """'3 Mar 2024', or an empty string."""
    return value.strftime("%-d %b %Y") if value is not None else ""


def format_moment(moment: datetime | None, day: date | None = None) -> str:
    """'3 Mar 2024 14:05' in UK time when a time is known; the day alone for midnight.

    The lake keeps instants (see docs/lake.md): an extract that sends only a date has
    its rows at midnight UK time, which is 23:00 UTC the day before in summer. Care teams
    read UK time, so the moment is shown there, and a UK midnight (a date without a time)
    as its day. A moment without a zone is taken as UTC.
    """
    if moment is not None:
        local = in_uk(moment)
        if local.time() == time(0):
            return format_date(local.date())
        return local.strftime("%-d %b %Y %H:%M")
    return format_date(day)


def format_nhs_number(value: str | None) -> str:
    """'943 476 5919' (NHS.UK style) for a 10-digit number; other values as they are."""
    if not value:
        return ""
    digits = value.replace(" ", "")
    if len(digits) == 10 and digits.isdigit():
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return value


def _partner(code: str, dataset: str, names: Mapping[str, str]) -> str:
    """A partner by name; one the footprint does not name (a national register) by its
    code and the kind of partner that sends the dataset: 'X26 (death registry)'."""
    if code in names:
        return partner_label(code, names)
    ds = DATASETS.get(dataset)
    # The kind alone: 'GP practice (FHIR AllergyIntolerance)' says how it is sent, too.
    return f"{code} ({ds.held_by.partition(' (')[0]})" if ds else code


def held_by(sources: Sequence[str], names: Mapping[str, str]) -> str:
    """'Held by 2 partners: Hill Surgery (A00001), RA1.' (a code the footprint does not
    name, alone)."""
    plural = "" if len(sources) == 1 else "s"
    return (
        f"Held by {len(sources)} partner{plural}: "
        + ", ".join(partner_label(c, names) for c in sources)
        + "."
    )


def _money(value: Decimal | None) -> str:
    return f"£{value:,.2f}" if value is not None else ""


def _value(value: Decimal | None, unit: str | None) -> str:
    if value is None:
        return ""
    normal = value.normalize()
    text = f"{normal:f}" if normal == normal.to_integral_value() else str(normal)
    return f"{text} {unit}".strip() if unit else text


def _describe(code: str | None, system: str | None, display: str | None) -> str:
    if display and code:
        named = system_name(system)
        return f"{display} ({named + ' ' if named else ''}{code})"
    return display or code or ""


def _sex(value: str | None) -> str:
    return {"F": "Female", "M": "Male", "I": "Indeterminate", "U": "Unknown"}.get(
        (value or "").upper(), value or ""
    )


def _shown(field_name: str, value: str | None) -> str:
    if not value:
        return ""
    if field_name == "nhs_number":
        return format_nhs_number(value)
    if field_name == "date_of_birth":
        try:
            return format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if field_name == "sex":
        return _sex(value)
    return value


def demographic_rows(demo: Demographics, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Identity fields: the person index's value, and every partner's where they disagree."""
    rows: list[dict[str, Any]] = []
    for f in demo.fields:
        rows.append(
            {
                "label": f.label,
                "value": _shown(f.field, f.value) or "Not recorded",
                "conflicting": f.conflicting,
                "values": [
                    {
                        "value": _shown(f.field, v.value),
                        "sources": ", ".join(
                            f"{partner_label(source, names)}, {dataset}"
                            for source, dataset in v.holders
                        ),
                    }
                    for v in f.values
                ],
            }
        )
    rows.append(
        {
            "label": "Ethnic category",
            "value": demo.ethnicity or "Not recorded",
            "conflicting": False,
            "values": [],
        }
    )
    if demo.date_of_death:
        rows.append(
            {
                "label": "Date of death",
                "value": format_date(demo.date_of_death),
                "conflicting": False,
                "values": [],
            }
        )
    return rows


def identity_rows(demo: Demographics, names: Mapping[str, str]) -> list[dict[str, str]]:
    """Each partner's identity record of the person (who holds what)."""
    return [
        {
            "partner": partner_label(i.source, names),
            "dataset": i.dataset,
            "local_id": i.local_patient_id or "",
            "nhs_number": format_nhs_number(i.nhs_number),
            "name": " ".join(p for p in (i.given_name, i.family_name) if p),
            "date_of_birth": format_date(i.date_of_birth),
            "sex": _sex(i.sex),
            "postcode": i.postcode or "",
        }
        for i in demo.identities
    ]


def _timeline_detail(e: TimelineEntry) -> str:
    parts: list[str] = []
    if e.service_type:
        parts.append(service_words(e.dataset, e.service_type))
    if e.contact_type:
        parts.append(worded("contact_type", e.contact_type))
    if e.admission_method:
        parts.append(named_code("admission_method", e.admission_method))
    elif e.emergency:
        parts.append("emergency")
    if e.acuity:
        parts.append(f"acuity {e.acuity}")
    if e.attended is False:
        parts.append("did not attend")
    if e.first_attendance:
        parts.append("first appointment")
    if e.inpatient and e.contact_type != "inpatient":
        parts.append("inpatient")
    if e.out_of_area:
        parts.append("out of area")
    if e.discharge_destination:
        system = discharge_system(e.dataset)
        parts.append(f"discharge: {named_code(system, e.discharge_destination)}")
    return "; ".join(parts)


def _other_codes(e: TimelineEntry) -> str:
    """The codes beyond the main one, named: a spell's other diagnoses (ICD-10)."""
    if e.diagnoses or e.procedures:
        return named_codes("icd10", [c for c in e.diagnoses if c != e.code])
    return named_codes(e.code_system, [c for c in e.codes if c != e.code])


def timeline_rows(
    entries: Sequence[TimelineEntry], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "start": format_moment(e.start, e.start_date),
            "end": "open" if e.is_open else format_moment(e.end, e.end_date),
            "open": e.is_open,
            "setting": e.setting_label,
            "partner": _partner(e.source, e.dataset, names),
            "what": _describe(e.code, e.code_system, e.display),
            "other_codes": _other_codes(e),
            "procedures": named_codes("opcs4", e.procedures),
            "detail": _timeline_detail(e),
        }
        for e in entries
    ]


def _flag(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def timeline_csv_rows(
    entries: Sequence[TimelineEntry], names: Mapping[str, str]
) -> list[list[object]]:
    return [
        [
            (
                e.start.isoformat()
                if e.start
                else (e.start_date.isoformat() if e.start_date else "")
            ),
            (e.end.isoformat() if e.end else (e.end_date.isoformat() if e.end_date else "")),
            e.setting,
            e.source,
            names.get(e.source, ""),
            e.dataset,
            e.code,
            e.code_system,
            e.display,
            "|".join(e.codes),
            e.service_type,
            e.contact_type,
            _flag(e.emergency),
            e.admission_method,
            e.discharge_destination,
            e.acuity,
            _flag(e.attended),
            _flag(e.first_attendance),
            _flag(e.inpatient),
            _flag(e.out_of_area),
            _flag(e.is_open),
            e.cost,
            e.event_id,
        ]
        for e in entries
    ]


def _previous(o: LatestObservation) -> str:
    if o.previous is None:
        return ""
    when = format_date(o.previous.observed_date)
    return f"{_value(o.previous.value, o.previous.unit)} on {when}" if when else ""


def observation_rows(items: Sequence[LatestObservation]) -> list[dict[str, str]]:
    return [
        {
            "what": _describe(o.latest.code, o.latest.code_system, o.latest.display),
            "value": _value(o.latest.value, o.latest.unit) or "No value",
            "date": format_date(o.latest.observed_date),
            "previous": _previous(o),
            "count": str(o.count),
            "source": o.latest.source,
        }
        for o in items
    ]


def care_package_rows(
    items: Sequence[CarePackage], names: Mapping[str, str]
) -> list[dict[str, str]]:
    return [
        {
            "service": worded("social_care_service", p.service_type)
            if p.service_type
            else "Not recorded",
            "partner": partner_label(p.source, names),
            "requested": format_date(p.request_date),
            "start": format_date(p.start_date),
            "end": format_date(p.end_date),
            "status": p.status,
            "weekly_cost": _money(p.weekly_cost),
        }
        for p in items
    ]


def current_registration(
    current: Registration | None, names: Mapping[str, str]
) -> dict[str, str] | None:
    """The practice the person is registered with now, and since when."""
    if current is None:
        return None
    return {
        "practice": partner_label(current.practice_code, names),
        "since": format_date(current.registration_date),
    }


def registration_rows(
    items: Sequence[Registration], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "practice": partner_label(r.practice_code, names),
            "from": format_date(r.registration_date),
            "to": format_date(r.deregistration_date),
            "current": r.current,
        }
        for r in items
    ]


def _coded(code: str, system: str | None, display: str | None) -> dict[str, str]:
    """A coded item's display (its code when it has none), code and code system."""
    return {"display": display or code, "code": code, "system": system_name(system)}


def recorded_by(holders: Sequence[tuple[str, str]], names: Mapping[str, str]) -> str:
    """Who recorded an item: 'Hill Surgery (A00001), gp_events; RA1 (apc)' (a partner
    the footprint does not name by its code and the kind of partner that sends the
    dataset, as everywhere on the record)."""
    return "; ".join(f"{_partner(code, dataset, names)}, {dataset}" for code, dataset in holders)


def problem_rows(items: Sequence[Problem], names: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        _coded(p.code, p.code_system, p.display)
        | {"onset": format_date(p.onset_date), "sources": recorded_by(p.holders, names)}
        for p in items
    ]


def medication_rows(
    items: Sequence[MedicationLine], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [
        _coded(m.code, m.code_system, m.display)
        | {
            "first": format_date(m.first_date),
            "last": format_date(m.last_date),
            "issues": m.issues,
            "sources": recorded_by(m.holders, names),
        }
        for m in items
    ]


def allergy_rows(items: Sequence[Allergy], names: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        _coded(a.code, a.code_system, a.display)
        | {
            "recorded": format_date(a.recorded_date),
            "status": a.clinical_status or "",
            "source": recorded_by([(a.source, a.dataset)], names),
        }
        for a in items
    ]


def setting_items(chosen: TimelineFilter, counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """Checkbox items for the timeline's setting filter, with how many entries each has."""
    return [
        {
            "value": s,
            "text": f"{SETTING_LABELS[s]} ({counts.get(s, 0)})",
            "checked": s in chosen.settings,
        }
        for s in SETTINGS
    ]


def filter_query(chosen: TimelineFilter) -> str:
    """The filter as a query string ("?setting=gp&from=2024-01-01"), or ""."""
    pairs: list[tuple[str, str]] = [("setting", s) for s in SETTINGS if s in chosen.settings]
    if chosen.date_from:
        pairs.append(("from", chosen.date_from.isoformat()))
    if chosen.date_to:
        pairs.append(("to", chosen.date_to.isoformat()))
    return f"?{urlencode(pairs)}" if pairs else ""


# ---------------------------------------------------------------------------- JSON


def _json(value: Any) -> Any:
    """Plain JSON: dates ISO 8601, Decimals as strings (exact), tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {name: _json(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def record_json(
    record: JoinedRecord, *, basis: str, break_glass_expires_at: datetime | None
) -> dict[str, Any]:
    """The JSON API's answer: the whole record, with the access basis it was shown on."""
    demo = record.demographics
    return {
        "person_id": record.person_id,
        "access": {
            "basis": basis,
            "break_glass_expires_at": _json(break_glass_expires_at),
        },
        "demographics": {
            "nhs_number": demo.nhs_number,
            "given_name": demo.given_name,
            "family_name": demo.family_name,
            "date_of_birth": _json(demo.date_of_birth),
            "sex": demo.sex,
            "postcode": demo.postcode,
            "ethnicity": demo.ethnicity,
            "date_of_death": _json(demo.date_of_death),
            "practice_code": demo.practice_code,
            "registration_date": _json(demo.registration_date),
            "sources": list(demo.sources),
            "conflicts": [
                {
                    "field": f.field,
                    "values": [{"value": v.value, "sources": list(v.sources)} for v in f.values],
                }
                for f in demo.conflicts
            ],
        },
        "source_records": _json(demo.identities),
        "registrations": _json(record.registrations),
        "timeline": [
            {**_json(e), "setting_label": e.setting_label, "open": e.is_open}
            for e in record.timeline
        ],
        "problems": _json(record.problems),
        "medications": _json(record.medications),
        "allergies": _json(record.allergies),
        "latest_observations": [
            {**_json(o.latest), "count": o.count} for o in record.latest_observations
        ],
        "care_packages": _json(record.care_packages),
    }


def pseudonymised_json(record: PseudonymisedRecord) -> dict[str, Any]:
    """The analysts' JSON: :class:`PseudonymisedRecord` as it is (it holds no identifiers)."""
    data: dict[str, Any] = _json(record)
    data["latest_observations"] = [
        {**_json(o.latest), "count": o.count} for o in record.latest_observations
    ]
    return data


def details_form(values: Mapping[str, str], errors: Sequence[FieldError]) -> dict[str, Any]:
    """What the search-by-details form shows: the error summary's list, each name input's
    message, and the date input's message and parts (those in error marked)."""
    marked = {field for e in errors for field in e.marked}
    dob_error = next((e.text for e in errors if e.field in DATE_PARTS), None)
    return {
        "details_errors": [{"text": e.text, "href": f"#{e.field}"} for e in errors],
        "field_errors": {e.field: e.text for e in errors if e.field not in DATE_PARTS},
        "dob_error": dob_error,
        "dob_items": [
            {
                "id": part,
                "name": part,
                "label": part.removeprefix("dob-").capitalize(),
                "value": values.get(part, ""),
                "width": 4 if part == "dob-year" else 2,
                "classes": "nhsuk-input--error" if part in marked else "",
            }
            for part in DATE_PARTS
        ],
    }


def search_json(
    person: Mapping[str, Any], person_id: str, decision: AccessDecision
) -> dict[str, Any]:
    """One person an API search found, as JSON: who, and on what basis you may see them."""
    born = person.get("date_of_birth")
    return {
        "person_id": person_id,
        "nhs_number": person.get("nhs_number"),
        "given_name": person.get("given_name"),
        "family_name": person.get("family_name"),
        "date_of_birth": born.isoformat() if isinstance(born, date) else None,
        "practice_code": person.get("practice_code"),
        "basis": decision.basis.value if decision.basis else None,
        "break_glass_expires_at": decision.break_glass_expires_at.isoformat()
        if decision.break_glass_expires_at
        else None,
    }
