"""Every extract has exactly the DESIGN.md columns, real code shapes and sane dates."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from wholesystem.footprint.schema import FootprintFile
from wholesystem.synth.codes import snomed_valid

from .conftest import Ics

IDENTITY = [
    "nhs_number",
    "local_patient_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
]
# From /work/shared/DESIGN.md "Partner extract formats"
DESIGN_COLUMNS = {
    "gp_patients": ["practice_code", "registration_date", "ethnicity", "deregistration_date"],
    "gp_events": ["event_date", "snomed_code", "value", "unit"],
    "apc": [
        "spell_id",
        "admission_date",
        "discharge_date",
        "admission_method",
        "primary_diagnosis",
        "secondary_diagnoses",
        "procedures",
        "discharge_destination",
        "cost",
    ],
    "ecds": [
        "attendance_id",
        "arrival",
        "departure",
        "acuity",
        "chief_complaint",
        "discharge_destination",
    ],
    "opa": ["appointment_date", "treatment_function", "first_attendance", "attended"],
    "csds": ["contact_date", "team_type", "contact_type"],
    "mhsds": ["contact_date", "service_type", "inpatient", "out_of_area"],
    "asc": ["request_date", "service_type", "start_date", "end_date", "weekly_cost"],
    "deaths": ["date_of_death", "underlying_cause"],
}
DATE_COLUMNS = {
    "gp_patients": ["registration_date", "deregistration_date"],
    "gp_events": ["event_date"],
    "apc": ["admission_date", "discharge_date"],
    "opa": ["appointment_date"],
    "csds": ["contact_date"],
    "mhsds": ["contact_date"],
    "asc": ["request_date", "start_date", "end_date"],
    "deaths": ["date_of_death"],
}
ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9])?$")
OPCS4 = re.compile(r"^[A-Z][0-9]{2}\.[0-9]$")
MONEY = re.compile(r"^[0-9]+\.[0-9]{2}$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
ISO_DT_TZ = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+0[01]:00$")
END = dt.date(2026, 3, 31)


def _files(ics: Ics) -> list[tuple[str, str, Path]]:
    out = []
    for path in sorted((ics.root / "extracts").glob("*/*/*.*")):
        out.append((path.parent.parent.name, path.parent.name, path))
    return out


def test_expected_files_for_every_partner(ics: Ics) -> None:
    fp = FootprintFile.model_validate_json((ics.root / "footprint.json").read_text())
    files = {(org, ds) for org, ds, _ in _files(ics)}
    practices = [o.code for o in fp.organisations if o.type == "gp_practice"]
    fhir = {org for org, ds in files if ds == "gp_fhir"}
    assert 1 <= len(fhir) < len(practices)
    for code in practices:
        if code in fhir:
            assert (code, "gp_patients") not in files
        else:
            assert {(code, "gp_patients"), (code, "gp_events")} <= files
    for org in ("R9A", "R9B"):
        assert {(org, "apc"), (org, "ecds"), (org, "opa")} <= files
    assert ("R9C", "csds") in files
    assert ("R9D", "mhsds") in files
    assert {(pl.local_authority, "asc") for pl in fp.places} <= files
    assert ("X26", "deaths") in files


@pytest.mark.parametrize("dataset", sorted(DESIGN_COLUMNS))
def test_columns_are_exactly_the_design(ics: Ics, dataset: str) -> None:
    found = list(ics.extracts(dataset))
    assert found
    for _org, path in found:
        assert ics.header(str(path.relative_to(ics.root))) == IDENTITY + DESIGN_COLUMNS[dataset]
        raw = path.read_bytes()
        raw.decode("utf-8")
        assert b"\r" not in raw


@pytest.mark.parametrize("dataset", sorted(DATE_COLUMNS))
def test_dates_are_iso_and_never_after_end_date(ics: Ics, dataset: str) -> None:
    rows = ics.dataset_rows(dataset)
    assert rows
    for row in rows:
        for col in [*DATE_COLUMNS[dataset], "date_of_birth"]:
            value = row[col]
            if value:
                assert ISO_DATE.match(value), (col, value)
                assert dt.date.fromisoformat(value) <= END, (dataset, col, value)


def test_hospital_spells(ics: Ics) -> None:
    rows = ics.dataset_rows("apc")
    methods = {r["admission_method"] for r in rows}
    assert {"11", "12", "13", "21", "22", "31"} <= methods
    assert methods <= {"11", "12", "13", "21", "22", "23", "24", "25", "28", "31", "32", "81"}
    open_spells = 0
    for r in rows:
        admitted = dt.date.fromisoformat(r["admission_date"])
        if r["discharge_date"]:
            assert dt.date.fromisoformat(r["discharge_date"]) >= admitted
            assert MONEY.match(r["cost"]), r["cost"]
            assert r["discharge_destination"]
        else:
            open_spells += 1
            assert r["cost"] == ""
            assert r["discharge_destination"] == ""
        assert ICD10.match(r["primary_diagnosis"]), r["primary_diagnosis"]
        for code in filter(None, r["secondary_diagnoses"].split("|")):
            assert ICD10.match(code), code
        for code in filter(None, r["procedures"].split("|")):
            assert OPCS4.match(code), code
    assert open_spells < len(rows) * 0.05
    # COPD exacerbations are coded J44.x
    assert any(r["primary_diagnosis"].startswith("J44.") for r in rows)
    assert len({r["spell_id"] for r in rows}) == len(rows)


def test_emergency_department(ics: Ics) -> None:
    rows = ics.dataset_rows("ecds")
    assert rows
    for r in rows:
        assert ISO_DT_TZ.match(r["arrival"]), r["arrival"]
        assert ISO_DT_TZ.match(r["departure"]), r["departure"]
        arrival = dt.datetime.fromisoformat(r["arrival"])
        departure = dt.datetime.fromisoformat(r["departure"])
        assert departure > arrival
        assert departure.date() <= END
        assert r["acuity"] in {"1", "2", "3", "4", "5"}
        assert snomed_valid(r["chief_complaint"]), r["chief_complaint"]
        assert snomed_valid(r["discharge_destination"])
    # summer arrivals carry the BST offset
    assert any(r["arrival"].endswith("+01:00") for r in rows)
    assert any(r["arrival"].endswith("+00:00") for r in rows)


def test_gp_events_codes_values_and_units(ics: Ics) -> None:
    rows = ics.dataset_rows("gp_events")
    units = {"mm[Hg]", "mmol/mol", "mL/min/{1.73_m2}", "kg/m2", "kg", "L/min"}
    for r in rows:
        assert snomed_valid(r["snomed_code"]), r["snomed_code"]
        if r["value"]:
            float(r["value"])
            assert r["unit"] in units
        else:
            assert r["unit"] == ""
    # diabetics have the diabetes code and HbA1c results
    codes = {r["snomed_code"] for r in rows}
    assert {"44054006", "999791000000106", "271649006"} <= codes
    assert codes & {"925791000000100", "925831000000107", "925861000000102"}


def test_other_datasets_use_their_code_lists(ics: Ics) -> None:
    for r in ics.dataset_rows("opa"):
        assert re.match(r"^[0-9]{3}$", r["treatment_function"])
        assert r["first_attendance"] in {"1", "2", "3", "4"}
        assert r["attended"] in {"2", "3", "4", "5", "6", "7"}
    for r in ics.dataset_rows("mhsds"):
        assert r["inpatient"] in {"Y", "N"}
        assert r["out_of_area"] in {"Y", "N"}
    for r in ics.dataset_rows("asc"):
        assert r["weekly_cost"] == "" or MONEY.match(r["weekly_cost"])
        if r["start_date"]:
            assert r["start_date"] >= r["request_date"]
        if r["end_date"]:
            assert r["start_date"]
            assert r["end_date"] >= r["start_date"]
    for r in ics.dataset_rows("deaths"):
        assert ICD10.match(r["underlying_cause"]), r["underlying_cause"]
    for r in ics.dataset_rows("gp_patients"):
        assert r["ethnicity"] == "" or re.match(r"^[A-Z]$", r["ethnicity"])
        if r["deregistration_date"]:
            assert r["deregistration_date"] >= r["registration_date"]


def test_snomed_code_tables_have_valid_check_digits() -> None:
    from wholesystem.synth import codes

    all_codes = [c.snomed for c in codes.CONDITIONS]
    all_codes += [c.medication[0] for c in codes.CONDITIONS if c.medication]
    all_codes += [o.snomed for o in codes.OBSERVATIONS.values()]
    all_codes += [c for c, _ in codes.FRAILTY_CODES + codes.SMOKING_CODES]
    all_codes += [c for opts in codes.ECDS_COMPLAINTS.values() for c, _ in opts]
    all_codes += list(codes.ECDS_DESTINATIONS.values())
    all_codes += list(codes.COMPLAINT_FOR_DIAGNOSIS.values())
    all_codes += [
        codes.ISOLATION_CODE[0],
        codes.HOUSEBOUND_CODE[0],
        codes.SMI_BIPOLAR[0],
        codes.ENCOUNTER_TYPE[0],
    ]
    bad = [c for c in all_codes if not snomed_valid(c)]
    assert bad == []
    assert not snomed_valid("44054007")  # one digit off
