"""Assemble the joined-up record of one person from their linked-lake rows.

Pure functions over plain data: the rows come in as mappings (as :mod:`.queries` reads
them, or as a test writes them), a typed :class:`JoinedRecord` comes out. No database,
no lake, no web.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from wholesystem.record.terms import term

__all__ = [
    "DEMOGRAPHIC_FIELDS",
    "SETTINGS",
    "SETTING_LABELS",
    "Allergy",
    "CarePackage",
    "ConditionRecord",
    "Demographic",
    "Demographics",
    "JoinedRecord",
    "LatestObservation",
    "MedicationLine",
    "MedicationRecord",
    "ObservationRecord",
    "Problem",
    "PseudonymisedRecord",
    "Registration",
    "SourceIdentity",
    "SourcedValue",
    "TimelineEntry",
    "TimelineFilter",
    "assemble",
    "filter_timeline",
    "pseudonymise_record",
]

Row = Mapping[str, Any]

# The settings of the timeline, in the order filters list them.
SETTINGS: tuple[str, ...] = (
    "gp",
    "ae",
    "inpatient",
    "outpatient",
    "community",
    "mental_health",
    "social_care",
    "death",
)
SETTING_LABELS: dict[str, str] = {
    "gp": "GP",
    "ae": "A&E",
    "inpatient": "Hospital admission",
    "outpatient": "Outpatients",
    "community": "Community",
    "mental_health": "Mental health",
    "social_care": "Social care",
    "death": "Death",
}
# Settings where an event with no end is still open (the person is under that team's care).
_OPEN_SETTINGS = frozenset({"inpatient", "community", "mental_health"})

# Identity fields compared across partners, with their labels.
DEMOGRAPHIC_FIELDS: tuple[tuple[str, str], ...] = (
    ("nhs_number", "NHS number"),
    ("given_name", "Given name"),
    ("family_name", "Family name"),
    ("date_of_birth", "Date of birth"),
    ("sex", "Sex"),
    ("postcode", "Postcode"),
)


# ------------------------------------------------------------------------------ types


@dataclass(frozen=True)
class SourcedValue:
    """One value of an identity field and the partner records that hold it."""

    value: str
    holders: tuple[tuple[str, str], ...]  # (partner code, dataset), sorted

    @property
    def sources(self) -> tuple[str, ...]:
        """``"RA1 (apc)"`` for each holder."""
        return tuple(_label(source, dataset) for source, dataset in self.holders)


@dataclass(frozen=True)
class Demographic:
    """An identity field: the person index's value and every partner's values."""

    field: str
    label: str
    value: str | None  # the person index's (best) value
    values: tuple[SourcedValue, ...]  # each distinct value partners recorded, commonest first

    @property
    def conflicting(self) -> bool:
        """Partners recorded more than one different value."""
        return len(self.values) > 1


@dataclass(frozen=True)
class SourceIdentity:
    """One partner's identity record of the person."""

    record_id: str
    source: str
    dataset: str
    local_patient_id: str | None
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    postcode: str | None


@dataclass(frozen=True)
class Demographics:
    person_id: str
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    postcode: str | None
    ethnicity: str | None
    date_of_death: date | None
    practice_code: str | None
    registration_date: date | None
    sources: tuple[str, ...]
    fields: tuple[Demographic, ...]
    identities: tuple[SourceIdentity, ...]

    @property
    def conflicts(self) -> tuple[Demographic, ...]:
        return tuple(f for f in self.fields if f.conflicting)

    @property
    def name(self) -> str:
        parts = [p for p in (self.given_name, (self.family_name or "").upper() or None) if p]
        return " ".join(parts) if parts else "Name not recorded"


@dataclass(frozen=True)
class Registration:
    practice_code: str
    registration_date: date | None
    deregistration_date: date | None
    current: bool
    record_id: str | None


@dataclass(frozen=True)
class TimelineEntry:
    """One contact, attendance, spell, appointment, care episode or death."""

    event_id: str | None
    record_id: str | None
    setting: str
    source: str
    dataset: str
    start: datetime | None
    end: datetime | None
    start_date: date | None
    end_date: date | None
    code: str | None
    code_system: str | None
    display: str | None
    codes: tuple[str, ...]
    diagnoses: tuple[str, ...]
    """ICD-10, a spell's primary diagnosis first; empty for other settings."""
    procedures: tuple[str, ...]
    """OPCS-4, a spell's procedures."""
    emergency: bool | None
    admission_method: str | None
    discharge_destination: str | None
    acuity: str | None
    attended: bool | None
    first_attendance: bool | None
    inpatient: bool | None
    out_of_area: bool | None
    service_type: str | None
    contact_type: str | None
    cost: Decimal | None

    @property
    def setting_label(self) -> str:
        return SETTING_LABELS.get(self.setting, self.setting)

    @property
    def day(self) -> date | None:
        """The day it started."""
        if self.start_date is not None:
            return self.start_date
        return self.start.date() if self.start is not None else None

    @property
    def last_day(self) -> date | None:
        if self.end_date is not None:
            return self.end_date
        return self.end.date() if self.end is not None else None

    @property
    def is_open(self) -> bool:
        """Still open: an admission or community/mental-health episode with no end."""
        return self.setting in _OPEN_SETTINGS and self.end is None and self.end_date is None


@dataclass(frozen=True)
class ConditionRecord:
    record_id: str | None
    source: str
    dataset: str
    code: str
    code_system: str | None
    display: str | None
    onset_date: date | None


@dataclass(frozen=True)
class Problem:
    """A condition as a problem list shows it: one line per code, from every partner."""

    code: str
    code_system: str | None
    display: str | None
    onset_date: date | None  # the earliest any partner recorded
    last_recorded: date | None
    sources: tuple[str, ...]  # "RA1 (apc)" for each holder
    records: int
    holders: tuple[tuple[str, str], ...] = ()  # (partner code, dataset), sorted


@dataclass(frozen=True)
class MedicationRecord:
    record_id: str | None
    source: str
    dataset: str
    code: str
    code_system: str | None
    display: str | None
    date: date | None


@dataclass(frozen=True)
class MedicationLine:
    """A medicine: first and latest dates, how many times it was recorded, by whom."""

    code: str
    code_system: str | None
    display: str | None
    first_date: date | None
    last_date: date | None
    issues: int
    sources: tuple[str, ...]  # "RA1 (apc)" for each holder
    holders: tuple[tuple[str, str], ...] = ()  # (partner code, dataset), sorted


@dataclass(frozen=True)
class Allergy:
    record_id: str | None
    source: str
    dataset: str
    code: str
    code_system: str | None
    display: str | None
    recorded_date: date | None
    clinical_status: str | None


@dataclass(frozen=True)
class ObservationRecord:
    record_id: str | None
    source: str
    dataset: str
    code: str
    code_system: str | None
    display: str | None
    value: Decimal | None
    unit: str | None
    observed_date: date | None


@dataclass(frozen=True)
class LatestObservation:
    """The latest value of one observation code, and how many were recorded."""

    latest: ObservationRecord
    count: int
    previous: ObservationRecord | None

    @property
    def code(self) -> str:
        return self.latest.code


@dataclass(frozen=True)
class CarePackage:
    record_id: str | None
    source: str
    service_type: str | None
    request_date: date | None
    start_date: date | None
    end_date: date | None
    weekly_cost: Decimal | None
    status: str  # requested, active or ended (as at the record's ``today``)


@dataclass(frozen=True)
class JoinedRecord:
    """Everything every partner holds about one person, joined up."""

    person_id: str
    today: date
    demographics: Demographics
    registrations: tuple[Registration, ...]
    timeline: tuple[TimelineEntry, ...]  # newest first
    conditions: tuple[ConditionRecord, ...]
    problems: tuple[Problem, ...]
    medication_records: tuple[MedicationRecord, ...]
    medications: tuple[MedicationLine, ...]
    allergies: tuple[Allergy, ...]
    observations: tuple[ObservationRecord, ...]
    latest_observations: tuple[LatestObservation, ...]
    care_packages: tuple[CarePackage, ...]

    @property
    def open_episodes(self) -> tuple[TimelineEntry, ...]:
        return tuple(e for e in self.timeline if e.is_open)

    @property
    def current_registration(self) -> Registration | None:
        current = [r for r in self.registrations if r.current]
        return current[0] if current else None


@dataclass(frozen=True)
class TimelineFilter:
    """Which timeline entries to show: settings (none = all) and an inclusive date range."""

    settings: frozenset[str] = field(default_factory=frozenset)
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.settings) or self.date_from is not None or self.date_to is not None


@dataclass(frozen=True)
class PseudonymisedRecord:
    """The record as an analyst sees it: no names, NHS number, postcode or local ids,
    year of birth only, and the person id replaced by a pseudonym."""

    pseudonym: str
    year_of_birth: int | None
    sex: str | None
    ethnicity: str | None
    date_of_death: date | None
    practice_code: str | None
    timeline: tuple[TimelineEntry, ...]
    problems: tuple[Problem, ...]
    medications: tuple[MedicationLine, ...]
    allergies: tuple[Allergy, ...]
    latest_observations: tuple[LatestObservation, ...]
    care_packages: tuple[CarePackage, ...]


# --------------------------------------------------------------------------- helpers


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _req(value: Any, default: str = "") -> str:
    return _text(value) or default


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _codes(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(c) for c in value if c)


def _label(source: str, dataset: str) -> str:
    return f"{source} ({dataset})" if dataset else source


_SPACE = re.compile(r"\s+")


def _normalised(field_name: str, value: str) -> str:
    """The form two partners' values are compared in (case, spacing, punctuation)."""
    if field_name in ("nhs_number", "postcode"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if field_name in ("given_name", "family_name"):
        return _SPACE.sub(" ", value).strip().casefold()
    return value.strip().upper()


def _field_text(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


def _demographic(
    field_name: str, label: str, index_value: Any, identities: Sequence[SourceIdentity]
) -> Demographic:
    shown: dict[str, str] = {}  # normalised -> first spelling seen
    holders: dict[str, set[tuple[str, str]]] = {}
    for ident in identities:
        raw = _field_text(getattr(ident, field_name))
        if raw is None:
            continue
        key = _normalised(field_name, raw)
        shown.setdefault(key, raw)
        holders.setdefault(key, set()).add((ident.source, ident.dataset))
    values = sorted(
        (SourcedValue(shown[k], tuple(sorted(holders[k]))) for k in shown),
        key=lambda v: (-len(v.holders), v.value),
    )
    return Demographic(field_name, label, _field_text(index_value), tuple(values))


def _identity(row: Row) -> SourceIdentity:
    return SourceIdentity(
        record_id=_req(row.get("record_id")),
        source=_req(row.get("source")),
        dataset=_req(row.get("dataset")),
        local_patient_id=_text(row.get("local_patient_id")),
        nhs_number=_text(row.get("nhs_number")),
        given_name=_text(row.get("given_name")),
        family_name=_text(row.get("family_name")),
        date_of_birth=_date(row.get("date_of_birth")),
        sex=_text(row.get("sex")),
        postcode=_text(row.get("postcode")),
    )


def _demographics(person_id: str, person: Row, source_rows: Iterable[Row]) -> Demographics:
    identities = tuple(
        sorted(
            (_identity(r) for r in source_rows), key=lambda i: (i.source, i.dataset, i.record_id)
        )
    )
    fields = tuple(
        _demographic(name, label, person.get(name), identities)
        for name, label in DEMOGRAPHIC_FIELDS
    )
    return Demographics(
        person_id=person_id,
        nhs_number=_text(person.get("nhs_number")),
        given_name=_text(person.get("given_name")),
        family_name=_text(person.get("family_name")),
        date_of_birth=_date(person.get("date_of_birth")),
        sex=_text(person.get("sex")),
        postcode=_text(person.get("postcode")),
        ethnicity=_text(person.get("ethnicity")),
        date_of_death=_date(person.get("date_of_death")),
        practice_code=_text(person.get("practice_code")),
        registration_date=_date(person.get("registration_date")),
        sources=tuple(sorted({str(s) for s in (person.get("sources") or []) if s})),
        fields=fields,
        identities=identities,
    )


def _entry(row: Row) -> TimelineEntry:
    return TimelineEntry(
        event_id=_text(row.get("event_id")),
        record_id=_text(row.get("record_id")),
        setting=_req(row.get("setting"), "unknown"),
        source=_req(row.get("source")),
        dataset=_req(row.get("dataset")),
        start=_datetime(row.get("start_time")),
        end=_datetime(row.get("end_time")),
        start_date=_date(row.get("start_date")),
        end_date=_date(row.get("end_date")),
        code=_text(row.get("code")),
        code_system=_text(row.get("code_system")),
        display=_display(row),
        codes=_codes(row.get("codes")),
        diagnoses=_codes(row.get("diagnoses")),
        procedures=_codes(row.get("procedures")),
        emergency=_bool(row.get("emergency")),
        admission_method=_text(row.get("admission_method")),
        discharge_destination=_text(row.get("discharge_destination")),
        acuity=_text(row.get("acuity")),
        attended=_bool(row.get("attended")),
        first_attendance=_bool(row.get("first_attendance")),
        inpatient=_bool(row.get("inpatient")),
        out_of_area=_bool(row.get("out_of_area")),
        service_type=_text(row.get("service_type")),
        contact_type=_text(row.get("contact_type")),
        cost=_decimal(row.get("cost")),
    )


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _newest_first(entry: TimelineEntry) -> tuple[int, datetime, str]:
    moment = entry.start
    if moment is None and entry.start_date is not None:
        moment = datetime.combine(entry.start_date, time(), tzinfo=UTC)
    # Undated entries go last; ties are broken by id so the order is stable.
    return (0 if moment is not None else 1, moment or _EARLIEST, entry.event_id or "")


def _sort_timeline(entries: Iterable[TimelineEntry]) -> tuple[TimelineEntry, ...]:
    # Newest first: sort by id ascending, then stably by (dated, moment) descending.
    by_id = sorted(entries, key=lambda e: e.event_id or "")
    dated = [e for e in by_id if _newest_first(e)[0] == 0]
    undated = [e for e in by_id if _newest_first(e)[0] == 1]
    dated.sort(key=lambda e: _newest_first(e)[1], reverse=True)
    return tuple(dated + undated)


def _sources_of(labels: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(labels)))


def _holders_of(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(set(pairs)))


def _problems(conditions: Sequence[ConditionRecord]) -> tuple[Problem, ...]:
    groups: dict[tuple[str | None, str], list[ConditionRecord]] = {}
    for c in conditions:
        groups.setdefault((c.code_system, c.code), []).append(c)
    problems = []
    for (system, code), items in groups.items():
        dates = [c.onset_date for c in items if c.onset_date is not None]
        display = next((c.display for c in items if c.display), None)
        problems.append(
            Problem(
                code=code,
                code_system=system,
                display=display,
                onset_date=min(dates) if dates else None,
                last_recorded=max(dates) if dates else None,
                sources=_sources_of(_label(c.source, c.dataset) for c in items),
                records=len(items),
                holders=_holders_of((c.source, c.dataset) for c in items),
            )
        )
    # Most recently first recorded first; undated last; then by name for stability.
    problems.sort(key=lambda p: (p.display or p.code).casefold())
    problems.sort(key=lambda p: p.onset_date or date.min, reverse=True)
    return tuple(problems)


def _medications(records: Sequence[MedicationRecord]) -> tuple[MedicationLine, ...]:
    groups: dict[tuple[str | None, str], list[MedicationRecord]] = {}
    for m in records:
        groups.setdefault((m.code_system, m.code), []).append(m)
    lines = []
    for (system, code), items in groups.items():
        dates = [m.date for m in items if m.date is not None]
        lines.append(
            MedicationLine(
                code=code,
                code_system=system,
                display=next((m.display for m in items if m.display), None),
                first_date=min(dates) if dates else None,
                last_date=max(dates) if dates else None,
                issues=len(items),
                sources=_sources_of(_label(m.source, m.dataset) for m in items),
                holders=_holders_of((m.source, m.dataset) for m in items),
            )
        )
    lines.sort(key=lambda m: (m.display or m.code).casefold())
    lines.sort(key=lambda m: m.last_date or date.min, reverse=True)
    return tuple(lines)


def _latest_observations(records: Sequence[ObservationRecord]) -> tuple[LatestObservation, ...]:
    groups: dict[tuple[str | None, str], list[ObservationRecord]] = {}
    for o in records:
        groups.setdefault((o.code_system, o.code), []).append(o)
    latest = []
    for items in groups.values():
        ordered = sorted(
            items,
            key=lambda o: (o.observed_date or date.min, o.record_id or "", str(o.value)),
            reverse=True,
        )
        latest.append(
            LatestObservation(
                latest=ordered[0],
                count=len(items),
                previous=ordered[1] if len(ordered) > 1 else None,
            )
        )
    latest.sort(key=lambda o: (o.latest.display or o.latest.code).casefold())
    return tuple(latest)


def _package_status(start: date | None, end: date | None, today: date) -> str:
    if start is None or start > today:
        return "requested"
    if end is not None and end < today:
        return "ended"
    return "active"


def _care_package(row: Row, today: date) -> CarePackage:
    start, end = _date(row.get("start_date")), _date(row.get("end_date"))
    return CarePackage(
        record_id=_text(row.get("record_id")),
        source=_req(row.get("source")),
        service_type=_text(row.get("service_type")),
        request_date=_date(row.get("request_date")),
        start_date=start,
        end_date=end,
        weekly_cost=_decimal(row.get("weekly_cost")),
        status=_package_status(start, end, today),
    )


def _registration(row: Row, today: date) -> Registration:
    start, end = _date(row.get("registration_date")), _date(row.get("deregistration_date"))
    return Registration(
        practice_code=_req(row.get("practice_code")),
        registration_date=start,
        deregistration_date=end,
        current=(start is None or start <= today) and (end is None or end > today),
        record_id=_text(row.get("record_id")),
    )


def _display(row: Row) -> str | None:
    """The row's text, else its code's term (a lake built before terms were kept)."""
    return _text(row.get("display")) or term(_text(row.get("code_system")), _text(row.get("code")))


def _coded_fields(row: Row) -> dict[str, Any]:
    """What every coded entry holds: which partner recorded which code."""
    return {
        "record_id": _text(row.get("record_id")),
        "source": _req(row.get("source")),
        "dataset": _req(row.get("dataset")),
        "code": _req(row.get("code")),
        "code_system": _text(row.get("code_system")),
        "display": _display(row),
    }


_T = TypeVar("_T")


def _latest_first(entries: Iterable[_T], key: Callable[[_T], tuple[date, str]]) -> tuple[_T, ...]:
    return tuple(sorted(entries, key=key, reverse=True))


# ------------------------------------------------------------------------ the record


def assemble(
    person_id: str,
    person: Row,
    tables: Mapping[str, Sequence[Row]],
    *,
    today: date,
) -> JoinedRecord:
    """The joined-up record of ``person_id`` from its ``person`` row and other tables' rows.

    ``tables`` maps a linked-lake table name (``source_record``, ``registration``,
    ``event``, ``condition``, ``observation``, ``medication``, ``allergy``,
    ``care_package``) to that person's rows; absent tables count as empty.
    """

    def rows(name: str) -> Sequence[Row]:
        return tables.get(name, ())

    def coded(name: str) -> list[Row]:
        return [r for r in rows(name) if _text(r.get("code"))]

    conditions = tuple(
        ConditionRecord(**_coded_fields(r), onset_date=_date(r.get("onset_date")))
        for r in coded("condition")
    )
    medication_records = _latest_first(
        (
            MedicationRecord(**_coded_fields(r), date=_date(r.get("date")))
            for r in coded("medication")
        ),
        lambda m: (m.date or date.min, m.code),
    )
    observations = _latest_first(
        (
            ObservationRecord(
                **_coded_fields(r),
                value=_decimal(r.get("value")),
                unit=_text(r.get("unit")),
                observed_date=_date(r.get("observed_date")),
            )
            for r in coded("observation")
        ),
        lambda o: (o.observed_date or date.min, o.code),
    )
    allergies = _latest_first(
        (
            Allergy(
                **_coded_fields(r),
                recorded_date=_date(r.get("recorded_date")),
                clinical_status=_text(r.get("clinical_status")),
            )
            for r in coded("allergy")
        ),
        lambda a: (a.recorded_date or date.min, a.code),
    )
    packages = sorted(
        (_care_package(r, today) for r in rows("care_package")),
        key=lambda p: (p.start_date or p.request_date or date.min, p.service_type or ""),
        reverse=True,
    )
    registrations = sorted(
        (_registration(r, today) for r in rows("registration") if _text(r.get("practice_code"))),
        key=lambda r: (r.registration_date or date.min, r.practice_code),
        reverse=True,
    )
    return JoinedRecord(
        person_id=person_id,
        today=today,
        demographics=_demographics(person_id, person, rows("source_record")),
        registrations=tuple(registrations),
        timeline=_sort_timeline(_entry(r) for r in rows("event")),
        conditions=conditions,
        problems=_problems(conditions),
        medication_records=medication_records,
        medications=_medications(medication_records),
        allergies=allergies,
        observations=observations,
        latest_observations=_latest_observations(observations),
        care_packages=tuple(packages),
    )


def filter_timeline(
    entries: Sequence[TimelineEntry], chosen: TimelineFilter
) -> tuple[TimelineEntry, ...]:
    """The entries in ``chosen`` settings whose span meets the inclusive date range.

    An entry spans its first to its last day; an open episode runs on to today, so an
    admission that began before ``date_from`` and has not ended is shown.
    """
    kept = []
    for entry in entries:
        if chosen.settings and entry.setting not in chosen.settings:
            continue
        first = entry.day
        if chosen.date_from is not None or chosen.date_to is not None:
            if first is None:
                continue
            last = entry.last_day or (date.max if entry.is_open else first)
            if chosen.date_to is not None and first > chosen.date_to:
                continue
            if chosen.date_from is not None and last < chosen.date_from:
                continue
        kept.append(entry)
    return tuple(kept)


def _strip_ids(entry: TimelineEntry) -> TimelineEntry:
    return replace(entry, event_id=None, record_id=None)


def pseudonymise_record(record: JoinedRecord, pseudonym: str) -> PseudonymisedRecord:
    """``record`` for secondary use: identifiers removed, date of birth to the year.

    Dates of care (and of death) are kept: analysts need them, and they are not
    identifiers on their own; names, NHS numbers, postcodes, partners' local patient
    ids, record and event ids go.
    """
    demo = record.demographics
    return PseudonymisedRecord(
        pseudonym=pseudonym,
        year_of_birth=demo.date_of_birth.year if demo.date_of_birth else None,
        sex=demo.sex,
        ethnicity=demo.ethnicity,
        date_of_death=demo.date_of_death,
        practice_code=demo.practice_code,
        timeline=tuple(_strip_ids(e) for e in record.timeline),
        problems=record.problems,
        medications=record.medications,
        allergies=tuple(replace(a, record_id=None) for a in record.allergies),
        latest_observations=tuple(
            LatestObservation(
                latest=replace(o.latest, record_id=None),
                count=o.count,
                previous=replace(o.previous, record_id=None) if o.previous else None,
            )
            for o in record.latest_observations
        ),
        care_packages=tuple(replace(p, record_id=None) for p in record.care_packages),
    )
