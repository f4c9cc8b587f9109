"""FHIR R4 conformance (Bundles not written by synth) and the OMOP CDM v5.4 mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.record.conftest import Ingest, parquet
from wholesystem.record.models import QuarantineRow
from wholesystem.record.staging import connect_staged
from wholesystem.store.lake import Lake

NHS = "https://fhir.nhs.uk/Id/nhs-number"
SCT = "http://snomed.info/sct"


def _rows(lake: Lake, sql: str) -> list[tuple[Any, ...]]:
    con = connect_staged(lake)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def transaction_bundle() -> dict[str, Any]:
    """A transaction Bundle with urn:uuid references and optional elements we do not use."""
    pid = "urn:uuid:7f0c1c8e-0000-4000-8000-000000000001"
    return {
        "resourceType": "Bundle",
        "id": "tx-1",
        "meta": {"lastUpdated": "2025-01-01T00:00:00Z"},
        "type": "transaction",
        "entry": [
            {
                "fullUrl": pid,
                "resource": {
                    "resourceType": "Patient",
                    "text": {
                        "status": "generated",
                        "div": "<div xmlns='http://www.w3.org/1999/xhtml'>x</div>",
                    },
                    "identifier": [
                        {"system": "https://example.org/mrn", "value": "MRN-77"},
                        {"system": NHS, "value": "943 476 5919"},
                    ],
                    "name": [{"text": "Jane Q Public"}],
                    "gender": "other",
                    "birthDate": "1970",
                    "telecom": [{"system": "phone", "value": "0100"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:c1",
                "resource": {
                    "resourceType": "Condition",
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J44.1"},
                            {"system": SCT, "code": "13645005", "display": "COPD"},
                        ]
                    },
                    "subject": {"reference": pid},
                    "onsetPeriod": {"start": "2019-05-02T10:00:00Z"},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
            {
                "fullUrl": "urn:uuid:o1",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {
                        "coding": [
                            {"system": "http://loinc.org", "code": "8480-6", "display": "Systolic"}
                        ]
                    },
                    "subject": {"reference": pid},
                    "effectiveInstant": "2024-02-03T09:00:00.000+00:00",
                    "valueQuantity": {"value": 141, "unit": "mmHg"},
                },
            },
            {
                "fullUrl": "urn:uuid:m1",
                "resource": {
                    "resourceType": "Medication",
                    "code": {"coding": [{"system": SCT, "code": "322236009"}]},
                },
            },
            {
                "fullUrl": "urn:uuid:mr1",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "status": "active",
                    "intent": "order",
                    "medicationReference": {"reference": "urn:uuid:m1"},
                    "subject": {"reference": pid},
                    "authoredOn": "2024-03-01",
                },
            },
            {
                "fullUrl": "urn:uuid:e1",
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": pid},
                },
            },
            {
                "fullUrl": "urn:uuid:a1",
                "resource": {
                    "resourceType": "AllergyIntolerance",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "criticality": "high",
                    "code": {
                        "coding": [
                            {"system": SCT, "code": "91936005", "display": "Penicillin allergy"}
                        ]
                    },
                    "patient": {"reference": pid},
                    "recordedDate": "2010-06-01",
                },
            },
            {
                "fullUrl": "urn:uuid:o2",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "room temperature"},
                },
            },
            {"request": {"method": "DELETE", "url": "Patient/old"}},
        ],
    }


def searchset_bundle() -> dict[str, Any]:
    """A searchset Bundle with absolute fullUrls and relative references, one outside it."""
    base = "https://gp.example.org/fhir"
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 3,
        "entry": [
            {
                "fullUrl": f"{base}/Patient/p9",
                "search": {"mode": "match"},
                "resource": {
                    "resourceType": "Patient",
                    "id": "p9",
                    "birthDate": "1980-07",
                    "name": [{"family": "Ng", "given": ["Li"]}],
                    "address": [{"use": "work", "postalCode": "LS1 1AA"}],
                },
            },
            {
                "fullUrl": f"{base}/Condition/c9",
                "resource": {
                    "resourceType": "Condition",
                    "id": "c9",
                    "subject": {"reference": "Patient/p9"},
                    "code": {"coding": [{"system": SCT, "code": "38341003"}]},
                    "recordedDate": "2020-01-01",
                },
            },
            {
                "fullUrl": f"{base}/Condition/c10",
                "resource": {
                    "resourceType": "Condition",
                    "id": "c10",
                    "subject": {"reference": "Patient/elsewhere-1"},
                    "code": {"coding": [{"system": SCT, "code": "44054006"}]},
                },
            },
        ],
    }


def test_any_conformant_bundle_loads(
    tmp_path: Path, ingest: Ingest, lake: Lake, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "in" / "N90009" / "gp_fhir"
    folder.mkdir(parents=True)
    (folder / "tx.json").write_text(json.dumps(transaction_bundle(), indent=2))
    (folder / "search.ndjson").write_text(json.dumps(searchset_bundle()) + "\n\n")
    summary = ingest(tmp_path / "in")
    by_name = {Path(o.path).name: o for o in summary.outcomes}
    tx, search = by_name["tx.json"], by_name["search.ndjson"]
    assert (tx.status, tx.rows_read, tx.rows_loaded, tx.rows_quarantined) == ("loaded", 9, 9, 0)
    assert (search.status, search.rows_read, search.rows_loaded) == ("loaded", 3, 3)
    patients = _rows(
        lake,
        "SELECT local_patient_id, nhs_number, given_name, family_name, "
        "CAST(date_of_birth AS VARCHAR), sex, postcode, practice_code, source_format "
        "FROM staged_gp_patients ORDER BY 1",
    )
    assert patients == [
        ("MRN-77", "9434765919", "Jane", "Public", "1970-01-01", "I", None, "N90009", "fhir"),
        ("p9", None, "Li", "Ng", "1980-07-01", None, "LS1 1AA", "N90009", "fhir"),
    ]
    events = _rows(
        lake,
        "SELECT local_patient_id, nhs_number, record_type, CAST(event_date AS VARCHAR), "
        "snomed_code, code, code_system, CAST(value AS DOUBLE), unit FROM staged_gp_events "
        "ORDER BY record_type, local_patient_id",
    )
    assert events == [
        (
            "MRN-77",
            "9434765919",
            "condition",
            "2019-05-02",
            "13645005",
            "13645005",
            "snomed",
            None,
            None,
        ),
        ("elsewhere-1", None, "condition", None, "44054006", "44054006", "snomed", None, None),
        ("p9", None, "condition", "2020-01-01", "38341003", "38341003", "snomed", None, None),
        ("MRN-77", "9434765919", "encounter", None, None, None, None, None, None),
        (
            "MRN-77",
            "9434765919",
            "medication",
            "2024-03-01",
            "322236009",
            "322236009",
            "snomed",
            None,
            None,
        ),
        (
            "MRN-77",
            "9434765919",
            "observation",
            "2024-02-03",
            None,
            "8480-6",
            "http://loinc.org",
            141.0,
            "mmHg",
        ),
    ]
    allergies = _rows(
        lake, "SELECT local_patient_id, code, clinical_status, criticality FROM staged_allergies"
    )
    assert allergies == [("MRN-77", "91936005", "active", "high")]
    unmapped = parquet(
        "SELECT resource_type FROM read_parquet(?) ORDER BY 1",
        lake.root / "fhir_unmapped" / "*" / "*.parquet",
    )
    # Medication (no patient), the Observation with no subject, the DELETE entry.
    assert unmapped == [("(no resource)",), ("Medication",), ("Observation",)]
    with factory() as s:
        assert s.scalars(select(QuarantineRow)).all() == []


def test_bad_values_in_fhir_are_quarantined_with_where_they_were(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session]
) -> None:
    bundle = transaction_bundle()
    bundle["entry"][0]["resource"]["identifier"][1]["value"] = "9434765918"
    bundle["entry"][1]["resource"]["code"]["coding"][1]["code"] = "13645006"
    folder = tmp_path / "in" / "N90009" / "gp_fhir"
    folder.mkdir(parents=True)
    (folder / "tx.ndjson").write_text(json.dumps(bundle) + "\n")
    [outcome] = ingest(tmp_path / "in").outcomes
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined == 9
    with factory() as s:
        rows = s.scalars(select(QuarantineRow).order_by(QuarantineRow.id)).all()
    rules = sorted((r.column_name, r.rule) for r in rows)
    # The bad NHS number travels with each of the patient's rows.
    assert any("'13645006' fails the SNOMED CT Verhoeff check digit" in r.message for r in rows)
    assert ("nhs_number", "nhs_number_check_digit") in rules
    assert all(r.line == 1 for r in rows)
    assert any(
        "Condition/" in str(r.raw.get("_resource")) or "urn:uuid:c1" in str(r.raw.get("_resource"))
        for r in rows
    )


OMOP = {
    "person.csv": [
        "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,birth_datetime,"
        "race_concept_id,ethnicity_concept_id,location_id,person_source_value",
        "1,8532,1950,2,3,,0,0,,9434765919",
        "2,8507,1960,,,,0,0,,H12345",
    ],
    "visit_occurrence.csv": [
        "visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_start_datetime,"
        "visit_end_date,visit_end_datetime,visit_type_concept_id",
        "10,1,9201,2024-01-01,,2024-01-05,,32817",
        "11,1,9203,2024-02-01,2024-02-01 10:00:00,2024-02-01,2024-02-01 14:30:00,32817",
        "12,2,9202,2024-03-01,,2024-03-01,,32817",
        "13,2,9201,2024-04-10,,2024-04-01,,32817",
    ],
    "condition_occurrence.csv": [
        "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,"
        "condition_type_concept_id,condition_source_value",
        "100,1,255573,2019-05-02,32817,J44.1",
    ],
    "drug_exposure.csv": [
        "drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,drug_type_concept_id",
        "200,2,1154343,2024-03-01,2024-04-01,32817",
    ],
    "measurement.csv": [
        "measurement_id,person_id,measurement_concept_id,measurement_date,value_as_number,unit_concept_id,unit_source_value",
        "300,1,3004249,2024-02-03,141,8876,mmHg",
    ],
    "observation.csv": [
        "observation_id,person_id,observation_concept_id,observation_date,value_as_number",
        "400,2,4275495,2023-01-01,",
    ],
    "death.csv": [
        "person_id,death_date,death_type_concept_id,cause_concept_id,cause_source_value",
        "1,2025-01-01,32817,255573,J44.1",
    ],
}


def test_omop_tables_map_into_the_staged_tables(
    tmp_path: Path, ingest: Ingest, lake: Lake, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "in" / "RX1" / "omop"
    folder.mkdir(parents=True)
    for name, lines in OMOP.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    summary = ingest(tmp_path / "in")
    assert {o.dataset: (o.status, o.rows_read, o.rows_quarantined) for o in summary.outcomes} == {
        "omop_person": ("loaded", 2, 0),
        "omop_visit_occurrence": ("loaded", 4, 1),
        "omop_condition_occurrence": ("loaded", 1, 0),
        "omop_drug_exposure": ("loaded", 1, 0),
        "omop_measurement": ("loaded", 1, 0),
        "omop_observation": ("loaded", 1, 0),
        "omop_death": ("loaded", 1, 0),
    }
    assert _rows(
        lake,
        "SELECT local_patient_id, nhs_number, CAST(date_of_birth AS VARCHAR), sex "
        "FROM staged_gp_patients ORDER BY 1",
    ) == [
        ("1", "9434765919", "1950-02-03", "F"),
        ("2", None, "1960-01-01", "M"),
    ]
    assert _rows(
        lake,
        "SELECT spell_id, CAST(admission_date AS VARCHAR), CAST(discharge_date AS VARCHAR), "
        "nhs_number FROM staged_apc",
    ) == [("10", "2024-01-01", "2024-01-05", "9434765919")]
    assert _rows(
        lake, "SELECT attendance_id, CAST(departure - arrival AS VARCHAR) FROM staged_ecds"
    ) == [("11", "04:30:00")]
    assert _rows(
        lake, "SELECT local_patient_id, CAST(appointment_date AS VARCHAR) FROM staged_opa"
    ) == [("2", "2024-03-01")]
    assert _rows(
        lake,
        "SELECT record_type, code, code_system, CAST(value AS DOUBLE), unit, display "
        "FROM staged_gp_events ORDER BY code",
    ) == [
        ("medication", "1154343", "omop", None, None, None),
        ("condition", "255573", "omop", None, None, "J44.1"),
        ("observation", "3004249", "omop", 141.0, "mmHg", None),
        ("observation", "4275495", "omop", None, None, None),
    ]
    assert _rows(
        lake, "SELECT local_patient_id, underlying_cause, code, code_system FROM staged_deaths"
    ) == [("1", "J44.1", "255573", "omop")]
    with factory() as s:
        [bad] = s.scalars(select(QuarantineRow)).all()
    assert (bad.line, bad.rule) == (5, "discharge_before_admission")
    assert bad.raw["_dataset"] == "apc"


def test_an_omop_table_we_do_not_read_is_refused_by_name(tmp_path: Path, ingest: Ingest) -> None:
    folder = tmp_path / "in" / "RX1" / "omop"
    folder.mkdir(parents=True)
    (folder / "person.csv").write_text("\n".join(OMOP["person.csv"]) + "\n")
    (folder / "note.csv").write_text("note_id,person_id,note_text\n1,1,seen in clinic\n")
    outcomes = {o.dataset: o for o in ingest(tmp_path / "in").outcomes}
    assert outcomes["omop_person"].status == "loaded"
    note = outcomes["omop_note"]
    assert note.status == "rejected"
    assert note.reason.startswith("OMOP table 'note' is not one wholesystem reads (it reads ")
    assert "person, visit_occurrence, condition_occurrence" in note.reason
