"""What the codes partners send mean, in words: ``record/data/code_terms.csv``.

Extracts carry codes (ICD-10 diagnoses, OPCS-4 procedures, SNOMED CT complaints and
discharges, NHS Data Dictionary admission methods and discharge destinations) and, mostly,
no text. The linked lake fills ``display`` from here where the source sent none, and the
record pages name each code with its term. A code not listed keeps its code alone: the list
covers every code the synthetic ICS sends (a test holds it to that), not the whole
classifications, which NHS organisations take under licence from NHS England's TRUD.

A deployment adds the classifications it holds (the full ICD-10 and OPCS-4, say) as a
file of its own in the same form, named by the ``code_terms_file`` setting: its terms are
added to the packaged ones and take precedence over them (:func:`use_extra_terms`).

Pure: no database or web imports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = [
    "SERVICE_SYSTEMS",
    "SYSTEM_NAMES",
    "SYSTEM_URIS",
    "TERM_SYSTEMS",
    "code_terms",
    "discharge_system",
    "named_code",
    "named_codes",
    "read_terms",
    "service_words",
    "system_name",
    "term",
    "use_extra_terms",
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

SYSTEM_NAMES = {
    "snomed": "SNOMED CT",
    "icd10": "ICD-10",
    "opcs4": "OPCS-4",
    "dmd": "dm+d",
    "loinc": "LOINC",
    "omop": "OMOP",
}
"""The lake's clinical ``code_system`` values as people name them."""

SYSTEM_URIS = {
    "snomed": "http://snomed.info/sct",
    "icd10": "http://hl7.org/fhir/sid/icd-10-uk",
    "opcs4": "http://fhir.hl7.org.uk/CodeSystem/OPCS-4",
    "dmd": "https://dmd.nhs.uk",
    "loinc": "http://loinc.org",
    "omop": "https://fhir-terminology.ohdsi.org",
}
"""The FHIR system URI each of them stands for. A partner's FHIR extract may carry the URI
itself as the ``code_system``."""

_BY_URI = {uri: name for name, uri in SYSTEM_URIS.items()} | {
    "http://hl7.org/fhir/sid/icd-10": "icd10",  # the WHO edition's URI
}


def system_name(code_system: str | None) -> str:
    """'SNOMED CT' for ``snomed`` or its FHIR URI; a system not named here as it is."""
    if not code_system:
        return ""
    key = _BY_URI.get(code_system, code_system.lower())
    return SYSTEM_NAMES.get(key, code_system)


SERVICE_SYSTEMS = {
    "opa": "treatment_function",
    "csds": "community_team",
    "mhsds": "mental_health_service",
    "asc": "social_care_service",
}
"""The system of ``event.service_type`` for each dataset that sends one."""


_HEADER = ("system", "code", "display")
_extra: Path | None = None


def use_extra_terms(path: Path | None) -> None:
    """From now on, add the terms of ``path`` (a file as :func:`read_terms` reads it) to
    the packaged ones, taking precedence; None: the packaged terms alone."""
    global _extra
    if path != _extra:
        _extra = path
        code_terms.cache_clear()


@cache
def code_terms() -> Mapping[tuple[str, str], str]:
    """Every (system, code) named, with its term: the packaged file's, then the extra
    file's (see :func:`use_extra_terms`)."""
    text = (resources.files("wholesystem.record") / "data" / "code_terms.csv").read_text(
        encoding="utf-8"
    )
    terms = {(r["system"], r["code"]): r["display"] for r in csv.DictReader(text.splitlines())}
    if _extra is not None:
        terms.update(read_terms(_extra))
    return terms


def read_terms(path: Path) -> dict[tuple[str, str], str]:
    """The terms of a CSV file of columns ``system,code,display`` (UTF-8, a byte order
    mark allowed), one code a row, ``system`` one of :data:`TERM_SYSTEMS`.

    Raises ``ValueError`` naming the file and, for a bad row, its line and what is wrong
    (the first five such rows): the file is taken whole or not at all.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
    lines = text.splitlines()
    reader = csv.reader(lines)
    header = tuple(h.strip() for h in next(reader, []))
    if header != _HEADER:
        raise ValueError(f"{path}: the header must be {','.join(_HEADER)}, not {','.join(header)}")
    terms: dict[tuple[str, str], str] = {}
    problems = list(_problems(reader, terms))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems[:5]))
    return terms


def _problems(rows: Iterable[list[str]], terms: dict[tuple[str, str], str]) -> Iterable[str]:
    """Fill ``terms`` from ``rows`` (after the header); what is wrong with each bad row."""
    for number, row in enumerate(rows, start=2):
        if not any(v.strip() for v in row):
            continue  # a blank line
        if len(row) != len(_HEADER):
            yield f"line {number} has {len(row)} fields, not {len(_HEADER)}"
            continue
        system, code, display = (v.strip() for v in row)
        if system not in TERM_SYSTEMS:
            yield f"line {number}: unknown system {system!r} (one of {', '.join(TERM_SYSTEMS)})"
        elif not code or not display:
            yield f"line {number}: the {'code' if not code else 'display'} is blank"
        elif (system, code) in terms:
            yield f"line {number}: {system} {code} is listed twice"
        else:
            terms[(system, code)] = display


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
