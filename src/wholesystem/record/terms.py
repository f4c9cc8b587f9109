"""What the codes partners send mean, in words: ``record/data/code_terms.csv``.

Extracts carry codes (ICD-10 diagnoses, OPCS-4 procedures, SNOMED CT complaints and
discharges, NHS Data Dictionary admission methods and discharge destinations) and, mostly,
no text. The linked lake fills ``display`` from here where the source sent none, and the
record pages name each code with its term. A code not listed keeps its code alone: the list
covers every code the synthetic ICS sends (a test holds it to that), not the whole
classifications, which NHS organisations take under licence from NHS England's TRUD.

Pure: no database or web imports.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

__all__ = [
    "SERVICE_SYSTEMS",
    "TERM_SYSTEMS",
    "code_terms",
    "discharge_system",
    "named_code",
    "named_codes",
    "service_words",
    "term",
    "worded",
]

TERM_SYSTEMS = (
    "icd10",
    "opcs4",
    "snomed",
    "admission_method",
    "discharge_destination",
    "treatment_function",
    "community_team",
    "contact_type",
    "mental_health_service",
    "social_care_service",
)
"""The code systems the file names: the lake's ``code_system`` values; the NHS Data
Dictionary's Admission Method, Discharge Destination (hospital provider spell) and
Treatment Function codes; and the values the extract formats declare for community teams,
contact types, mental health services and social care services."""

SERVICE_SYSTEMS = {
    "opa": "treatment_function",
    "csds": "community_team",
    "mhsds": "mental_health_service",
    "asc": "social_care_service",
}
"""The system of ``event.service_type`` for each dataset that sends one."""


@cache
def code_terms() -> Mapping[tuple[str, str], str]:
    """Every (system, code) in the file, with its term."""
    text = (resources.files("wholesystem.record") / "data" / "code_terms.csv").read_text(
        encoding="utf-8"
    )
    return {(r["system"], r["code"]): r["display"] for r in csv.DictReader(text.splitlines())}


def term(system: str | None, code: str | None) -> str | None:
    """The term of ``code`` in ``system``; None when either is missing or it is not listed."""
    if not system or not code:
        return None
    return code_terms().get((system, code))


def named_code(system: str | None, code: str) -> str:
    """'Fever, unspecified (R50.9)', or the code alone when its term is not known."""
    words = term(system, code)
    return f"{words} ({code})" if words else code


def worded(system: str, value: str) -> str:
    """A value of one of our own vocabularies (``rapid_response``) in words, else as it is."""
    return term(system, value) or value


def named_codes(system: str | None, codes: Sequence[str]) -> str:
    """:func:`named_code` of each, joined with semicolons (terms hold commas)."""
    return "; ".join(named_code(system, c) for c in codes)


def service_words(dataset: str, service_type: str) -> str:
    """A dataset's ``service_type`` as the pages show it: an outpatient clinic's treatment
    function named with its code, a team or service of our extract formats in words, and
    anything else as sent."""
    system = SERVICE_SYSTEMS.get(dataset)
    if system == "treatment_function":
        return named_code(system, service_type)
    return worded(system, service_type) if system else service_type


def discharge_system(dataset: str) -> str:
    """The system of a dataset's ``discharge_destination``: a spell's is a Data Dictionary
    code, an A&E attendance's SNOMED CT."""
    return "discharge_destination" if dataset == "apc" else "snomed"
