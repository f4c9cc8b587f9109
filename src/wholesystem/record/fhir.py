"""FHIR R4 Bundles → rows of ``gp_patients``, ``gp_events`` and ``allergies``.

Any conformant R4 Bundle loads: every element we read is optional here, references are
resolved by ``fullUrl`` (``urn:uuid:...`` or absolute), by ``Type/id`` relative to the
bundle, or left unresolved (the referenced id becomes the local patient id). One entry
is one row: Patient → ``gp_patients``; Condition, Observation, MedicationStatement,
MedicationRequest and Encounter → ``gp_events`` (``record_type`` says which);
AllergyIntolerance → ``allergies``. Every other entry (other resource types, resources
not about a patient, entries without a resource) is kept whole in the lake table
``fhir_unmapped`` and counted as loaded, never dropped.

Values are flattened to text here and validated by the same set-based rules as CSV.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wholesystem.record.engine import FileRejected

__all__ = [
    "NHS_NUMBER_SYSTEM",
    "MappedBundleRows",
    "iter_bundles",
    "map_bundles",
]

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
ETHNIC_EXTENSIONS = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-EthnicCategory-1",
)
REGISTRATION_EXTENSION = "https://fhir.northshire.example/StructureDefinition/registration-period"
_GENDER = {"male": "M", "female": "F", "other": "I", "unknown": "U"}
_EVENT_TYPES = {
    "Condition": "condition",
    "Observation": "observation",
    "MedicationStatement": "medication",
    "MedicationRequest": "medication",
    "Encounter": "encounter",
}
_IDENTITY = (
    "nhs_number",
    "local_patient_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)

Row = dict[str, str | None]


@dataclass
class MappedBundleRows:
    """Rows per staged dataset plus the entries kept unmapped."""

    rows: dict[str, list[Row]] = field(
        default_factory=lambda: {"gp_patients": [], "gp_events": [], "allergies": []}
    )
    unmapped: list[Row] = field(default_factory=list)
    resource_counts: dict[str, int] = field(default_factory=dict)

    @property
    def entries(self) -> int:
        """Every entry read (mapped or kept)."""
        return sum(len(r) for r in self.rows.values()) + len(self.unmapped)


def iter_bundles(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, Bundle) pairs from a JSON file of one Bundle or an NDJSON file of Bundles.

    Invalid JSON or a value that is not a Bundle rejects the whole file.
    """
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if not stripped:
        raise FileRejected("empty file: no FHIR Bundle in it")
    is_ndjson = path.suffix.lower() in {".ndjson", ".jsonl"}
    docs: list[tuple[int, str]]
    if is_ndjson:
        docs = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    else:
        docs = [(1, text)]
    for line, doc in docs:
        try:
            value = json.loads(doc)
        except json.JSONDecodeError as exc:
            where = f"line {line}" if is_ndjson else f"line {exc.lineno}"
            raise FileRejected(f"invalid JSON at {where}, column {exc.colno}: {exc.msg}") from None
        if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
            kind = value.get("resourceType") if isinstance(value, dict) else type(value).__name__
            raise FileRejected(
                f"not a FHIR Bundle at line {line}: found {kind!r}; gp_fhir files hold "
                "Bundles (a JSON Bundle, or NDJSON with one Bundle a line)"
            )
        entries = value.get("entry", [])
        if not isinstance(entries, list):
            raise FileRejected(f"Bundle at line {line}: 'entry' is not a list")
        yield line, value


def _s(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _date(value: Any) -> str | None:
    """A FHIR date/dateTime/instant as YYYY-MM-DD; partial dates take the first day."""
    text = _s(value)
    if text is None:
        return None
    day = text[:10]
    if len(day) == 4 and day.isdigit():
        return f"{day}-01-01"
    if len(day) == 7 and day[4] == "-":
        return f"{day}-01"
    return day


def _first_date(resource: dict[str, Any], *paths: str) -> str | None:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        found = _date(value)
        if found:
            return found
    return None


def _coding(concept: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(snomed code, code, system, display) of a CodeableConcept, SNOMED CT first."""
    if not isinstance(concept, dict):
        return None, None, None, None
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict) and _s(c.get("code"))]
    text = _s(concept.get("text"))
    snomed = next((c for c in codings if c.get("system") == SNOMED), None)
    chosen = snomed or (codings[0] if codings else None)
    if chosen is None:
        return None, None, None, text
    code = _s(chosen.get("code"))
    system = _s(chosen.get("system"))
    label = "snomed" if system == SNOMED else system
    return (code if snomed else None), code, label, _s(chosen.get("display")) or text


class _Index:
    """Find a bundle's resources by fullUrl, Type/id or absolute URL."""

    def __init__(self, entries: list[Any]) -> None:
        self.by_ref: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            res = entry.get("resource")
            if not isinstance(res, dict):
                continue
            full = _s(entry.get("fullUrl"))
            if full:
                self.by_ref[full] = res
            rtype, rid = _s(res.get("resourceType")), _s(res.get("id"))
            if rtype and rid:
                self.by_ref.setdefault(f"{rtype}/{rid}", res)

    def resolve(self, ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, dict):
            return None
        text = _s(ref.get("reference"))
        if not text:
            return None
        if text in self.by_ref:
            return self.by_ref[text]
        parts = text.rstrip("/").split("/")
        if len(parts) >= 2:
            tail = f"{parts[-2]}/{parts[-1]}"
            if tail in self.by_ref:
                return self.by_ref[tail]
            if len(parts) >= 4 and parts[-2] == "_history":
                return self.by_ref.get(f"{parts[-4]}/{parts[-3]}")
        return None


def _extension(resource: dict[str, Any], urls: tuple[str, ...]) -> dict[str, Any] | None:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") in urls:
            return ext
    return None


def _patient_identity(patient: dict[str, Any], fallback_id: str | None) -> Row:
    nhs = local = None
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, dict):
            continue
        value = _s(ident.get("value"))
        if ident.get("system") == NHS_NUMBER_SYSTEM:
            nhs = nhs or value
        elif value and local is None:
            local = value
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given_list = name.get("given") or []
    given = _s(given_list[0]) if given_list else None
    family = _s(name.get("family"))
    if given is None and family is None and _s(name.get("text")):
        words = str(name["text"]).split()
        given, family = (words[0], words[-1]) if len(words) > 1 else (None, words[0])
    addresses = [a for a in patient.get("address") or [] if isinstance(a, dict)]
    home = next((a for a in addresses if a.get("use") == "home" and a.get("postalCode")), None)
    chosen = home or next((a for a in addresses if a.get("postalCode")), None)
    gender = _s(patient.get("gender"))
    return {
        "nhs_number": nhs,
        "local_patient_id": local or _s(patient.get("id")) or fallback_id,
        "given_name": given,
        "family_name": family,
        "date_of_birth": _date(patient.get("birthDate")),
        "sex": _GENDER.get(gender, gender) if gender else None,
        "postcode": _s(chosen.get("postalCode")) if chosen else None,
    }


def _subject_identity(ref: Any, index: _Index, patients: dict[int, Row]) -> Row | None:
    """Identity of the patient ``ref`` points at; None when the resource has no subject."""
    if not isinstance(ref, dict):
        return None
    target = index.resolve(ref)
    if target is not None:
        if target.get("resourceType") != "Patient":
            return None  # about a Group, Device, Location...: kept unmapped
        return patients.get(id(target)) or _patient_identity(target, None)
    ident = ref.get("identifier")
    if isinstance(ident, dict) and _s(ident.get("value")):
        value = _s(ident.get("value"))
        nhs = value if ident.get("system") == NHS_NUMBER_SYSTEM else None
        return {k: None for k in _IDENTITY} | {"nhs_number": nhs, "local_patient_id": value}
    text = _s(ref.get("reference"))
    if not text:
        return None
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] != "Patient":
        return None
    local = parts[-1]
    return {k: None for k in _IDENTITY} | {"local_patient_id": local}


def _patient_row(patient: dict[str, Any], identity: Row, org_code: str) -> Row:
    practice = None
    for gp in patient.get("generalPractitioner") or []:
        if isinstance(gp, dict):
            ident = gp.get("identifier")
            if isinstance(ident, dict) and ident.get("system") == ODS_SYSTEM:
                practice = _s(ident.get("value"))
                break
    ethnic = _extension(patient, ETHNIC_EXTENSIONS)
    ethnicity = _coding(ethnic.get("valueCodeableConcept"))[1] if ethnic else None
    period = _extension(patient, (REGISTRATION_EXTENSION,))
    value_period = period.get("valuePeriod") if period else None
    start = end = None
    if isinstance(value_period, dict):
        start, end = _date(value_period.get("start")), _date(value_period.get("end"))
    return identity | {
        "practice_code": practice or org_code,
        "registration_date": start,
        "ethnicity": ethnicity,
        "deregistration_date": end,
    }


def _event_row(res: dict[str, Any], rtype: str, identity: Row, index: _Index) -> Row:
    value = unit = None
    if rtype == "Condition":
        concept: Any = res.get("code")
        when = _first_date(res, "onsetDateTime", "onsetPeriod.start", "recordedDate")
    elif rtype == "Observation":
        concept = res.get("code")
        when = _first_date(
            res, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"
        )
        quantity = res.get("valueQuantity")
        if isinstance(quantity, dict):
            value = _s(quantity.get("value"))
            unit = _s(quantity.get("code")) or _s(quantity.get("unit"))
    elif rtype in ("MedicationStatement", "MedicationRequest"):
        concept = res.get("medicationCodeableConcept")
        if concept is None:
            medication = index.resolve(res.get("medicationReference"))
            concept = medication.get("code") if medication else None
        when = _first_date(
            res, "effectiveDateTime", "effectivePeriod.start", "authoredOn", "dateAsserted"
        )
    else:  # Encounter
        types = res.get("type") or []
        concept = types[0] if types else None
        when = _first_date(res, "period.start")
    snomed, code, system, display = _coding(concept)
    return identity | {
        "event_date": when,
        "snomed_code": snomed,
        "value": value,
        "unit": unit,
        "record_type": _EVENT_TYPES[rtype],
        "code": code,
        "code_system": system,
        "display": display,
    }


def _allergy_row(res: dict[str, Any], identity: Row) -> Row:
    _snomed, code, system, display = _coding(res.get("code"))
    status = _coding(res.get("clinicalStatus"))[1]
    return identity | {
        "recorded_date": _first_date(res, "recordedDate", "onsetDateTime", "onsetPeriod.start"),
        "code": code,
        "code_system": system,
        "display": display,
        "clinical_status": status,
        "criticality": _s(res.get("criticality")),
    }


def map_bundles(path: Path, org_code: str) -> MappedBundleRows:
    """Flatten every Bundle in ``path`` into staged rows and unmapped entries."""
    out = MappedBundleRows()
    for line, bundle in iter_bundles(path):
        entries = bundle.get("entry") or []
        index = _Index(entries)
        patients: dict[int, Row] = {}
        for entry in entries:
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict) and res.get("resourceType") == "Patient":
                full = _s(entry.get("fullUrl"))
                patients[id(res)] = _patient_identity(res, full)
        for position, entry in enumerate(entries, start=1):
            res = entry.get("resource") if isinstance(entry, dict) else None
            rtype = _s(res.get("resourceType")) if isinstance(res, dict) else None
            label = rtype or "(no resource)"
            out.resource_counts[label] = out.resource_counts.get(label, 0) + 1
            rid = _s(res.get("id")) if isinstance(res, dict) else None
            full = _s(entry.get("fullUrl")) if isinstance(entry, dict) else None
            where = f"{rtype}/{rid}" if rtype and rid else (full or label)
            source = f"{where} (entry {position} of the Bundle on line {line})"
            key = f"{org_code}:fhir:{rtype}/{rid or full or f'{line}-{position}'}"
            common: Row = {"line": str(line), "_key": key, "_resource": source}
            if res is None or rtype is None:
                out.unmapped.append(_unmapped(line, label, rid, entry, source))
                continue
            assert isinstance(res, dict)
            if rtype == "Patient":
                identity = patients[id(res)]
                out.rows["gp_patients"].append(
                    common | {"_dataset": "gp_patients"} | _patient_row(res, identity, org_code)
                )
                continue
            if rtype in _EVENT_TYPES or rtype == "AllergyIntolerance":
                subject = (
                    res.get("patient") if rtype == "AllergyIntolerance" else res.get("subject")
                )
                identity_or_none = _subject_identity(subject, index, patients)
                if identity_or_none is not None:
                    if rtype == "AllergyIntolerance":
                        row = _allergy_row(res, identity_or_none)
                        out.rows["allergies"].append(common | {"_dataset": "allergies"} | row)
                    else:
                        row = _event_row(res, rtype, identity_or_none, index)
                        out.rows["gp_events"].append(common | {"_dataset": "gp_events"} | row)
                    continue
            out.unmapped.append(_unmapped(line, rtype, rid, res, source))
    return out


def _unmapped(line: int, rtype: str, rid: str | None, value: Any, source: str) -> Row:
    return {
        "line": str(line),
        "resource_type": rtype,
        "resource_id": rid,
        "where_found": source,
        "resource_json": json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    }
