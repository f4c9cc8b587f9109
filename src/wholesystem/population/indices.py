"""Published indices as plain functions over a person's codes (the reference implementation).

The pipeline computes the same scores in DuckDB SQL over the whole population
(:mod:`wholesystem.population.features`); the tests check the two agree, and check the
Charlson and HFRS functions here against the ``comorbidipy`` package.

* **Charlson** (Quan 2005 ICD-10 coding, Quan 2011 weights by default; the 1987 weights on
  request), with the hierarchy: the milder of liver disease, diabetes and cancer scores 0
  when the severe form is present.
* **HFRS** (Gilbert 2018): the sum of points of the distinct three-character ICD-10
  categories coded.
* **eFI** (Clegg 2016): deficits present / 36, in four categories.
* **CMS** (Payne 2020): the sum of the general-outcome weights of the conditions present.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from wholesystem.population import codelists
from wholesystem.population.codelists import Concept, icd10_key

__all__ = [
    "EFI_CATEGORIES",
    "charlson_categories",
    "charlson_score",
    "cms_conditions",
    "cms_score",
    "efi_category",
    "efi_deficits",
    "efi_score",
    "hfrs_category",
    "hfrs_score",
    "ltc_conditions",
]

EFI_CATEGORIES = ("fit", "mild", "moderate", "severe")


def charlson_categories(icd10: Iterable[str]) -> set[str]:
    """The Charlson categories any of ``icd10`` falls in (before the hierarchy)."""
    cats, _pairs, _version = codelists.charlson()
    keys = {icd10_key(c) for c in icd10 if c and c.strip()}
    return {cat.id for cat in cats if any(k.startswith(cat.prefixes) for k in keys)}


def charlson_score(
    icd10: Iterable[str], weights: Literal["quan2011", "charlson1987"] = "quan2011"
) -> int:
    """The Charlson index of a set of ICD-10 codes (dots optional)."""
    cats, pairs, _version = codelists.charlson()
    present = charlson_categories(icd10)
    for severe, mild in pairs:
        if severe in present:
            present.discard(mild)
    weight = {c.id: (c.weight if weights == "quan2011" else c.weight_1987) for c in cats}
    return sum(weight[c] for c in present)


def hfrs_score(icd10: Iterable[str]) -> float:
    """The Hospital Frailty Risk Score of a set of ICD-10 codes, rounded to 0.1."""
    points = codelists.hfrs().points
    cats = {icd10_key(c)[:3] for c in icd10 if c and c.strip()}
    return round(sum(points.get(c, 0.0) for c in cats), 1)


def hfrs_category(score: float) -> str:
    """Gilbert et al.: low (<5), intermediate (5-15), high (>15)."""
    if score < 5:
        return "low"
    return "intermediate" if score <= 15 else "high"


def _present(concepts: Iterable[Concept], snomed: set[str], icd10: set[str]) -> list[Concept]:
    return [
        c
        for c in concepts
        if (c.snomed & snomed) or any(k.startswith(c.icd10) for k in icd10 if c.icd10)
    ]


def ltc_conditions(snomed: Iterable[str], icd10: Iterable[str]) -> list[str]:
    """The long-term condition ids recognised from a person's codes, in list order."""
    keys = {icd10_key(c) for c in icd10}
    return [c.id for c in _present(codelists.ltc().concepts, set(snomed), keys)]


def efi_deficits(
    snomed: Iterable[str],
    icd10: Iterable[str],
    *,
    medication_count: int = 0,
    social_care_active: bool = False,
) -> list[str]:
    """The eFI deficits present: coded ones plus polypharmacy and requirement for care."""
    keys = {icd10_key(c) for c in icd10}
    deficits = codelists.efi().concepts
    found = {c.id for c in _present(deficits, set(snomed), keys)}
    if medication_count >= 5:
        found.add("polypharmacy")
    if social_care_active:
        found.add("requirement_for_care")
    return [c.id for c in deficits if c.id in found]


def efi_score(deficit_count: int) -> float:
    """The eFI: deficits present out of the 36 (unrounded, so 13/36 = 0.361 is severe)."""
    if not 0 <= deficit_count <= 36:
        raise ValueError(f"eFI deficit count must be 0..36, got {deficit_count}")
    return deficit_count / 36


def efi_category(value: float) -> str:
    """Clegg et al.: fit (<=0.12), mild (<=0.24), moderate (<=0.36), severe (>0.36)."""
    if value <= 0.12:
        return "fit"
    if value <= 0.24:
        return "mild"
    return "moderate" if value <= 0.36 else "severe"


def cms_conditions(snomed: Iterable[str], icd10: Iterable[str]) -> list[str]:
    """The Cambridge Multimorbidity Score conditions present."""
    keys = {icd10_key(c) for c in icd10}
    return [c.id for c in _present(codelists.cms().concepts, set(snomed), keys)]


def cms_score(snomed: Iterable[str], icd10: Iterable[str]) -> float:
    """The general-outcome Cambridge Multimorbidity Score, rounded to 0.01."""
    weights = {c.id: c.weight for c in codelists.cms().concepts}
    return round(sum(weights[c] for c in cms_conditions(snomed, icd10)), 2)
