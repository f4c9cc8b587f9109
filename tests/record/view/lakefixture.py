"""A tiny linked lake in the contract's schema (docs/lake.md), written here with pyarrow.

The record view's tests do not depend on the linked-lake builder: they write the nine
tables themselves, typed as the contract says (DATE, TIMESTAMPTZ, DECIMAL, VARCHAR[]),
sorted by person_id, in small row groups so point reads are pruned as in production.

People (footprint: tests/conftest.py SMALL_FOOTPRINT):

* WP0000000001 Ada LOVELACE: registered at A00001 (Hill Surgery, North PCN); the GP and
  the acute trust disagree on her date of birth; a full record across every setting
  including an active care package from E06000901.
* WP0000000002 Ben BROWN: registered at A00002 (Mill Practice, also North PCN).
* WP0000000003 Cat CHEN: registered at A00003 (Harbour PCN), in hospital now at RA1
  (an open admission) and an open community episode at RC1.
* WP0000000004 Dan DAVIES: registered at A00003 only; died 2024-02-01.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from wholesystem.record.view.assemble import TimelineEntry


def nhs_number(nine: str) -> str:
    """A valid NHS number from nine digits (modulus 11; raises if the check would be 10)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    if check == 10:
        raise ValueError(f"{nine} has no valid check digit")
    return nine + str(check)


ADA, BEN, CAT, DAN = "WP0000000001", "WP0000000002", "WP0000000003", "WP0000000004"
ADA_NHS = "9434765919"
BEN_NHS = nhs_number("943476592")
CAT_NHS = nhs_number("401023213")
DAN_NHS = nhs_number("401023214")
# An NHS number a partner recorded for Ada that is not her best one (found by search too).
ADA_OLD_NHS = nhs_number("450557710")
UNKNOWN_NHS = nhs_number("999000001")

S = pa.string()
D = pa.date32()
TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)
VALUE = pa.decimal128(18, 6)

SCHEMAS: dict[str, pa.Schema] = {
    "person": pa.schema(
        [
            ("person_id", S),
            ("nhs_number", S),
            ("given_name", S),
            ("family_name", S),
            ("date_of_birth", D),
            ("sex", S),
            ("postcode", S),
            ("practice_code", S),
            ("registration_date", D),
            ("ethnicity", S),
            ("date_of_death", D),
            ("record_count", pa.int32()),
            ("sources", pa.list_(S)),
        ]
    ),
    "source_record": pa.schema(
        [
            ("record_id", S),
            ("person_id", S),
            ("source", S),
            ("dataset", S),
            ("local_patient_id", S),
            ("nhs_number", S),
            ("given_name", S),
            ("family_name", S),
            ("date_of_birth", D),
            ("sex", S),
            ("postcode", S),
        ]
    ),
    "registration": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("practice_code", S),
            ("registration_date", D),
            ("deregistration_date", D),
        ]
    ),
    "event": pa.schema(
        [
            ("event_id", S),
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("dataset", S),
            ("setting", S),
            ("start_time", TS),
            ("end_time", TS),
            ("start_date", D),
            ("end_date", D),
            ("code", S),
            ("code_system", S),
            ("display", S),
            ("codes", pa.list_(S)),
            ("diagnoses", pa.list_(S)),
            ("procedures", pa.list_(S)),
            ("emergency", pa.bool_()),
            ("admission_method", S),
            ("discharge_destination", S),
            ("acuity", S),
            ("attended", pa.bool_()),
            ("first_attendance", pa.bool_()),
            ("inpatient", pa.bool_()),
            ("out_of_area", pa.bool_()),
            ("service_type", S),
            ("contact_type", S),
            ("cost", MONEY),
        ]
    ),
    "condition": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("dataset", S),
            ("code", S),
            ("code_system", S),
            ("display", S),
            ("onset_date", D),
        ]
    ),
    "observation": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("dataset", S),
            ("code", S),
            ("code_system", S),
            ("display", S),
            ("value", VALUE),
            ("unit", S),
            ("observed_date", D),
        ]
    ),
    "medication": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("dataset", S),
            ("code", S),
            ("code_system", S),
            ("display", S),
            ("date", D),
        ]
    ),
    "allergy": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("dataset", S),
            ("code", S),
            ("code_system", S),
            ("display", S),
            ("recorded_date", D),
            ("clinical_status", S),
        ]
    ),
    "care_package": pa.schema(
        [
            ("person_id", S),
            ("record_id", S),
            ("source", S),
            ("service_type", S),
            ("request_date", D),
            ("start_date", D),
            ("end_date", D),
            ("weekly_cost", MONEY),
        ]
    ),
}


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def person(
    pid: str,
    nhs: str | None,
    given: str,
    family: str,
    dob: str,
    sex: str,
    postcode: str,
    practice: str | None,
    reg: str | None,
    *,
    ethnicity: str | None = "A",
    died: str | None = None,
    sources: Iterable[str] = (),
    records: int = 1,
) -> dict[str, Any]:
    return {
        "person_id": pid,
        "nhs_number": nhs,
        "given_name": given,
        "family_name": family,
        "date_of_birth": _d(dob),
        "sex": sex,
        "postcode": postcode,
        "practice_code": practice,
        "registration_date": _d(reg),
        "ethnicity": ethnicity,
        "date_of_death": _d(died),
        "record_count": records,
        "sources": list(sources),
    }


def source(
    rid: str, pid: str, org: str, dataset: str, local: str, nhs: str | None, given: str,
    family: str, dob: str | None, sex: str, postcode: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "record_id": rid,
        "person_id": pid,
        "source": org,
        "dataset": dataset,
        "local_patient_id": local,
        "nhs_number": nhs,
        "given_name": given,
        "family_name": family,
        "date_of_birth": _d(dob),
        "sex": sex,
        "postcode": postcode,
    }


def event(
    eid: str,
    pid: str,
    org: str,
    dataset: str,
    setting: str,
    start: str | None,
    end: str | None = None,
    *,
    code: str | None = None,
    system: str | None = None,
    display: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in SCHEMAS["event"].names}
    row.update(
        event_id=eid,
        person_id=pid,
        record_id=f"r-{eid}",
        source=org,
        dataset=dataset,
        setting=setting,
        start_time=_ts(start) if start else None,
        end_time=_ts(end) if end else None,
        start_date=_ts(start).date() if start else None,
        end_date=_ts(end).date() if end else None,
        code=code,
        code_system=system,
        display=display,
        codes=[code] if code else [],
        diagnoses=[code] if code and system == "icd10" else [],
        procedures=[],
        emergency=False,
    )
    row.update(extra)
    return row


def tiny_lake_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of every table (not yet sorted)."""
    people = [
        person(ADA, ADA_NHS, "Ada", "Lovelace", "1950-03-01", "F", "TS1 1AA", "A00001",
               "2001-05-01", sources=["A00001", "E06000901", "RA1", "RC1"], records=4),
        person(BEN, BEN_NHS, "Ben", "Brown", "1961-07-15", "M", "TS2 2BB", "A00002",
               "2010-01-01", sources=["A00002"]),
        person(CAT, CAT_NHS, "Cat", "Chen", "1988-11-30", "F", "SE1 3CC", "A00003",
               "2015-09-09", sources=["A00003", "RA1", "RC1"], records=3),
        person(DAN, DAN_NHS, "Dan", "Davies", "1935-02-02", "M", "SE2 4DD", "A00003",
               "1990-01-01", died="2024-02-01", sources=["A00003"]),
    ]  # fmt: skip
    sources = [
        source("gp-1", ADA, "A00001", "gp_patients", "HS001", ADA_NHS, "Ada", "Lovelace",
               "1950-03-01", "F", "TS1 1AA"),
        source("apc-1", ADA, "RA1", "apc", "RA1-77", ADA_OLD_NHS, "ADA", "LOVELACE",
               "1950-01-03", "F", "TS1 1AA"),
        source("csds-1", ADA, "RC1", "csds", "C-9", ADA_NHS, "Ada", "Lovelace", "1950-03-01",
               "F", "ts11aa"),
        source("asc-1", ADA, "E06000901", "asc", "LA-5", None, "Ada", "Lovelace",
               "1950-03-01", "F", "TS1 1AB"),
        source("gp-2", BEN, "A00002", "gp_patients", "MP002", BEN_NHS, "Ben", "Brown",
               "1961-07-15", "M", "TS2 2BB"),
        source("gp-3", CAT, "A00003", "gp_patients", "QM003", CAT_NHS, "Cat", "Chen",
               "1988-11-30", "F", "SE1 3CC"),
        source("apc-3", CAT, "RA1", "apc", "RA1-88", CAT_NHS, "Cat", "Chen", "1988-11-30", "F",
               "SE1 3CC"),
        source("gp-4", DAN, "A00003", "gp_patients", "QM004", DAN_NHS, "Dan", "Davies",
               "1935-02-02", "M", "SE2 4DD"),
    ]  # fmt: skip
    registrations = [
        {"person_id": ADA, "record_id": "gp-1", "practice_code": "A00001",
         "registration_date": _d("2001-05-01"), "deregistration_date": None},
        {"person_id": ADA, "record_id": "gp-1-old", "practice_code": "A00003",
         "registration_date": _d("1990-01-01"), "deregistration_date": _d("2001-04-30")},
        {"person_id": BEN, "record_id": "gp-2", "practice_code": "A00002",
         "registration_date": _d("2010-01-01"), "deregistration_date": None},
        {"person_id": CAT, "record_id": "gp-3", "practice_code": "A00003",
         "registration_date": _d("2015-09-09"), "deregistration_date": None},
        {"person_id": DAN, "record_id": "gp-4", "practice_code": "A00003",
         "registration_date": _d("1990-01-01"), "deregistration_date": None},
    ]  # fmt: skip
    events = [
        event("E-ADA-GP1", ADA, "A00001", "gp_events", "gp", "2024-01-10T09:30:00",
              code="38341003", system="snomed", display="Hypertension review"),
        event("E-ADA-AE1", ADA, "RA1", "ecds", "ae", "2024-03-05T22:15:00",
              "2024-03-06T02:40:00", code="267036007", system="snomed",
              display="Shortness of breath", emergency=True, acuity="2",
              discharge_destination="admitted"),
        event("E-ADA-IP1", ADA, "RA1", "apc", "inpatient", "2024-03-06T03:00:00",
              "2024-03-12T11:00:00", code="J18.9", system="icd10", display="Pneumonia",
              emergency=True, admission_method="21", discharge_destination="home",
              service_type="300", cost=Decimal("4210.50")),
        event("E-ADA-OP1", ADA, "RA1", "opa", "outpatient", "2024-04-20T10:00:00",
              service_type="340", attended=False, first_attendance=True),
        event("E-ADA-CM1", ADA, "RC1", "csds", "community", "2024-03-20T14:00:00",
              "2024-03-20T14:45:00", service_type="district nursing", contact_type="home visit"),
        event("E-ADA-MH1", ADA, "RM1", "mhsds", "mental_health", "2023-11-02T11:00:00",
              "2023-11-02T12:00:00", service_type="memory clinic", inpatient=False),
        event("E-ADA-SC1", ADA, "E06000901", "asc", "social_care", "2024-03-15T00:00:00",
              service_type="home care"),
        event("E-CAT-IP1", CAT, "RA1", "apc", "inpatient", "2025-01-02T08:00:00",
              code="K35.8", system="icd10", display="Acute appendicitis", emergency=True),
        event("E-CAT-CM1", CAT, "RC1", "csds", "community", "2024-12-01T10:00:00",
              service_type="physiotherapy"),
        event("E-DAN-DTH", DAN, "ONS", "deaths", "death", "2024-02-01T00:00:00",
              "2024-02-01T00:00:00", code="I21.9", system="icd10",
              display="Acute myocardial infarction"),
    ]  # fmt: skip
    conditions = [
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "38341003", "code_system": "snomed", "display": "Hypertension",
         "onset_date": _d("2012-06-01")},
        {"person_id": ADA, "record_id": "apc-1", "source": "RA1", "dataset": "apc",
         "code": "J18.9", "code_system": "icd10", "display": "Pneumonia, unspecified",
         "onset_date": _d("2024-03-06")},
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "38341003", "code_system": "snomed", "display": "Hypertension",
         "onset_date": _d("2018-02-01")},
        {"person_id": CAT, "record_id": "apc-3", "source": "RA1", "dataset": "apc",
         "code": "K35.8", "code_system": "icd10", "display": "Acute appendicitis",
         "onset_date": _d("2025-01-02")},
    ]  # fmt: skip
    observations = [
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "271649006", "code_system": "snomed", "display": "Systolic blood pressure",
         "value": Decimal("152"), "unit": "mm[Hg]", "observed_date": _d("2023-06-01")},
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "271649006", "code_system": "snomed", "display": "Systolic blood pressure",
         "value": Decimal("138"), "unit": "mm[Hg]", "observed_date": _d("2024-01-10")},
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "60621009", "code_system": "snomed", "display": "Body mass index",
         "value": Decimal("27.4"), "unit": "kg/m2", "observed_date": _d("2023-06-01")},
    ]  # fmt: skip
    medications = [
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "318858000", "code_system": "snomed", "display": "Ramipril 5mg capsules",
         "date": _d("2023-12-01")},
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_events",
         "code": "318858000", "code_system": "snomed", "display": "Ramipril 5mg capsules",
         "date": _d("2024-01-10")},
        {"person_id": ADA, "record_id": "apc-1", "source": "RA1", "dataset": "apc",
         "code": "323509004", "code_system": "snomed", "display": "Amoxicillin 500mg capsules",
         "date": _d("2024-03-06")},
    ]  # fmt: skip
    allergies = [
        {"person_id": ADA, "record_id": "gp-1", "source": "A00001", "dataset": "gp_fhir",
         "code": "91936005", "code_system": "snomed", "display": "Allergy to penicillin",
         "recorded_date": _d("2005-04-04"), "clinical_status": "active"},
    ]  # fmt: skip
    packages = [
        {"person_id": ADA, "record_id": "asc-1", "source": "E06000901", "service_type": "home care",
         "request_date": _d("2024-03-01"), "start_date": _d("2024-03-15"), "end_date": None,
         "weekly_cost": Decimal("312.40")},
        {"person_id": ADA, "record_id": "asc-1", "source": "E06000901",
         "service_type": "reablement",
         "request_date": _d("2023-01-01"), "start_date": _d("2023-01-10"),
         "end_date": _d("2023-02-10"), "weekly_cost": Decimal("150.00")},
    ]  # fmt: skip
    return {
        "person": people,
        "source_record": sources,
        "registration": registrations,
        "event": events,
        "condition": conditions,
        "observation": observations,
        "medication": medications,
        "allergy": allergies,
        "care_package": packages,
    }


def write_lake(root: Path, tables: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write every table under ``root`` sorted by person_id, two rows per row group."""
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in (tables or tiny_lake_rows()).items():
        schema = SCHEMAS[name]
        ordered = sorted(rows, key=lambda r: r["person_id"])
        table = pa.Table.from_pylist(
            [{c: r.get(c) for c in schema.names} for r in ordered], schema=schema
        )
        pq.write_table(table, root / f"{name}.parquet", row_group_size=2)
    return root


def timeline_entry(dataset: str, **fields: object) -> TimelineEntry:
    """One timeline entry of ``dataset``, empty but for ``fields``."""
    base: dict[str, object] = {
        "event_id": "e1",
        "record_id": "r1",
        "setting": {"apc": "inpatient", "ecds": "ae"}.get(dataset, "gp"),
        "source": "R9A",
        "dataset": dataset,
        "start": None,
        "end": None,
        "start_date": date(2024, 5, 1),
        "end_date": None,
        "code": None,
        "code_system": None,
        "display": None,
        "codes": (),
        "diagnoses": (),
        "procedures": (),
        "emergency": None,
        "admission_method": None,
        "discharge_destination": None,
        "acuity": None,
        "attended": None,
        "first_attendance": None,
        "inpatient": None,
        "out_of_area": None,
        "service_type": None,
        "contact_type": None,
        "cost": None,
    }
    return TimelineEntry(**(base | fields))  # type: ignore[arg-type]
