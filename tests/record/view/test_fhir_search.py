"""FHIR Patient search parameters: what each asks for, and what is refused and why."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from wholesystem.record.view.fhir_search import PatientQuery, patient_query, patient_searchset
from wholesystem.record.view.search import DetailsSearch

TODAY = date(2026, 11, 24)
NHS = "https://fhir.nhs.uk/Id/nhs-number"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"identifier": f"{NHS}|9434765919"}, PatientQuery("9434765919")),
        ({"identifier": "9434765919"}, PatientQuery("9434765919")),
        ({"identifier": "|9434765919"}, PatientQuery("9434765919")),
        ({"identifier": "https://example.org/mrn|9434765919"}, PatientQuery(nobody=True)),
        (
            {"family": "Lovelace", "birthdate": "1950-03-01"},
            PatientQuery(details=DetailsSearch("Lovelace", date(1950, 3, 1))),
        ),
        (
            {"family": "Lovelace", "birthdate": "eq1950-03-01", "given": "Ad"},
            PatientQuery(details=DetailsSearch("Lovelace", date(1950, 3, 1), "Ad")),
        ),
        (
            {"identifier": "9434765919", "family": "Lovelace", "birthdate": "1950-03-01"},
            PatientQuery("9434765919", DetailsSearch("Lovelace", date(1950, 3, 1))),
        ),
    ],
)
def test_what_a_search_asks_for(params: dict[str, str], expected: PatientQuery) -> None:
    assert patient_query(params, today=TODAY) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "search by identifier (an NHS number), or by family and birthdate together"),
        ({"given": "Ada"}, "search by identifier"),
        ({"family": "Lovelace"}, "search by identifier"),
        ({"identifier": "9434765919", "family": "Lovelace"}, "family and birthdate go together"),
        ({"identifier": "9434765918"}, "identifier: '9434765918' is not a valid NHS number"),
        ({"identifier": f"{NHS}|12345"}, "is not a valid NHS number"),
        ({"family": "Lovelace", "birthdate": "1950"}, "birthdate: give a whole date"),
        ({"family": "Lovelace", "birthdate": "ge1950-03-01"}, "birthdate: give a whole date"),
        ({"family": "Lovelace", "birthdate": "1950-02-31"}, "Date of birth must be a real date"),
        ({"family": "Lovelace", "birthdate": "2030-01-01"}, "must be today or in the past"),
        ({"family": "123", "birthdate": "1950-03-01"}, "Family name must include a letter"),
    ],
)
def test_what_is_refused(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        patient_query(params, today=TODAY)


def test_errors_name_the_parameters_as_the_caller_does() -> None:
    labels = {"identifier": "nhs_number", "family": "family_name", "birthdate": "date_of_birth"}
    with pytest.raises(ValueError, match=r"^family_name and date_of_birth go together$"):
        patient_query({"identifier": "9434765919", "family": "X"}, today=TODAY, labels=labels)
    with pytest.raises(ValueError, match=r"^nhs_number: '1' is not a valid NHS number"):
        patient_query({"identifier": "1"}, today=TODAY, labels=labels)


def test_a_searchset_lists_each_patient_as_a_match() -> None:
    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    bundle = patient_searchset(
        [{"resourceType": "Patient", "id": "WP1"}],
        base_url="https://h/fhir/",
        query="identifier=9434765919",
        timestamp=at,
    )
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 1
    assert bundle["link"] == [
        {"relation": "self", "url": "https://h/fhir/Patient?identifier=9434765919"}
    ]
    assert bundle["entry"] == [
        {
            "fullUrl": "https://h/fhir/Patient/WP1",
            "resource": {"resourceType": "Patient", "id": "WP1"},
            "search": {"mode": "match"},
        }
    ]
    same = patient_searchset([], base_url="https://h/fhir", query="q", timestamp=at)
    assert same["id"] == patient_searchset([], base_url="x", query="q", timestamp=at)["id"]
