"""Identity noise: right where intended, wrong at the configured rates, in realistic ways."""

from __future__ import annotations

from collections import Counter, defaultdict

import nhs_number
import pytest

from wholesystem.synth import IdentityNoise, SynthConfig
from wholesystem.synth.config import SOURCE_KIND_MULTIPLIER, effective_rate
from wholesystem.synth.nhs import is_valid

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
KIND_OF_ORG = {
    "R9A": "acute",
    "R9B": "acute",
    "R9C": "community",
    "R9D": "mental_health",
    "E06000990": "social_care",
    "E10000990": "social_care",
    "X26": "registry",
}


def _kind(org: str) -> str:
    return KIND_OF_ORG.get(org, "gp")


def _records(ics: Ics) -> dict[tuple[str, str], dict[str, str]]:
    """One row per source record (org, local id) from the CSV extracts."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for ds in PATIENT_DATASETS:
        for row in ics.dataset_rows(ds):
            out.setdefault((row["_org"], row["local_patient_id"]), row)
    return out


def test_clean_run_has_true_identities_everywhere(ics_clean: Ics) -> None:
    truth = {r["person_id"]: r for r in ics_clean.rows("truth/people.csv")}
    person_of = {
        (r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics_clean.rows("truth/records.csv")
    }
    seen: dict[tuple[str, str], str] = {}
    for (org, local), row in _records(ics_clean).items():
        person = truth[person_of[(org, local)]]
        assert row["nhs_number"] == person["nhs_number"]
        assert is_valid(row["nhs_number"])
        assert nhs_number.is_valid(row["nhs_number"])
        assert row["given_name"] == person["given_name"]
        assert row["family_name"] in (person["family_name"], person["previous_family_name"])
        assert row["date_of_birth"] == person["date_of_birth"]
        assert row["sex"] == person["sex"]
        assert row["postcode"] in (person["postcode"], person["previous_postcode"])
        # no duplicates: one local id per person per organisation
        assert seen.setdefault((org, person["person_id"]), local) == local


def test_truth_nhs_numbers_are_valid_synthetic_and_unique(ics: Ics) -> None:
    numbers = [r["nhs_number"] for r in ics.rows("truth/people.csv")]
    assert len(set(numbers)) == len(numbers)
    for n in numbers:
        assert n.startswith("999")
        assert nhs_number.is_valid(n)


def test_invalid_and_missing_rates_match_the_config(ics: Ics) -> None:
    noise = IdentityNoise()
    records = _records(ics)
    expected_invalid = expected_missing = 0.0
    invalid = missing = 0
    for (org, _local), row in records.items():
        kind = _kind(org)
        expected_invalid += effective_rate(noise, "nhs_invalid", kind, 1.0)
        expected_missing += effective_rate(noise, "nhs_missing", kind, 1.0)
        if row["nhs_number"] == "":
            missing += 1
        elif not is_valid(row["nhs_number"]):
            invalid += 1
            assert not nhs_number.is_valid(row["nhs_number"].replace(" ", ""))
    assert 0.6 * expected_invalid <= invalid <= 1.4 * expected_invalid
    # duplicates are made with three times the missing-number rate
    assert 0.7 * expected_missing <= missing <= 1.5 * expected_missing


def test_noise_scale_scales_the_rates(ics_clean: Ics) -> None:
    noise = IdentityNoise()
    assert effective_rate(noise, "nhs_invalid", "acute", 0.0) == 0.0
    assert effective_rate(noise, "nhs_invalid", "acute", 2.0) == pytest.approx(0.01)
    assert effective_rate(noise, "nhs_invalid", "gp", 1.0) == pytest.approx(
        0.005 * SOURCE_KIND_MULTIPLIER["gp"]
    )
    assert effective_rate(IdentityNoise(nhs_missing=0.6), "nhs_missing", "social_care", 2.0) == 1.0
    # world changes are not scaled
    assert effective_rate(noise, "household_move", "acute", 0.0) == noise.household_move


def test_wrong_numbers_belong_to_other_people_some_relatives(
    ics: Ics,
    truth_people: dict[str, dict[str, str]],
    record_person: dict[tuple[str, str, str], str],
) -> None:
    by_number = {p["nhs_number"]: p for p in truth_people.values()}
    wrong = relatives = 0
    for ds in PATIENT_DATASETS:
        for row in ics.dataset_rows(ds):
            person = truth_people[record_person[(ds, row["_org"], row["local_patient_id"])]]
            number = row["nhs_number"].replace(" ", "")
            if number and number != person["nhs_number"] and number in by_number:
                wrong += 1
                other = by_number[number]
                assert other["person_id"] != person["person_id"]
                relatives += other["household_id"] == person["household_id"]
    assert wrong > 0
    assert 0 < relatives < wrong


def test_format_variants_and_name_noise_occur(
    ics: Ics,
    truth_people: dict[str, dict[str, str]],
    record_person: dict[tuple[str, str, str], str],
) -> None:
    counts: Counter[str] = Counter()
    for ds in ("apc", "ecds", "opa", "csds", "gp_patients"):
        for row in ics.dataset_rows(ds):
            person = truth_people[record_person[(ds, row["_org"], row["local_patient_id"])]]
            n = row["nhs_number"]
            counts["spaced"] += len(n) == 12 and n[3] == " " and n[7] == " "
            pc = row["postcode"]
            counts["no_space"] += bool(pc) and " " not in pc
            counts["lower"] += bool(pc) and pc == pc.lower()
            counts["upper_name"] += row["family_name"] == person["family_name"].upper() and (
                row["family_name"] != person["family_name"]
            )
            given = row["given_name"]
            if given.lower() != person["given_name"].lower():
                counts["given_differs"] += 1
            if row["date_of_birth"] != person["date_of_birth"]:
                counts["dob_differs"] += 1
            if row["sex"] == "":
                counts["sex_missing"] += 1
    for key in (
        "spaced",
        "no_space",
        "lower",
        "upper_name",
        "given_differs",
        "dob_differs",
        "sex_missing",
    ):
        assert counts[key] > 0, key


def test_nicknames_come_from_the_map() -> None:
    import numpy as np

    from wholesystem.synth.names import GIVEN, NICKNAMES, nickname_of

    idx = np.array([GIVEN.index["William"], GIVEN.index["Elizabeth"], GIVEN.index["Margaret"]])
    nick, has = nickname_of(idx, np.array([0.0, 0.5, 0.99]))
    assert has.all()
    got = [GIVEN.names[i] for i in nick]
    assert got[0] in NICKNAMES["William"]
    assert "Bill" in NICKNAMES["William"]
    assert got[1] in NICKNAMES["Elizabeth"]
    assert {"Liz", "Beth"} <= set(NICKNAMES["Elizabeth"])
    assert got[2] in NICKNAMES["Margaret"]
    assert {"Maggie", "Peggy"} <= set(NICKNAMES["Margaret"])


def test_duplicates_within_a_source(ics: Ics) -> None:
    ids: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for r in ics.rows("truth/records.csv"):
        ids[(r["org_code"], r["person_id"])].add(r["local_patient_id"])
    dups = [k for k, v in ids.items() if len(v) > 1]
    assert dups
    assert all(len(ids[k]) == 2 for k in dups)
    assert len(dups) < 0.05 * len(ids)


def test_households_twins_moves_and_surname_changes(
    truth_people: dict[str, dict[str, str]],
) -> None:
    people = list(truth_people.values())
    households: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    for p in people:
        households[p["household_id"]].append(p)
    families = [h for h in households.values() if h[0]["household_type"] == "family"]
    assert families
    shared = sum(len({p["family_name"] for p in h}) == 1 for h in families)
    assert shared > 0.4 * len(families)
    assert all(len({p["postcode"] for p in h if not p["moved_on"]}) <= 1 for h in families)
    twins = [p for p in people if p["twin"] == "Y"]
    assert twins
    for t in twins:
        mates = [
            q
            for q in households[t["household_id"]]
            if q["twin"] == "Y"
            and q["person_id"] != t["person_id"]
            and q["date_of_birth"] == t["date_of_birth"]
        ]
        assert mates, t["person_id"]
    assert any(p["previous_family_name"] for p in people)
    assert any(p["previous_postcode"] for p in people)


def test_stale_postcodes_after_moves(
    ics: Ics,
    truth_people: dict[str, dict[str, str]],
    record_person: dict[tuple[str, str, str], str],
) -> None:
    stale = 0
    for ds in ("gp_patients", "apc", "opa", "csds"):
        for row in ics.dataset_rows(ds):
            person = truth_people[record_person[(ds, row["_org"], row["local_patient_id"])]]
            if person["previous_postcode"] and row["postcode"] == person["previous_postcode"]:
                stale += 1
    assert stale > 0


def test_bad_noise_config_is_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="less than or equal to 1"):
        IdentityNoise(nhs_missing=1.5)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        IdentityNoise(nhs_misssing=0.1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="noise_scale"):
        SynthConfig(noise_scale=-1)
