"""Versioned code lists, kept as data files (``population/data/*.json``) with their citations.

Each file names its source, version and matching rule. This module only reads them into
plain frozen dataclasses; the scores themselves are in :mod:`wholesystem.population.indices`.

* ``ltc_wholesystem.json``: the long-term conditions used for features and segments.
* ``charlson_quan2005.json``: Charlson, Quan 2005 ICD-10 coding, Quan 2011 weights.
* ``hfrs_gilbert2018.json``: Hospital Frailty Risk Score, 109 ICD-10 categories with points.
* ``efi_clegg2016.json``: the 36 eFI deficits over SNOMED CT and ICD-10 (see its limitation).
* ``cms_payne2020.json``: Cambridge Multimorbidity Score, 20 conditions, general outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "CharlsonCategory",
    "CodeList",
    "Concept",
    "HfrsList",
    "charlson",
    "cms",
    "efi",
    "hfrs",
    "icd10_key",
    "ltc",
]


def icd10_key(code: str) -> str:
    """An ICD-10 code as the lists match it: upper case, no dot, no spaces (I50.9 -> I509)."""
    return code.strip().upper().replace(".", "").replace(" ", "")


@dataclass(frozen=True)
class Concept:
    """One condition or deficit: recognised from SNOMED concepts or ICD-10 prefixes."""

    id: str
    label: str
    snomed: frozenset[str]
    icd10: tuple[str, ...]
    """Dot-less ICD-10 prefixes."""
    weight: float = 1.0
    rule: str = ""
    """A non-code rule (eFI polypharmacy, requirement for care), empty when codes only."""
    lookback_years: int | None = None

    def matches_icd10(self, code: str) -> bool:
        key = icd10_key(code)
        return any(key.startswith(p) for p in self.icd10)


@dataclass(frozen=True)
class CodeList:
    id: str
    name: str
    version: str
    citation: tuple[str, ...]
    concepts: tuple[Concept, ...]
    limitation: str = ""

    def concept(self, concept_id: str) -> Concept:
        for c in self.concepts:
            if c.id == concept_id:
                return c
        raise KeyError(concept_id)


@dataclass(frozen=True)
class CharlsonCategory:
    id: str
    label: str
    weight: int
    """Quan et al. (2011) updated weight."""
    weight_1987: int
    """Charlson et al. (1987) original weight."""
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class HfrsList:
    version: str
    citation: tuple[str, ...]
    points: dict[str, float]
    """Three-character ICD-10 category -> points."""
    lookback_years: int


def _load(name: str) -> dict[str, Any]:
    text = resources.files("wholesystem.population").joinpath("data", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _concepts(rows: list[dict[str, Any]]) -> tuple[Concept, ...]:
    return tuple(
        Concept(
            id=str(r["id"]),
            label=str(r["label"]),
            snomed=frozenset(str(s) for s in r.get("snomed", [])),
            icd10=tuple(icd10_key(str(p)) for p in r.get("icd10", [])),
            weight=float(r.get("weight", 1.0)),
            rule=str(r.get("rule", "")),
            lookback_years=r.get("lookback_years"),
        )
        for r in rows
    )


def _code_list(name: str, key: str) -> CodeList:
    data = _load(name)
    return CodeList(
        id=str(data["id"]),
        name=str(data["name"]),
        version=str(data["version"]),
        citation=tuple(data["citation"]),
        concepts=_concepts(data[key]),
        limitation=str(data.get("limitation", "")),
    )


@cache
def ltc() -> CodeList:
    """The long-term conditions list."""
    return _code_list("ltc_wholesystem.json", "conditions")


@cache
def efi() -> CodeList:
    """The 36 eFI deficits."""
    return _code_list("efi_clegg2016.json", "deficits")


@cache
def cms() -> CodeList:
    """The 20 Cambridge Multimorbidity Score conditions with general-outcome weights."""
    return _code_list("cms_payne2020.json", "conditions")


@cache
def charlson() -> tuple[tuple[CharlsonCategory, ...], tuple[tuple[str, str], ...], str]:
    """The 17 Charlson categories, the (severe, mild) hierarchy pairs and the version."""
    data = _load("charlson_quan2005.json")
    cats = tuple(
        CharlsonCategory(
            id=str(c["id"]),
            label=str(c["label"]),
            weight=int(c["weight"]),
            weight_1987=int(c["weight_charlson_1987"]),
            prefixes=tuple(icd10_key(p) for p in c["prefixes"]),
        )
        for c in data["categories"]
    )
    pairs = tuple((str(a), str(b)) for a, b in data["hierarchy"])
    return cats, pairs, str(data["version"])


@cache
def hfrs() -> HfrsList:
    """The Hospital Frailty Risk Score code points."""
    data = _load("hfrs_gilbert2018.json")
    return HfrsList(
        version=str(data["version"]),
        citation=tuple(data["citation"]),
        points={icd10_key(c["code"]): float(c["points"]) for c in data["codes"]},
        lookback_years=int(data["lookback_years"]),
    )
