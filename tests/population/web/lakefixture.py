"""A small ``population_person`` table (the population contract's schema) and its people.

Written with pyarrow, so these tests do not depend on the stratification pipeline. The
footprint is tests/conftest.py's SMALL_FOOTPRINT: North PCN (U00001: A00001 Hill Surgery,
A00002 Mill Practice) in place PL1, Harbour PCN (U00002: A00003 Quay) in place PL2.

Named people (everything else is generally well and in the "rest" tier):

* ALF (A00001): top 0.5%, 3 emergency admissions — a case-finding candidate.
* BEA (A00002): 0.5-5%, 4 A&E attendances — a candidate for North PCN, not for A00001's
  practice list (though A00001 may see her in a cohort list: same PCN).
* CAL (A00003): top 0.5%, 2 emergency admissions — Harbour's candidate only.
* DOT (A00001): top 0.5%, complex multimorbidity with 1 emergency admission — candidate.
* EVE (A00001): top 0.5% but no recent activity — not a candidate.
* FAY (A00001): rest tier with 5 emergency admissions — not a candidate (not high risk).
* GUS (A00001): 0.5-5%, 2 emergency admissions, opted out of secondary use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.record.view.lakefixture import SCHEMAS, nhs_number
from wholesystem.store.lake import Lake

INDEX_DATE = date(2025, 3, 31)
S = pa.string()

POPULATION_SCHEMA = pa.schema(
    [
        ("person_id", S),
        ("index_date", pa.date32()),
        ("model_version", S),
        ("practice_code", S),
        ("neighbourhood_code", S),
        ("place_code", S),
        ("age", pa.int32()),
        ("age_band", S),
        ("sex", S),
        ("deprivation_quintile", pa.int32()),
        ("ethnicity_group", S),
        ("conditions", pa.list_(S)),
        ("ltc_count", pa.int32()),
        ("efi", pa.float64()),
        ("efi_category", S),
        ("hfrs", pa.float64()),
        ("charlson", pa.int32()),
        ("cms", pa.float64()),
        ("emergency_admissions_12m", pa.int32()),
        ("ae_attendances_12m", pa.int32()),
        ("outpatient_12m", pa.int32()),
        ("community_contacts_12m", pa.int32()),
        ("mental_health_contacts_12m", pa.int32()),
        ("social_care_active", pa.bool_()),
        ("bed_days_12m", pa.int32()),
        ("medication_count", pa.int32()),
        ("risk", pa.float64()),
        ("risk_rank", pa.int32()),
        ("tier", S),
        ("segment", S),
        ("reasons", pa.list_(S)),
    ]
)

PRACTICES = {"A00001": ("U00001", "PL1"), "A00002": ("U00001", "PL1"), "A00003": ("U00002", "PL2")}
AGE_BANDS = ((17, "0-17"), (39, "18-39"), (64, "40-64"), (74, "65-74"), (84, "75-84"))

ALF, BEA, CAL, DOT, EVE, FAY, GUS = (f"WP20000000{i:02d}" for i in range(1, 8))
NAMES = {
    ALF: ("Alf", "Ashdown"),
    BEA: ("Bea", "Barton"),
    CAL: ("Cal", "Carver"),
    DOT: ("Dot", "Dunmore"),
    EVE: ("Eve", "Everly"),
    FAY: ("Fay", "Fenwick"),
    GUS: ("Gus", "Gorton"),
}


def age_band(age: int) -> str:
    for top, band in AGE_BANDS:
        if age <= top:
            return band
    return "85+"


def population_row(person_id: str, practice: str, **values: Any) -> dict[str, Any]:
    """A ``population_person`` row with everyday defaults, overridden by ``values``."""
    hood, place = PRACTICES[practice]
    age = int(values.pop("age", 50))
    row: dict[str, Any] = {
        "person_id": person_id,
        "index_date": INDEX_DATE,
        "model_version": "test-1",
        "practice_code": practice,
        "neighbourhood_code": hood,
        "place_code": place,
        "age": age,
        "age_band": age_band(age),
        "sex": "F",
        "deprivation_quintile": 3,
        "ethnicity_group": "White",
        "conditions": [],
        "ltc_count": 0,
        "efi": 0.0,
        "efi_category": "fit",
        "hfrs": 0.0,
        "charlson": 0,
        "cms": 0.0,
        "emergency_admissions_12m": 0,
        "ae_attendances_12m": 0,
        "outpatient_12m": 0,
        "community_contacts_12m": 0,
        "mental_health_contacts_12m": 0,
        "social_care_active": False,
        "bed_days_12m": 0,
        "medication_count": 0,
        "risk": 0.01,
        "risk_rank": 0,
        "tier": "rest",
        "segment": "generally_well",
        "reasons": [],
    }
    row.update(values)
    return row


def named_rows() -> list[dict[str, Any]]:
    return [
        population_row(
            ALF,
            "A00001",
            age=81,
            tier="top_0_5",
            risk=0.81,
            segment="frailty_and_dementia",
            conditions=["heart_failure", "copd"],
            ltc_count=2,
            emergency_admissions_12m=3,
            reasons=["3 emergency admissions in the last year", "Severe frailty"],
        ),
        population_row(
            BEA,
            "A00002",
            age=44,
            tier="p0_5_to_5",
            risk=0.42,
            segment="long_term_condition",
            conditions=["asthma"],
            ltc_count=1,
            ae_attendances_12m=4,
            reasons=["4 A&E attendances in the last year"],
        ),
        population_row(
            CAL,
            "A00003",
            age=77,
            tier="top_0_5",
            risk=0.77,
            segment="long_term_condition",
            conditions=["copd"],
            ltc_count=1,
            emergency_admissions_12m=2,
            sex="M",
            reasons=["2 emergency admissions in the last year"],
        ),
        population_row(
            DOT,
            "A00001",
            age=70,
            tier="top_0_5",
            risk=0.66,
            segment="complex_multimorbidity",
            conditions=["diabetes", "ckd", "heart_failure"],
            ltc_count=3,
            emergency_admissions_12m=1,
            reasons=["Three long-term conditions"],
        ),
        population_row(EVE, "A00001", age=90, tier="top_0_5", risk=0.6, segment="end_of_life"),
        population_row(FAY, "A00001", age=30, tier="rest", risk=0.05, emergency_admissions_12m=5),
        population_row(
            GUS,
            "A00001",
            age=60,
            tier="p0_5_to_5",
            risk=0.5,
            segment="long_term_condition",
            conditions=["diabetes"],
            ltc_count=1,
            emergency_admissions_12m=2,
            sex="M",
            reasons=["2 emergency admissions in the last year"],
        ),
    ]


def filler_rows() -> list[dict[str, Any]]:
    """Generally well people: 40 at A00001, 30 at A00002, 25 at A00003."""
    rows = []
    n = 0
    for practice, count in (("A00001", 40), ("A00002", 30), ("A00003", 25)):
        for i in range(count):
            n += 1
            rows.append(
                population_row(
                    f"WP21{n:08d}",
                    practice,
                    age=5 + (i * 7) % 80,
                    risk=0.001 * (i % 9 + 1),
                    deprivation_quintile=(i % 5) + 1,
                    sex="M" if i % 2 else "F",
                )
            )
    return rows


def nhs_for(person_id: str) -> str:
    """A valid, distinct NHS number for each fixture person."""
    seed = int(person_id[2:]) % 10**8
    k = 0
    while True:
        try:
            return nhs_number(f"4{(seed * 7 + k) % 10**8:08d}")
        except ValueError:
            k += 1


def write_population(root: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write ``population_person`` (ranked by risk), ``person`` and ``registration``."""
    ordered = sorted(rows, key=lambda r: (-float(r["risk"]), str(r["person_id"])))
    ranked = [{**r, "risk_rank": i + 1} for i, r in enumerate(ordered)]
    ranked.sort(key=lambda r: str(r["person_id"]))
    lake = Lake(root)
    lake.write_arrow("population_person", pa.Table.from_pylist(ranked, POPULATION_SCHEMA))
    people = []
    registrations = []
    for r in ranked:
        given, family = NAMES.get(r["person_id"], ("Pat", f"Filler{r['person_id'][-4:]}"))
        people.append(
            {
                "person_id": r["person_id"],
                "nhs_number": nhs_for(r["person_id"]),
                "given_name": given,
                "family_name": family,
                "date_of_birth": date(INDEX_DATE.year - int(r["age"]), 6, 1),
                "sex": r["sex"],
                "postcode": "TS1 1AA",
                "practice_code": r["practice_code"],
                "registration_date": date(2010, 1, 1),
                "ethnicity": None,
                "date_of_death": None,
                "record_count": 1,
                "sources": ["gp"],
            }
        )
        registrations.append(
            {
                "person_id": r["person_id"],
                "record_id": f"gp:{r['person_id']}",
                "practice_code": r["practice_code"],
                "registration_date": date(2010, 1, 1),
                "deregistration_date": None,
            }
        )
    lake.write_arrow("person", pa.Table.from_pylist(people, SCHEMAS["person"]))
    lake.write_arrow("registration", pa.Table.from_pylist(registrations, SCHEMAS["registration"]))


def write_fixture(root: Path) -> list[dict[str, Any]]:
    rows = named_rows() + filler_rows()
    write_population(root, rows)
    return rows
