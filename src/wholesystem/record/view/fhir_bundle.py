"""The joined-up record as a FHIR R4 ``Bundle`` (``Patient/{id}/$everything``).

Pure: a :class:`~wholesystem.record.view.assemble.JoinedRecord` in, a JSON-ready dict out.

Mapping (docs/record.md):

* ``Patient``: the person index's demographics, the NHS number under the UK Core system
  ``https://fhir.nhs.uk/Id/nhs-number``, partners' local patient ids (assigner: the
  partner's ODS code), the registered practice as ``generalPractitioner``, the NHS
  ethnic category as the UK Core extension, and the date of death.
* ``Encounter``: every event except deaths (``Patient.deceasedDateTime``) and social care
  (below); class from the setting (v3 ActCode: GP, outpatients and community contacts
  AMB, A&E EMER, admissions IMP, mental health IMP when inpatient else AMB), status from
  the end (finished, or in-progress for an open admission/episode), the main code as
  ``reasonCode``, the partner as ``serviceProvider``.
* ``Condition``, ``Observation``, ``MedicationStatement``, ``AllergyIntolerance``: one per
  row the partners sent, with its code and the partner that recorded it.
* Adult social care services are ``EpisodeOfCare``: a period during which the local
  authority is responsible for providing a service (FHIR: "an association between a
  patient and an organization ... during which time encounters may occur"), with status
  planned/active/finished. A ``ServiceRequest`` would only say a service was asked for;
  the care package has a start, an end and a managing organisation, which is what
  EpisodeOfCare carries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wholesystem.record.terms import (
    SYSTEM_URIS,
    discharge_system,
    service_words,
    term,
    worded,
)
from wholesystem.record.view.assemble import (
    Allergy,
    CarePackage,
    ConditionRecord,
    JoinedRecord,
    MedicationRecord,
    ObservationRecord,
    TimelineEntry,
)

__all__ = [
    "CODE_SYSTEMS",
    "FHIR_CONTENT_TYPE",
    "NHS_NUMBER_SYSTEM",
    "ODS_SYSTEM",
    "everything_bundle",
    "fhir_system",
    "operation_outcome",
    "patient_resource",
    "searchset",
]

FHIR_CONTENT_TYPE = "application/fhir+json"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ETHNIC_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
UCUM = "http://unitsofmeasure.org"
DISCHARGE_DESTINATION_SYSTEM = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"
)

# The lake's code_system names and the FHIR system URIs they stand for. A code_system that
# is already a URI (from a partner's FHIR extract) is passed through.
CODE_SYSTEMS: dict[str, str] = dict(SYSTEM_URIS)

_GENDER = {"F": "female", "M": "male", "I": "other", "U": "unknown"}
_CLASS = {
    "gp": ("AMB", "ambulatory"),
    "ae": ("EMER", "emergency"),
    "inpatient": ("IMP", "inpatient encounter"),
    "outpatient": ("AMB", "ambulatory"),
    "community": ("AMB", "ambulatory"),
    "mental_health": ("AMB", "ambulatory"),
}
_HOME = ("HH", "home health")
_ALLERGY_STATUSES = frozenset({"active", "inactive", "resolved"})
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_NAMESPACE = uuid.UUID("5b0c7f5e-3f43-4c1e-9d42-0f0b7c1e0a11")  # wholesystem resource ids


def fhir_system(code_system: str | None) -> str | None:
    """The FHIR system URI for a lake ``code_system`` (None when unknown)."""
    if not code_system:
        return None
    if code_system.startswith(("http://", "https://", "urn:")):
        return code_system
    return CODE_SYSTEMS.get(code_system.lower())


def _resource_id(kind: str, *parts: object) -> str:
    """A stable id: the natural one when FHIR allows it, else a name-based UUID."""
    if len(parts) == 1 and isinstance(parts[0], str) and _FHIR_ID.match(parts[0]):
        return parts[0]
    return str(
        uuid.uuid5(_NAMESPACE, "|".join([kind, *("" if p is None else str(p) for p in parts)]))
    )


def _concept(code: str | None, system: str | None, display: str | None) -> dict[str, Any] | None:
    if not code and not display:
        return None
    concept: dict[str, Any] = {}
    if code:
        coding: dict[str, Any] = {"code": code}
        uri = fhir_system(system)
        if uri:
            coding = {"system": uri, **coding}
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    if display:
        concept["text"] = display
    elif code:
        concept["text"] = code
    return concept


def _org(code: str, names: Mapping[str, str]) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "type": "Organization",
        "identifier": {"system": ODS_SYSTEM, "value": code},
    }
    if code in names:
        ref["display"] = names[code]
    return ref


def _when(moment: datetime | None, day: date | None) -> str | None:
    if moment is not None:
        return moment.isoformat()
    return day.isoformat() if day is not None else None


def _number(value: Decimal) -> int | float:
    # JSON numbers: integral values as ints, others as the shortest float that round-trips.
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return int(normal)
    return float(normal)


def patient_resource(record: JoinedRecord, names: Mapping[str, str]) -> dict[str, Any]:
    """The person as a FHIR ``Patient`` (UK Core NHS number; partners' local ids)."""
    demo = record.demographics
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _resource_id("Patient", record.person_id),
    }
    identifiers: list[dict[str, Any]] = []
    if demo.nhs_number:
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": demo.nhs_number})
    seen: set[tuple[str, str]] = set()
    for ident in demo.identities:
        if ident.local_patient_id and (ident.source, ident.local_patient_id) not in seen:
            seen.add((ident.source, ident.local_patient_id))
            identifiers.append(
                {
                    "use": "secondary",
                    "type": {"text": "Local patient identifier"},
                    "value": ident.local_patient_id,
                    "assigner": _org(ident.source, names),
                }
            )
    if identifiers:
        patient["identifier"] = identifiers
    if demo.ethnicity:
        patient["extension"] = [
            {
                "url": ETHNIC_EXTENSION,
                "valueCodeableConcept": {
                    "coding": [{"system": ETHNIC_SYSTEM, "code": demo.ethnicity}]
                },
            }
        ]
    name: dict[str, Any] = {}
    if demo.family_name:
        name["family"] = demo.family_name
    if demo.given_name:
        name["given"] = demo.given_name.split()
    if name:
        patient["name"] = [{"use": "official", **name}]
    if demo.sex:
        patient["gender"] = _GENDER.get(demo.sex.upper(), "unknown")
    if demo.date_of_birth:
        patient["birthDate"] = demo.date_of_birth.isoformat()
    if demo.date_of_death:
        patient["deceasedDateTime"] = demo.date_of_death.isoformat()
    if demo.postcode:
        patient["address"] = [{"use": "home", "postalCode": demo.postcode}]
    if demo.practice_code:
        patient["generalPractitioner"] = [_org(demo.practice_code, names)]
    return patient


def _encounter_types(entry: TimelineEntry) -> list[dict[str, Any]]:
    """The service (an outpatient clinic's treatment function with its code) and the
    contact type, in words."""
    kinds: list[dict[str, Any]] = []
    if entry.service_type:
        kinds.append({"text": service_words(entry.dataset, entry.service_type)})
    if entry.contact_type:
        kinds.append({"text": worded("contact_type", entry.contact_type)})
    return kinds


def _discharge(entry: TimelineEntry) -> dict[str, Any]:
    """Where the patient went: a spell's Data Dictionary code, an attendance's SNOMED CT."""
    code = entry.discharge_destination or ""
    system = discharge_system(entry.dataset)
    uri = (
        DISCHARGE_DESTINATION_SYSTEM if system == "discharge_destination" else CODE_SYSTEMS[system]
    )
    words = term(system, code)
    coding: dict[str, Any] = {"system": uri, "code": code} | ({"display": words} if words else {})
    return {"coding": [coding], "text": words or code}


def _encounter_status(entry: TimelineEntry) -> str:
    if entry.attended is False:
        return "cancelled"
    if entry.is_open:
        return "in-progress"
    return "finished"


def _encounter(
    entry: TimelineEntry, subject: dict[str, str], names: Mapping[str, str]
) -> dict[str, Any]:
    code, display = _CLASS.get(entry.setting, ("AMB", "ambulatory"))
    if entry.setting == "mental_health" and entry.inpatient:
        code, display = "IMP", "inpatient encounter"
    if entry.setting == "community" and "home" in (entry.contact_type or "").lower():
        code, display = _HOME
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": _resource_id("Encounter", entry.event_id or (entry.source, entry.start, entry.code)),
        "status": _encounter_status(entry),
        "class": {"system": ACT_CODE, "code": code, "display": display},
        "subject": subject,
    }
    if entry.event_id:
        encounter["identifier"] = [{"use": "usual", "value": entry.event_id}]
    kinds = _encounter_types(entry)
    if kinds:
        encounter["type"] = kinds
    if entry.emergency:
        encounter["priority"] = {
            "coding": [{"system": ACT_PRIORITY, "code": "EM", "display": "emergency"}]
        }
    period: dict[str, str] = {}
    start = _when(entry.start, entry.start_date)
    end = _when(entry.end, entry.end_date)
    if start:
        period["start"] = start
    if end:
        period["end"] = end
    if period:
        encounter["period"] = period
    reason = _concept(entry.code, entry.code_system, entry.display)
    if reason:
        encounter["reasonCode"] = [reason]
    if entry.discharge_destination:
        encounter["hospitalization"] = {"dischargeDisposition": _discharge(entry)}
    if entry.source:
        encounter["serviceProvider"] = _org(entry.source, names)
    return encounter


def _recorder_note(source: str, dataset: str) -> list[dict[str, str]]:
    return [{"text": f"Recorded by {source} ({dataset})"}]


def _condition(c: ConditionRecord, subject: dict[str, str]) -> dict[str, Any]:
    category = "problem-list-item" if c.dataset.startswith("gp") else "encounter-diagnosis"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": _resource_id("Condition", c.record_id, c.source, c.code_system, c.code, c.onset_date),
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": category}]}],
        "code": _concept(c.code, c.code_system, c.display),
        "subject": subject,
        "note": _recorder_note(c.source, c.dataset),
    }
    if c.onset_date:
        resource["onsetDateTime"] = c.onset_date.isoformat()
    return resource


def _observation(o: ObservationRecord, subject: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _resource_id(
            "Observation", o.record_id, o.source, o.code_system, o.code, o.observed_date, o.value
        ),
        "status": "final",
        "code": _concept(o.code, o.code_system, o.display),
        "subject": subject,
        "note": _recorder_note(o.source, o.dataset),
    }
    if o.observed_date:
        resource["effectiveDateTime"] = o.observed_date.isoformat()
    if o.value is not None:
        quantity: dict[str, Any] = {"value": _number(o.value)}
        if o.unit:
            quantity["unit"] = o.unit
        resource["valueQuantity"] = quantity
    return resource


def _medication(m: MedicationRecord, subject: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": _resource_id(
            "MedicationStatement", m.record_id, m.source, m.code_system, m.code, m.date
        ),
        # The extracts say a medicine was recorded or issued on a date, not whether it is
        # still taken: "unknown" is the honest status.
        "status": "unknown",
        "medicationCodeableConcept": _concept(m.code, m.code_system, m.display),
        "subject": subject,
        "note": _recorder_note(m.source, m.dataset),
    }
    if m.date:
        resource["effectiveDateTime"] = m.date.isoformat()
        resource["dateAsserted"] = m.date.isoformat()
    return resource


def _allergy(a: Allergy, subject: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": _resource_id(
            "AllergyIntolerance", a.record_id, a.source, a.code_system, a.code, a.recorded_date
        ),
        "code": _concept(a.code, a.code_system, a.display),
        "patient": subject,
        "note": _recorder_note(a.source, a.dataset),
    }
    status = (a.clinical_status or "").lower()
    if status in _ALLERGY_STATUSES:
        resource["clinicalStatus"] = {"coding": [{"system": ALLERGY_CLINICAL, "code": status}]}
    if a.recorded_date:
        resource["recordedDate"] = a.recorded_date.isoformat()
    return resource


_EPISODE_STATUS = {"requested": "planned", "active": "active", "ended": "finished"}


def _episode(p: CarePackage, subject: dict[str, str], names: Mapping[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": _resource_id(
            "EpisodeOfCare", p.record_id, p.source, p.service_type, p.request_date, p.start_date
        ),
        "status": _EPISODE_STATUS[p.status],
        "patient": subject,
    }
    if p.service_type:
        resource["type"] = [{"text": p.service_type}]
    if p.source:
        resource["managingOrganization"] = _org(p.source, names)
    period: dict[str, str] = {}
    if p.start_date:
        period["start"] = p.start_date.isoformat()
    if p.end_date:
        period["end"] = p.end_date.isoformat()
    if period:
        resource["period"] = period
    return resource


def everything_bundle(
    record: JoinedRecord,
    *,
    base_url: str,
    timestamp: datetime,
    org_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``searchset`` Bundle of everything held about the person, Patient first.

    ``base_url`` is the FHIR base (``https://host/fhir``); each entry's ``fullUrl`` is
    ``{base_url}/{type}/{id}``.
    """
    names = org_names or {}
    patient = patient_resource(record, names)
    subject = {"reference": f"Patient/{patient['id']}"}
    resources: list[dict[str, Any]] = [patient]
    resources += [
        _encounter(e, subject, names)
        for e in record.timeline
        if e.setting not in ("death", "social_care")
    ]
    resources += [_condition(c, subject) for c in record.conditions]
    resources += [_observation(o, subject) for o in record.observations]
    resources += [_medication(m, subject) for m in record.medication_records]
    resources += [_allergy(a, subject) for a in record.allergies]
    resources += [_episode(p, subject, names) for p in record.care_packages]
    return searchset(
        resources,
        base_url=base_url,
        self_path=f"Patient/{patient['id']}/$everything",
        key=f"everything|{record.person_id}",
        timestamp=timestamp,
    )


def searchset(
    resources: list[dict[str, Any]],
    *,
    base_url: str,
    self_path: str,
    key: str,
    timestamp: datetime,
) -> dict[str, Any]:
    """A ``searchset`` Bundle of ``resources``, each a match with an absolute ``fullUrl``
    (``{base_url}/{type}/{id}``); its id a name-based UUID of ``key`` and ``timestamp``."""
    base = base_url.rstrip("/")
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"{key}|{timestamp.isoformat()}")),
        "meta": {"lastUpdated": timestamp.isoformat()},
        "type": "searchset",
        "timestamp": timestamp.isoformat(),
        "total": len(entries),
        "link": [{"relation": "self", "url": f"{base}/{self_path}"}],
        "entry": entries,
    }


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """A FHIR ``OperationOutcome`` with one issue (``code`` from the issue-type value set)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
