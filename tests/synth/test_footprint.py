"""The footprint file validates and has the promised shape."""

from __future__ import annotations

from collections import Counter

from wholesystem.footprint.schema import FootprintFile, OrgType

from .conftest import Ics


def _footprint(ics: Ics) -> FootprintFile:
    return FootprintFile.model_validate_json((ics.root / "footprint.json").read_text())


def test_footprint_validates_and_has_three_places_two_local_authorities(ics: Ics) -> None:
    fp = _footprint(ics)
    assert len(fp.places) == 3
    assert len({p.local_authority for p in fp.places}) == 2
    types = Counter(o.type for o in fp.organisations)
    assert types[OrgType.icb] == 1
    assert types[OrgType.acute_trust] == 2
    assert types[OrgType.community_trust] == 1
    assert types[OrgType.mental_health_trust] == 1
    assert types[OrgType.local_authority] == 2
    assert types[OrgType.voluntary_sector] >= 3
    for place in fp.places:
        assert len(place.neighbourhoods) >= 1
        for hood in place.neighbourhoods:
            assert len(hood.practices) >= 2


def test_practice_populations_are_list_sizes_at_end_date(ics: Ics) -> None:
    fp = _footprint(ics)
    declared = {
        pr.code: pr.population for pl in fp.places for h in pl.neighbourhoods for pr in h.practices
    }
    truth = {r["person_id"]: r for r in ics.rows("truth/people.csv")}
    records = {
        (r["dataset"], r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
    }
    registered: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for row in ics.dataset_rows("gp_patients"):
        person = records[("gp_patients", row["_org"], row["local_patient_id"])]
        if row["deregistration_date"] == "" and (row["_org"], person) not in seen:
            seen.add((row["_org"], person))
            registered[row["_org"]] += 1
    fhir_practices = {org for org, _ in ics.extracts("gp_fhir")}
    for code, population in declared.items():
        if code in fhir_practices:
            continue  # checked in the FHIR tests
        assert population == registered[code], code
    assert sum(declared.values()) == ics.manifest.summary["registered_at_end"]
    assert len(truth) == ics.config.people


def test_sizes_scale_with_population() -> None:
    import numpy as np

    from wholesystem.synth.footprint_gen import build_footprint

    big = build_footprint(1_000_000, np.random.default_rng(0), 0.125)
    assert 20 <= len(big.hood_codes) <= 35  # PCNs of ~30-50k
    assert 100 <= len(big.practice_codes) <= 150  # practices of ~8k
    assert 10 <= int(big.practice_fhir.sum()) <= 22  # about one in eight
    tiny = build_footprint(50, np.random.default_rng(0), 0.125)
    assert len(tiny.hood_codes) == 3
    assert len(tiny.practice_codes) == 6
    assert int(tiny.practice_fhir.sum()) == 1
