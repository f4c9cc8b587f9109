"""The code terms file: well formed, whole for the Data Dictionary lists, and the lookups."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest

from wholesystem.record.schemas import DATASETS
from wholesystem.record.terms import (
    TERM_SYSTEMS,
    code_terms,
    discharge_system,
    named_code,
    named_codes,
    service_words,
    term,
)
from wholesystem.record.validate import ICD10_PATTERN, OPCS4_PATTERN, SNOMED_PATTERN
from wholesystem.synth.codes import snomed_valid


def _rows() -> list[dict[str, str]]:
    text = (resources.files("wholesystem.record") / "data" / "code_terms.csv").read_text(
        encoding="utf-8"
    )
    return list(csv.DictReader(text.splitlines()))


_FORMATS = {
    "icd10": ICD10_PATTERN,
    "opcs4": OPCS4_PATTERN,
    "snomed": SNOMED_PATTERN,
    "admission_method": "[0-9][0-9A-D]",
    "discharge_destination": "[0-9]{2}",
    "treatment_function": "[0-9]{3}",
    "community_team": "[a-z_]+",
    "contact_type": "[a-z_]+",
    "mental_health_service": "[a-z_]+",
    "social_care_service": "[a-z_]+",
}


def test_every_row_is_a_well_formed_code_with_a_term() -> None:
    rows = _rows()
    assert len({(r["system"], r["code"]) for r in rows}) == len(rows) == len(code_terms())
    for row in rows:
        assert row["system"] in TERM_SYSTEMS, row
        assert re.fullmatch(_FORMATS[row["system"]], row["code"]), row
        if row["system"] == "snomed":
            assert snomed_valid(row["code"]), row
        assert row["display"], row
        assert row["display"] == row["display"].strip(), row


@pytest.mark.parametrize(
    ("system", "dataset", "column"),
    [
        ("admission_method", "apc", "admission_method"),
        ("discharge_destination", "apc", "discharge_destination"),
        ("community_team", "csds", "team_type"),
        ("mental_health_service", "mhsds", "service_type"),
        ("social_care_service", "asc", "service_type"),
    ],
)
def test_the_declared_lists_are_named_whole(system: str, dataset: str, column: str) -> None:
    """Every code the extract format accepts has its term, and no other code is listed."""
    [declared] = [c for c in DATASETS[dataset].columns if c.name == column]
    listed = {code for s, code in code_terms() if s == system}
    assert declared.allowed
    assert listed == set(declared.allowed)


def test_every_contact_type_is_named() -> None:
    """Community contacts' declared types and the outpatient ones the lake derives."""
    [declared] = [c for c in DATASETS["csds"].columns if c.name == "contact_type"]
    listed = {code for s, code in code_terms() if s == "contact_type"}
    assert listed == {*declared.allowed, "face_to_face", "telephone_or_video", "administrative"}


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("icd10", "R50.9", "Fever, unspecified"),
        ("icd10", "I10", "Essential (primary) hypertension"),
        ("opcs4", "W37.1", "Primary total prosthetic replacement of hip joint using cement"),
        ("snomed", "1912002", "Fall"),
        ("admission_method", "21", "Emergency admission: via Emergency Care Department"),
        ("discharge_destination", "19", "Usual place of residence"),
        # The same characters in another system are another code.
        ("opcs4", "R50.9", None),
        ("icd10", "Z99.9", None),
        (None, "R50.9", None),
        ("icd10", None, None),
        ("icd10", "", None),
    ],
)
def test_term(system: str | None, code: str | None, expected: str | None) -> None:
    assert term(system, code) == expected


@pytest.mark.parametrize(
    ("system", "codes", "shown"),
    [
        ("icd10", ["R50.9"], "Fever, unspecified (R50.9)"),
        ("icd10", ["Z99.9"], "Z99.9"),
        # Terms hold commas: the codes are kept apart with semicolons.
        ("icd10", ["J45.9", "Z99.9"], "Asthma, unspecified (J45.9); Z99.9"),
        (None, ["J45.9"], "J45.9"),
        ("icd10", [], ""),
    ],
)
def test_named_codes(system: str | None, codes: list[str], shown: str) -> None:
    assert named_codes(system, codes) == shown
    if len(codes) == 1:
        assert named_code(system, codes[0]) == shown


@pytest.mark.parametrize(
    ("dataset", "value", "shown"),
    [
        ("opa", "340", "Respiratory Medicine (340)"),
        ("csds", "rapid_response", "Rapid response"),
        ("mhsds", "camhs", "Children and young people's mental health services (CAMHS)"),
        ("asc", "day_care", "Day care"),
        ("opa", "999", "999"),  # not listed: as sent
        ("gp_events", "anything", "anything"),  # a dataset without declared services
    ],
)
def test_service_words(dataset: str, value: str, shown: str) -> None:
    assert service_words(dataset, value) == shown


def test_discharge_system() -> None:
    assert discharge_system("apc") == "discharge_destination"
    assert discharge_system("ecds") == "snomed"
