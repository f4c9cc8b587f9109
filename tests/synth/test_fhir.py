"""FHIR practices: one valid R4 collection Bundle per patient per line."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from wholesystem.synth.codes import snomed_valid
from wholesystem.synth.nhs import is_valid

from .conftest import Ics

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
VERIFICATION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)


def _bundles(ics: Ics) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for org, path in ics.extracts("gp_fhir"):
        assert path.suffix == ".ndjson"
        for line in path.read_text(encoding="utf-8").splitlines():
            out.append((org, json.loads(line)))
    return out


def test_lines_are_collection_bundles_with_uk_core_patients(ics: Ics) -> None:
    bundles = _bundles(ics)
    assert bundles
    types: Counter[str] = Counter()
    with_nhs = 0
    for org, bundle in bundles:
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "collection"
        entries = bundle["entry"]
        patient = entries[0]["resource"]
        assert patient["resourceType"] == "Patient"
        ids = {e["resource"]["id"] for e in entries}
        assert len(ids) == len(entries)
        urls = [e["fullUrl"] for e in entries]
        assert len(set(urls)) == len(urls)
        for entry in entries:
            res = entry["resource"]
            types[res["resourceType"]] += 1
            assert entry["fullUrl"].endswith(f"/{res['resourceType']}/{res['id']}")
            subject = res.get("subject", {}).get("reference")
            if subject:
                assert subject == f"Patient/{patient['id']}"
        nhs = [i for i in patient["identifier"] if i["system"] == NHS_SYSTEM]
        local = [i for i in patient["identifier"] if i["system"].endswith("local-patient-id")]
        assert len(local) == 1
        if nhs:
            with_nhs += 1
            ext = nhs[0]["extension"][0]
            assert ext["url"] == VERIFICATION
            code = ext["valueCodeableConcept"]["coding"][0]["code"]
            assert code in {"01", "02"}
            assert (code == "01") <= is_valid(nhs[0]["value"])
            assert len(nhs[0]["value"]) == 10
        assert patient["gender"] in {"male", "female", "unknown"}
        assert patient["generalPractitioner"][0]["identifier"]["value"] == org
    assert with_nhs > 0.9 * len(bundles)
    assert {"Patient", "Condition", "Observation", "MedicationStatement", "Encounter"} <= set(types)


def test_clinical_resources_are_coded(ics: Ics) -> None:
    for _org, bundle in _bundles(ics):
        encounters = {
            e["resource"]["id"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Encounter"
        }
        for entry in bundle["entry"][1:]:
            res = entry["resource"]
            kind = res["resourceType"]
            if kind in ("Condition", "Observation"):
                coding = res["code"]["coding"][0]
                assert coding["system"] == "http://snomed.info/sct"
                assert snomed_valid(coding["code"])
            if kind == "Observation":
                qty = res["valueQuantity"]
                assert isinstance(qty["value"], int | float)
                assert qty["system"] == "http://unitsofmeasure.org"
                assert qty["unit"] == qty["code"]
                assert res["encounter"]["reference"].removeprefix("Encounter/") in encounters
            if kind == "MedicationStatement":
                assert snomed_valid(res["medicationCodeableConcept"]["coding"][0]["code"])
            if kind == "Encounter":
                assert res["status"] == "finished"


def test_fhir_list_sizes_match_footprint(ics: Ics) -> None:
    from wholesystem.footprint.schema import FootprintFile

    fp = FootprintFile.model_validate_json((ics.root / "footprint.json").read_text())
    declared = {
        pr.code: pr.population for pl in fp.places for h in pl.neighbourhoods for pr in h.practices
    }
    records = {
        (r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
        if r["dataset"] == "gp_fhir"
    }
    active: dict[str, set[str]] = {}
    for org, bundle in _bundles(ics):
        patient = bundle["entry"][0]["resource"]
        period = [x for x in patient["extension"] if x["url"].endswith("registration-period")]
        if "end" not in period[0]["valuePeriod"]:
            active.setdefault(org, set()).add(records[(org, patient["id"])])
    for org, persons in active.items():
        assert declared[org] == len(persons)
