"""The FHIR R4 Bundle for ``Patient/$everything``: structure, mapping tables, and validation.

Structural rules checked here come from the FHIR R4 specification (hl7.org/fhir/R4):
Bundle.type searchset, Resource.id matches ``[A-Za-z0-9\\-\\.]{1,64}``, fullUrl unique,
required elements per resource (Encounter.status/class, Condition.subject,
Observation.status/code, MedicationStatement.status/medication[x]/subject,
AllergyIntolerance.patient, EpisodeOfCare.status/patient). Where ``fhir.resources`` (its
R4B models: Patient, Encounter, Condition, Observation, MedicationStatement,
AllergyIntolerance and EpisodeOfCare are unchanged from R4) is installed, every resource
and the whole Bundle are also parsed by it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.record.view.lakefixture import ADA, ADA_NHS, CAT, DAN, timeline_entry, tiny_lake_rows
from wholesystem.record.view.assemble import JoinedRecord, TimelineEntry, assemble
from wholesystem.record.view.fhir_bundle import (
    NHS_NUMBER_SYSTEM,
    _encounter,
    everything_bundle,
    fhir_system,
    operation_outcome,
)

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BASE = "https://ics.example/fhir"
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _record(person_id: str) -> JoinedRecord:
    tables = {
        name: [r for r in rows if r["person_id"] == person_id]
        for name, rows in tiny_lake_rows().items()
    }
    (person,) = tables.pop("person")
    return assemble(person_id, person, tables, today=TODAY)


def _bundle(person_id: str = ADA) -> dict[str, Any]:
    return everything_bundle(
        _record(person_id), base_url=BASE, timestamp=NOW, org_names={"RA1": "Testshire Hospitals"}
    )


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


REQUIRED = {
    "Patient": (),
    "Encounter": ("status", "class"),
    "Condition": ("subject", "code"),
    "Observation": ("status", "code", "subject"),
    "MedicationStatement": ("status", "medicationCodeableConcept", "subject"),
    "AllergyIntolerance": ("patient", "code"),
    "EpisodeOfCare": ("status", "patient"),
}


@pytest.mark.parametrize("person_id", [ADA, CAT, DAN])
def test_bundle_structure(person_id: str) -> None:
    bundle = _bundle(person_id)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(bundle["entry"])
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert _ID.match(resource["id"]), resource["id"]
        assert entry["fullUrl"] == f"{BASE}/{resource['resourceType']}/{resource['id']}"
        for element in REQUIRED[resource["resourceType"]]:
            assert resource.get(element), (resource["resourceType"], element)
        subject = resource.get("subject") or resource.get("patient")
        if subject is not None:
            assert subject == {"reference": f"Patient/{person_id}"}
    json.dumps(bundle)  # plain JSON, nothing exotic


def test_ada_resource_counts() -> None:
    counts = Counter(e["resource"]["resourceType"] for e in _bundle()["entry"])
    # 7 events less the social-care one (an EpisodeOfCare instead); deaths none.
    assert counts == {
        "Patient": 1,
        "Encounter": 6,
        "Condition": 3,
        "Observation": 3,
        "MedicationStatement": 3,
        "AllergyIntolerance": 1,
        "EpisodeOfCare": 2,
    }


def test_patient() -> None:
    (patient,) = _resources(_bundle(), "Patient")
    assert patient["id"] == ADA
    assert patient["identifier"][0] == {"system": NHS_NUMBER_SYSTEM, "value": ADA_NHS}
    locals_ = {
        (i["assigner"]["identifier"]["value"], i["value"]) for i in patient["identifier"][1:]
    }
    assert ("RA1", "RA1-77") in locals_
    assert ("A00001", "HS001") in locals_
    assert patient["name"] == [{"use": "official", "family": "Lovelace", "given": ["Ada"]}]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1950-03-01"
    assert patient["address"] == [{"use": "home", "postalCode": "TS1 1AA"}]
    assert patient["generalPractitioner"][0]["identifier"]["value"] == "A00001"
    (dan,) = _resources(_bundle(DAN), "Patient")
    assert dan["deceasedDateTime"] == "2024-02-01"
    assert _resources(_bundle(DAN), "Encounter") == []  # the death is on the Patient


@pytest.mark.parametrize(
    ("event_id", "klass", "status"),
    [
        ("E-ADA-GP1", "AMB", "finished"),
        ("E-ADA-AE1", "EMER", "finished"),
        ("E-ADA-IP1", "IMP", "finished"),
        ("E-ADA-OP1", "AMB", "cancelled"),  # did not attend
        ("E-ADA-CM1", "HH", "finished"),  # a home visit
        ("E-ADA-MH1", "AMB", "finished"),
    ],
)
def test_encounter_class_and_status(event_id: str, klass: str, status: str) -> None:
    (encounter,) = [e for e in _resources(_bundle(), "Encounter") if e["id"] == event_id]
    assert encounter["class"]["code"] == klass
    assert encounter["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert encounter["status"] == status


def test_open_admission_is_in_progress_with_no_end() -> None:
    (admission,) = [e for e in _resources(_bundle(CAT), "Encounter") if e["id"] == "E-CAT-IP1"]
    assert admission["status"] == "in-progress"
    assert admission["period"] == {"start": "2025-01-02T08:00:00+00:00"}
    assert admission["priority"]["coding"][0]["code"] == "EM"
    assert admission["serviceProvider"] == {
        "type": "Organization",
        "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RA1"},
        "display": "Testshire Hospitals",
    }
    assert admission["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-uk",
        "code": "K35.8",
        "display": "Acute appendicitis",
    }


def test_social_care_is_episode_of_care() -> None:
    episodes = _resources(_bundle(), "EpisodeOfCare")
    assert [(e["type"][0]["text"], e["status"], e.get("period")) for e in episodes] == [
        ("home care", "active", {"start": "2024-03-15"}),
        ("reablement", "finished", {"start": "2023-01-10", "end": "2023-02-10"}),
    ]
    assert episodes[0]["managingOrganization"]["identifier"]["value"] == "E06000901"


def test_observation_values_are_json_numbers() -> None:
    values = sorted(o["valueQuantity"]["value"] for o in _resources(_bundle(), "Observation"))
    assert values == [27.4, 138, 152]
    assert isinstance(values[1], int)


@pytest.mark.parametrize(
    ("system", "uri"),
    [
        ("snomed", "http://snomed.info/sct"),
        ("icd10", "http://hl7.org/fhir/sid/icd-10-uk"),
        ("opcs4", "http://fhir.hl7.org.uk/CodeSystem/OPCS-4"),
        ("https://example.org/codes", "https://example.org/codes"),
        ("madeup", None),
        (None, None),
    ],
)
def test_code_systems(system: str | None, uri: str | None) -> None:
    assert fhir_system(system) == uri


def test_stable_ids_across_builds() -> None:
    first = [e["fullUrl"] for e in _bundle()["entry"]]
    second = [e["fullUrl"] for e in _bundle()["entry"]]
    assert first == second


def test_operation_outcome() -> None:
    outcome = operation_outcome("not-found", "No record found.")
    assert outcome["issue"][0]["severity"] == "error"


@pytest.mark.parametrize("person_id", [ADA, CAT, DAN])
def test_fhir_resources_parses_the_bundle(person_id: str) -> None:
    """Validation by the fhir.resources models (skipped where it is not installed)."""
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle

    bundle = _bundle(person_id)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "searchset"
    assert len(parsed.entry or []) == len(bundle["entry"])


def test_fhir_resources_rejects_a_broken_encounter() -> None:
    """The validator above is not a rubber stamp: an Encounter without class fails."""
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.bundle import Bundle

    bundle = _bundle()
    encounter = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    del encounter["resource"]["class"]
    with pytest.raises(ValueError, match="class"):
        Bundle.model_validate(bundle)


@pytest.mark.parametrize(
    ("entry", "types", "discharge"),
    [
        (
            timeline_entry("apc", discharge_destination="19"),
            None,
            {
                "coding": [
                    {
                        "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland",
                        "code": "19",
                        "display": "Usual place of residence",
                    }
                ],
                "text": "Usual place of residence",
            },
        ),
        (
            timeline_entry("ecds", discharge_destination="306689006"),
            None,
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "306689006",
                        "display": "Discharge to home",
                    }
                ],
                "text": "Discharge to home",
            },
        ),
        # A destination not in the terms file keeps its code, with no display.
        (
            timeline_entry("ecds", discharge_destination="123456"),
            None,
            {"coding": [{"system": "http://snomed.info/sct", "code": "123456"}], "text": "123456"},
        ),
        (
            timeline_entry("opa", service_type="340", contact_type="telephone_or_video"),
            [{"text": "Respiratory Medicine (340)"}, {"text": "Telephone or video"}],
            None,
        ),
        (
            timeline_entry("csds", service_type="rapid_response", contact_type="face_to_face_home"),
            [{"text": "Rapid response"}, {"text": "Face to face at home"}],
            None,
        ),
    ],
)
def test_encounters_name_their_services_and_discharges(
    entry: TimelineEntry, types: list[dict[str, str]] | None, discharge: dict[str, Any] | None
) -> None:
    encounter = _encounter(entry, {"reference": "Patient/p"}, {})
    assert encounter.get("type") == types
    assert encounter.get("hospitalization", {}).get("dischargeDisposition") == discharge
