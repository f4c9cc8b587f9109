"""Ground truth: complete record keys, real risks, and extracts consistent with both."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict

from .conftest import Ics

PATIENT_DATASETS = (
    "gp_patients",
    "gp_events",
    "apc",
    "ecds",
    "opa",
    "csds",
    "mhsds",
    "asc",
    "deaths",
)
EMERGENCY = {"21", "22", "23", "24", "25", "28"}


def test_records_cover_every_patient_level_row_key(ics: Ics) -> None:
    records = {
        (r["dataset"], r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
    }
    people = {r["person_id"] for r in ics.rows("truth/people.csv")}
    keys = set()
    for ds in PATIENT_DATASETS:
        for row in ics.dataset_rows(ds):
            keys.add((ds, row["_org"], row["local_patient_id"]))
    for org, path in ics.extracts("gp_fhir"):
        for line in path.read_text().splitlines():
            bundle = json.loads(line)
            patient = bundle["entry"][0]["resource"]
            local = [
                i["value"]
                for i in patient["identifier"]
                if i["system"].endswith("/Id/local-patient-id")
            ]
            keys.add(("gp_fhir", org, local[0]))
    assert keys == set(records)
    assert set(records.values()) <= people
    assert len(records) == ics.manifest.files["truth/records.csv"].rows


def test_risk_probabilities_are_proper(ics: Ics) -> None:
    rows = ics.rows("truth/risk.csv")
    assert rows
    years = Counter(r["year"] for r in rows)
    assert set(years) == {"2021", "2022", "2023", "2024", "2025"}
    for r in rows:
        p = float(r["p_emergency_admission"])
        assert 0.0 < p < 1.0
        assert int(r["emergency_admissions"]) >= 0


def _year_of(day: dt.date) -> int:
    """Risk years run from 1 April (the anniversary of the start date)."""
    return day.year if (day.month, day.day) >= (4, 1) else day.year - 1


def test_emergency_admissions_match_the_truth_counts(ics: Ics) -> None:
    person_of = {
        (r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
        if r["dataset"] == "apc"
    }
    observed: Counter[tuple[str, int]] = Counter()
    for row in ics.dataset_rows("apc"):
        if row["admission_method"] in EMERGENCY:
            person = person_of[(row["_org"], row["local_patient_id"])]
            observed[(person, _year_of(dt.date.fromisoformat(row["admission_date"])))] += 1
    truth = {
        (r["person_id"], int(r["year"])): int(r["emergency_admissions"])
        for r in ics.rows("truth/risk.csv")
    }
    people = {r["person_id"]: r for r in ics.rows("truth/people.csv")}
    for key, count in truth.items():
        assert observed.get(key, 0) == count, key
    # admissions outside risk rows belong to people who arrived (or were born) mid-year
    for (person, year), _count in observed.items():
        if (person, year) not in truth:
            entered = dt.date.fromisoformat(people[person]["entered_on"])
            assert entered > dt.date(year, 4, 1), (person, year)
    assert sum(truth.values()) > 0


def test_risk_is_calibrated_against_what_happened(ics: Ics) -> None:
    """Back-test: within bands of true risk, the share admitted matches the mean risk."""
    rows = [
        (float(r["p_emergency_admission"]), int(r["emergency_admissions"]) > 0)
        for r in ics.rows("truth/risk.csv")
    ]
    rows.sort()
    bands = 5
    size = len(rows) // bands
    for b in range(bands):
        chunk = rows[b * size : (b + 1) * size]
        mean_p = sum(p for p, _ in chunk) / len(chunk)
        observed = sum(a for _, a in chunk) / len(chunk)
        sd = (mean_p * (1 - mean_p) / len(chunk)) ** 0.5
        assert abs(observed - mean_p) < 4 * sd + 0.002, (b, mean_p, observed)
    top = rows[-size:]
    bottom = rows[:size]
    assert sum(a for _, a in top) > 5 * max(sum(a for _, a in bottom), 1)


def test_coded_prevalence_rises_with_age(ics: Ics) -> None:
    """Back-test the GP extracts against the generating truth."""
    person_of = {
        (r["dataset"], r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
    }
    people = {r["person_id"]: r for r in ics.rows("truth/people.csv")}
    end = dt.date(2026, 3, 31)
    coded: defaultdict[str, set[str]] = defaultdict(set)
    registered: set[str] = set()
    for row in ics.dataset_rows("gp_patients"):
        registered.add(person_of[("gp_patients", row["_org"], row["local_patient_id"])])
    codes = {"38341003": "hypertension", "44054006": "diabetes", "53741008": "chd"}
    for row in ics.dataset_rows("gp_events"):
        if row["snomed_code"] in codes:
            person = person_of[("gp_events", row["_org"], row["local_patient_id"])]
            coded[codes[row["snomed_code"]]].add(person)
    bands = [(18, 45), (45, 65), (65, 120)]
    for condition, completeness in (("hypertension", 0.68), ("diabetes", 0.9)):
        coded_rates, true_rates = [], []
        for lo, hi in bands:
            group = [
                p
                for p in registered
                if lo
                <= (end - dt.date.fromisoformat(people[p]["date_of_birth"])).days / 365.25
                < hi
            ]
            n = max(len(group), 1)
            coded_rates.append(sum(p in coded[condition] for p in group) / n)
            true_rates.append(
                sum(condition in people[p]["conditions"].split("|") for p in group) / n
            )
        assert coded_rates == sorted(coded_rates), (condition, coded_rates)
        assert true_rates == sorted(true_rates), (condition, true_rates)
        assert coded_rates[-1] > 3 * coded_rates[0]
        # the extracts see most, not all, of the true prevalence (some stays undiagnosed)
        for c, t in zip(coded_rates, true_rates, strict=True):
            assert c <= t
            assert c >= 0.75 * completeness * t, (condition, c, t)
    # coding never exceeds the truth: every coded person really has the condition
    for condition, persons in coded.items():
        for p in persons:
            assert condition in people[p]["conditions"].split("|")


EVENT_DATES = {
    "gp_events": ["event_date"],
    "apc": ["admission_date", "discharge_date"],
    "ecds": ["arrival", "departure"],
    "opa": ["appointment_date"],
    "csds": ["contact_date"],
    "mhsds": ["contact_date"],
    "asc": ["request_date", "start_date", "end_date"],
}


def test_no_activity_before_birth_or_after_death(ics: Ics) -> None:
    person_of = {
        (r["dataset"], r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
    }
    people = {r["person_id"]: r for r in ics.rows("truth/people.csv")}
    checked = 0
    for ds, cols in EVENT_DATES.items():
        for row in ics.dataset_rows(ds):
            person = people[person_of[(ds, row["_org"], row["local_patient_id"])]]
            born = person["date_of_birth"]
            died = person["date_of_death"] or "9999-12-31"
            for col in cols:
                day = row[col][:10]
                if not day:
                    continue
                checked += 1
                assert born <= day <= died, (ds, col, row)
    assert checked > 10_000


def test_people_truth_columns_and_latent_drivers(ics: Ics) -> None:
    rows = ics.rows("truth/people.csv")
    assert len(rows) == ics.config.people
    for r in rows[:500]:
        assert 0.0 <= float(r["frailty"]) <= 1.0
        assert 0.0 <= float(r["isolation"]) <= 1.0
        assert 1 <= int(r["deprivation_decile"]) <= 10
        assert r["frailty_category"] in {"fit", "mild", "moderate", "severe"}
    deaths = [r for r in rows if r["left_reason"] == "died"]
    assert deaths
    assert all(r["date_of_death"] == r["left_on"] for r in deaths)
    registry = ics.dataset_rows("deaths")
    assert len(registry) == len(deaths)
    # some frailty and most isolation stay latent (uncoded)
    isolated = [r for r in rows if float(r["isolation"]) > 0.65]
    assert isolated


def test_conditions_truth_matches_people(ics: Ics) -> None:
    by_person: defaultdict[str, set[str]] = defaultdict(set)
    for r in ics.rows("truth/conditions.csv"):
        by_person[r["person_id"]].add(r["condition"])
        if r["coded_date"]:
            assert r["coded_date"] >= r["onset_date"]
    for r in ics.rows("truth/people.csv"):
        listed = set(filter(None, r["conditions"].split("|")))
        assert listed <= by_person[r["person_id"]]
