"""The published indices on hand-made code sets, and Charlson and HFRS against comorbidipy.

Golden values:
* Charlson: Quan H et al., Med Care 2005;43:1130-9 (ICD-10 coding, Table 1) with the
  updated weights of Quan H et al., Am J Epidemiol 2011;173:676-82 (Table 3): congestive
  heart failure 2, dementia 2, chronic pulmonary disease 1, rheumatic disease 1, mild liver
  disease 2, diabetes with chronic complications 1, hemiplegia/paraplegia 2, renal disease 1,
  any malignancy 2, moderate/severe liver disease 4, metastatic solid tumour 6, AIDS/HIV 4;
  MI, PVD, cerebrovascular disease, peptic ulcer and uncomplicated diabetes 0. comorbidipy
  0.5.0 gives AIDS/HIV 2 under its "quan" weights: the one deliberate difference, allowed
  for (and only that) in the cross-check.
* HFRS: Gilbert T et al., Lancet 2018;391:1775-82, appendix: e.g. F00 7.1, G81 4.4,
  R29 3.6, N39 3.2, W19 3.2, S72 1.4, J18 1.1, R50 0.1.
* eFI: Clegg A et al., Age Ageing 2016;45:353-60: 36 deficits; fit <= 0.12, mild <= 0.24,
  moderate <= 0.36, severe above.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from tests.population import _comorbidipy
from wholesystem.population import codelists, indices

# ----------------------------------------------------------------------------- Charlson


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], 0),
        (["I21.9"], 0),  # MI: weight 0 under Quan 2011
        (["I50.0"], 2),  # congestive heart failure
        (["F03"], 2),  # dementia
        (["J44.9"], 1),  # chronic pulmonary disease
        (["E11.9"], 0),  # diabetes without complication
        (["E11.2"], 1),  # diabetes with renal complication
        (["E11.9", "E11.2"], 1),  # hierarchy: only the complicated form counts
        (["K70.3"], 2),  # mild liver disease (alcoholic cirrhosis is 'mild' in Quan 2005)
        (["K70.3", "I85.0"], 4),  # moderate/severe liver disease supersedes mild
        (["C34.9"], 2),  # malignancy
        (["C34.9", "C78.0"], 6),  # metastatic supersedes malignancy
        (["N18.5"], 1),  # renal disease
        (["G81.9"], 2),  # hemiplegia
        (["I50.9", "F03", "J44.9", "N18.3"], 6),
        (["I509"], 2),  # dots optional
        (["B20.1"], 4),  # AIDS/HIV: 4 in Quan 2011 Table 3
        (["L40.0", "Z99.9"], 0),  # outside every category
    ],
)
def test_charlson_quan2011(codes: list[str], expected: int) -> None:
    assert indices.charlson_score(codes) == expected


def test_charlson_1987_weights() -> None:
    # Charlson 1987: MI 1, CHF 1, diabetes with complications 2, metastatic tumour 6.
    assert indices.charlson_score(["I21.0", "I50.0", "E10.2", "C79.5"], "charlson1987") == 10


def test_charlson_list_is_quan_2005() -> None:
    cats, pairs, version = codelists.charlson()
    assert len(cats) == 17
    assert {c.id for c in cats} >= {"ami", "chf", "metacanc", "aids"}
    assert ("msld", "mld") in pairs
    assert "quan2005" in version


# ----------------------------------------------------------------------------- HFRS


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], 0.0),
        (["F00.1"], 7.1),
        (["F00.1", "F00.9"], 7.1),  # a category counts once
        (["R29.6", "N39.0", "W19"], 10.0),
        (["S72.0", "J18.9", "R50.9"], 2.6),
        (["I10"], 0.0),
    ],
)
def test_hfrs_gilbert2018(codes: list[str], expected: float) -> None:
    assert indices.hfrs_score(codes) == pytest.approx(expected)


def test_hfrs_list_has_109_codes() -> None:
    points = codelists.hfrs().points
    assert len(points) == 109
    assert points["F00"] == 7.1
    assert points["R50"] == 0.1
    assert round(sum(points.values()), 1) == 173.2


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "low"), (4.9, "low"), (5, "intermediate"), (15, "intermediate"), (15.1, "high")],
)
def test_hfrs_bands(score: float, band: str) -> None:
    assert indices.hfrs_category(score) == band


# ----------------------------------------------------------------------------- eFI, CMS


def test_efi_has_the_36_deficits_of_clegg_2016() -> None:
    deficits = codelists.efi().concepts
    assert len(deficits) == 36
    assert len({d.id for d in deficits}) == 36


@pytest.mark.parametrize(
    ("count", "category"),
    [
        (0, "fit"),
        (4, "fit"),
        (5, "mild"),
        (8, "mild"),
        (9, "moderate"),
        (12, "moderate"),
        (13, "severe"),
        (36, "severe"),
    ],
)
def test_efi_categories(count: int, category: str) -> None:
    assert indices.efi_category(indices.efi_score(count)) == category


def test_efi_deficits_from_codes_and_rules() -> None:
    found = indices.efi_deficits(
        {"49436004", "160689007"},  # atrial fibrillation, housebound
        {"I50.9", "W19", "R29.6"},  # heart failure, falls (twice: one deficit)
        medication_count=6,
        social_care_active=True,
    )
    assert found == [
        "atrial_fibrillation",
        "falls",
        "heart_failure",
        "housebound",
        "polypharmacy",
        "requirement_for_care",
    ]
    assert indices.efi_score(len(found)) == pytest.approx(6 / 36)
    with pytest.raises(ValueError, match=r"0\.\.36"):
        indices.efi_score(37)


def test_cms_general_outcome_weights() -> None:
    # Payne 2020 general-outcome weights as held in cms_payne2020.json: dementia 2.50,
    # COPD 1.46, atrial fibrillation 1.34, hypertension 0.08.
    assert indices.cms_score({"52448006"}, set()) == pytest.approx(2.5)
    assert indices.cms_score({"13645005", "49436004"}, {"I10"}) == pytest.approx(2.88)
    assert indices.cms_conditions(set(), {"J44.1", "J44.9"}) == ["copd"]


def test_ltc_conditions_from_both_code_systems() -> None:
    assert indices.ltc_conditions({"44054006"}, {"I50.9", "C50.9", "C44.9"}) == [
        "diabetes",
        "heart_failure",
        "cancer",
    ]


# ----------------------------------------------------------------------------- comorbidipy


def _code_sets(seed: int, n: int) -> list[list[str]]:
    """Random ICD-10 code sets mixing every Charlson prefix and HFRS category with noise."""
    rng = random.Random(seed)
    cats, _pairs, _v = codelists.charlson()
    known = sorted({p for c in cats for p in c.prefixes} | set(codelists.hfrs().points))
    sets = []
    for _ in range(n):
        codes = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.75:
                base = rng.choice(known)
            else:
                base = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + f"{rng.randint(0, 99):02d}"
            tail = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 2)))
            codes.append((base + tail)[:5])
        sets.append(codes)
    return sets


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_charlson_and_hfrs_agree_with_comorbidipy() -> None:
    comorbidipy = _comorbidipy.load()
    sets = _code_sets(seed=2018, n=1500)
    rows = [(i, c) for i, codes in enumerate(sets) for c in codes]
    df = pd.DataFrame(rows, columns=["id", "code"])
    theirs = comorbidipy.comorbidity(
        df.copy(),
        id="id",
        code="code",
        age=None,
        score="charlson",
        icd="icd10",
        variant="quan",
        weighting="quan",
        assign0=True,
    ).set_index("id")["comorbidity_score"]
    theirs_1987 = comorbidipy.comorbidity(
        df.copy(),
        id="id",
        code="code",
        age=None,
        score="charlson",
        icd="icd10",
        variant="quan",
        weighting="charlson",
        assign0=True,
    ).set_index("id")["comorbidity_score"]
    hfrs = comorbidipy.hfrs(df.copy(), id="id", code="code").set_index("id")["hfrs"]
    checked = 0
    for i, codes in enumerate(sets):
        if not codes:
            continue
        aids = any(c.upper().startswith(("B20", "B21", "B22", "B24")) for c in codes)
        assert indices.charlson_score(codes) == int(theirs[i]) + (2 if aids else 0), codes
        assert indices.charlson_score(codes, "charlson1987") == int(theirs_1987[i]), codes
        assert indices.hfrs_score(codes) == pytest.approx(round(float(hfrs[i]), 1)), codes
        checked += 1
    assert checked > 1300
