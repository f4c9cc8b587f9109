"""FHIR R4 Patient search: what a query asks for, and the searchset Bundle it answers.

A partner's system finds a person the way a FHIR client does, ``GET /fhir/Patient?...``:

* ``identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919`` (the system may be left
  out; another system matches nobody, as FHIR token search does);
* ``family`` with ``birthdate`` (a whole date, ``YYYY-MM-DD``, optionally ``eq``), and
  ``given`` to narrow it: the family name is matched whole and the given name by its
  first letters, both without case, accents, spaces or punctuation (a prefix family
  search would let a client trawl the index);
* both: the people who match both.

Only the people the client has a care relationship with are listed; that is the route's
business, as is the audit. This module is plain functions over plain data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wholesystem.record.validate import nhs_number_problem, normalise_nhs_number
from wholesystem.record.view.fhir_bundle import NHS_NUMBER_SYSTEM, searchset
from wholesystem.record.view.search import DetailsSearch, details_search

__all__ = ["SEARCH_PARAMETERS", "PatientQuery", "patient_query", "patient_searchset"]

SEARCH_PARAMETERS = ("identifier", "family", "given", "birthdate")
_BIRTHDATE = re.compile(r"^(?:eq)?(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class PatientQuery:
    """What a search asks for; ``nobody``: it can match no one (another identifier system)."""

    nhs_number: str | None = None
    details: DetailsSearch | None = None
    nobody: bool = False


def _identifier(token: str, label: str) -> str | PatientQuery:
    """The NHS number of an ``identifier`` token, or a query that matches nobody."""
    system, bar, value = token.rpartition("|")
    if bar and system and system != NHS_NUMBER_SYSTEM:
        return PatientQuery(nobody=True)
    problem = nhs_number_problem(value)
    digits = normalise_nhs_number(value)
    if problem is not None or digits is None:
        raise ValueError(f"{label}: {value!r} is not a valid NHS number (ten digits, mod 11)")
    return digits


def patient_query(
    params: Mapping[str, str], *, today: date, labels: Mapping[str, str] | None = None
) -> PatientQuery:
    """The query ``params`` describe; ValueError saying what is wrong with them, naming
    each parameter as ``labels`` does (another API's names for the same search)."""
    name = {p: p for p in SEARCH_PARAMETERS} | dict(labels or {})
    identifier = params.get("identifier", "").strip()
    family, given = params.get("family", "").strip(), params.get("given", "").strip()
    birthdate = params.get("birthdate", "").strip()
    if not identifier and not (family and birthdate):
        raise ValueError(
            f"search by {name['identifier']} (an NHS number), or by {name['family']} and "
            f"{name['birthdate']} together"
        )
    nhs_number = None
    if identifier:
        found = _identifier(identifier, name["identifier"])
        if isinstance(found, PatientQuery):
            return found
        nhs_number = found
    details = None
    if family or birthdate or given:
        if not (family and birthdate):
            raise ValueError(f"{name['family']} and {name['birthdate']} go together")
        match = _BIRTHDATE.match(birthdate)
        if match is None:
            raise ValueError(f"{name['birthdate']}: give a whole date, YYYY-MM-DD")
        year, month, day = match.groups()
        searched = details_search(family, given, day, month, year, today=today)
        if isinstance(searched, list):
            raise ValueError("; ".join(e.text for e in searched))
        details = searched
    return PatientQuery(nhs_number, details)


def patient_searchset(
    patients: list[dict[str, Any]],
    *,
    base_url: str,
    query: str,
    timestamp: datetime,
) -> dict[str, Any]:
    """A ``searchset`` Bundle of ``patients`` (Patient resources), each a match."""
    return searchset(
        patients,
        base_url=base_url,
        self_path=f"Patient?{query}",
        key=f"search|{query}",
        timestamp=timestamp,
    )
