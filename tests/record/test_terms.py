"""The code terms file: well formed, whole for the Data Dictionary lists, and the lookups."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from wholesystem.config import ConfigError, get_settings
from wholesystem.record.schemas import DATASETS
from wholesystem.record.terms import (
    SYSTEM_NAMES,
    SYSTEM_URIS,
    TERM_SYSTEMS,
    code_terms,
    discharge_system,
    named_code,
    named_codes,
    read_terms,
    service_words,
    system_name,
    term,
    use_extra_terms,
)
from wholesystem.record.validate import ICD10_PATTERN, OPCS4_PATTERN, SNOMED_PATTERN
from wholesystem.synth.codes import snomed_valid
from wholesystem.web.app import create_app


def _rows() -> list[dict[str, str]]:
    text = (resources.files("wholesystem.record") / "data" / "code_terms.csv").read_text(
        encoding="utf-8"
    )
    return list(csv.DictReader(text.splitlines()))


_FORMATS = {
    "icd10": ICD10_PATTERN,
    "opcs4": OPCS4_PATTERN,
    "snomed": SNOMED_PATTERN,
    "admission_method": "[0-9][0-9A-D]",
    "discharge_destination": "[0-9]{2}",
    "treatment_function": "[0-9]{3}",
    "community_team": "[a-z_]+",
    "contact_type": "[a-z_]+",
    "mental_health_service": "[a-z_]+",
    "social_care_service": "[a-z_]+",
}


def test_every_row_is_a_well_formed_code_with_a_term() -> None:
    rows = _rows()
    assert len({(r["system"], r["code"]) for r in rows}) == len(rows) == len(code_terms())
    for row in rows:
        assert row["system"] in TERM_SYSTEMS, row
        assert re.fullmatch(_FORMATS[row["system"]], row["code"]), row
        if row["system"] == "snomed":
            assert snomed_valid(row["code"]), row
        assert row["display"], row
        assert row["display"] == row["display"].strip(), row


@pytest.mark.parametrize(
    ("system", "dataset", "column"),
    [
        ("admission_method", "apc", "admission_method"),
        ("discharge_destination", "apc", "discharge_destination"),
        ("community_team", "csds", "team_type"),
        ("mental_health_service", "mhsds", "service_type"),
        ("social_care_service", "asc", "service_type"),
    ],
)
def test_the_declared_lists_are_named_whole(system: str, dataset: str, column: str) -> None:
    """Every code the extract format accepts has its term, and no other code is listed."""
    [declared] = [c for c in DATASETS[dataset].columns if c.name == column]
    listed = {code for s, code in code_terms() if s == system}
    assert declared.allowed
    assert listed == set(declared.allowed)


def test_every_contact_type_is_named() -> None:
    """Community contacts' declared types and the outpatient ones the lake derives."""
    [declared] = [c for c in DATASETS["csds"].columns if c.name == "contact_type"]
    listed = {code for s, code in code_terms() if s == "contact_type"}
    assert listed == {*declared.allowed, "face_to_face", "telephone_or_video", "administrative"}


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("icd10", "R50.9", "Fever, unspecified"),
        ("icd10", "I10", "Essential (primary) hypertension"),
        ("opcs4", "W37.1", "Primary total prosthetic replacement of hip joint using cement"),
        ("snomed", "1912002", "Fall"),
        ("admission_method", "21", "Emergency admission: via Emergency Care Department"),
        ("discharge_destination", "19", "Usual place of residence"),
        # The same characters in another system are another code.
        ("opcs4", "R50.9", None),
        ("icd10", "Z99.9", None),
        (None, "R50.9", None),
        ("icd10", None, None),
        ("icd10", "", None),
    ],
)
def test_term(system: str | None, code: str | None, expected: str | None) -> None:
    assert term(system, code) == expected


@pytest.mark.parametrize(
    ("system", "codes", "shown"),
    [
        ("icd10", ["R50.9"], "Fever, unspecified (R50.9)"),
        ("icd10", ["Z99.9"], "Z99.9"),
        # Terms hold commas: the codes are kept apart with semicolons.
        ("icd10", ["J45.9", "Z99.9"], "Asthma, unspecified (J45.9); Z99.9"),
        (None, ["J45.9"], "J45.9"),
        ("icd10", [], ""),
    ],
)
def test_named_codes(system: str | None, codes: list[str], shown: str) -> None:
    assert named_codes(system, codes) == shown
    if len(codes) == 1:
        assert named_code(system, codes[0]) == shown


@pytest.mark.parametrize(
    ("dataset", "value", "shown"),
    [
        ("opa", "340", "Respiratory Medicine (340)"),
        ("csds", "rapid_response", "Rapid response"),
        ("mhsds", "camhs", "Children and young people's mental health services (CAMHS)"),
        ("asc", "day_care", "Day care"),
        ("opa", "999", "999"),  # not listed: as sent
        ("gp_events", "anything", "anything"),  # a dataset without declared services
    ],
)
def test_service_words(dataset: str, value: str, shown: str) -> None:
    assert service_words(dataset, value) == shown


def test_discharge_system() -> None:
    assert discharge_system("apc") == "discharge_destination"
    assert discharge_system("ecds") == "snomed"


@pytest.fixture
def extra_terms() -> Iterator[None]:
    """Whatever a test configures, the packaged terms alone afterwards."""
    try:
        yield
    finally:
        use_extra_terms(None)


def _terms_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "terms.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_an_extra_file_adds_terms_and_takes_precedence(tmp_path: Path, extra_terms: None) -> None:
    """A deployment's own file (a spreadsheet's UTF-8 with its byte order mark, a blank
    line) adds codes the packaged file lacks and renames one it has; None undoes it."""
    packaged = term("icd10", "R50.9")
    assert packaged is not None
    assert term("opcs4", "H22.1") is None  # not packaged (see data/README.md)
    path = _terms_file(
        tmp_path,
        "system,code,display\n"
        "opcs4,H22.1,Diagnostic endoscopic examination of colon and biopsy of lesion\n"
        "\n"
        'icd10,R50.9,"Fever, unspecified (TRUD)"\n',
        encoding="utf-8-sig",
    )
    assert read_terms(path) == {
        ("opcs4", "H22.1"): "Diagnostic endoscopic examination of colon and biopsy of lesion",
        ("icd10", "R50.9"): "Fever, unspecified (TRUD)",
    }
    use_extra_terms(path)
    assert term("opcs4", "H22.1") == (
        "Diagnostic endoscopic examination of colon and biopsy of lesion"
    )
    assert named_code("icd10", "R50.9") == "Fever, unspecified (TRUD) (R50.9)"
    assert len(code_terms()) == len(_rows()) + 1
    use_extra_terms(None)
    assert (term("opcs4", "H22.1"), term("icd10", "R50.9")) == (None, packaged)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("system,code,term\nicd10,R50.9,Fever\n", "the header must be system,code,display"),
        ("", "the header must be system,code,display, not $"),
        ("system,code,display\nicd11,R50.9,Fever\n", r"line 2: unknown system 'icd11'"),
        ("system,code,display\nicd10,,Fever\n", "line 2: the code is blank"),
        ("system,code,display\nicd10,R50.9, \n", "line 2: the display is blank"),
        ("system,code,display\nicd10,R50.9\n", "line 2 has 2 fields, not 3"),
        (
            "system,code,display\nicd10,R50.9,Fever\nicd10,I10,Hypertension\nicd10,R50.9,Fever\n",
            "line 4: icd10 R50.9 is listed twice",
        ),
        (
            "system,code,display\nx,1,a\nx,2,b\nx,3,c\nx,4,d\nx,5,e\nx,6,f\n",
            r"line 6: unknown system 'x'[^;]*$",  # the first five problems
        ),
    ],
)
def test_a_bad_extra_file_is_refused_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        read_terms(_terms_file(tmp_path, text))


def test_an_extra_file_that_is_not_utf8_or_missing_is_refused(tmp_path: Path) -> None:
    latin = _terms_file(tmp_path, "system,code,display\nicd10,R50.9,Fièvre\n", "latin-1")
    with pytest.raises(ValueError, match="cannot be read as UTF-8"):
        read_terms(latin)
    with pytest.raises(ValueError, match=r"cannot be read as UTF-8.*No such file"):
        read_terms(tmp_path / "absent.csv")


def test_the_setting_fails_fast_and_the_app_uses_the_file(
    tmp_path: Path, extra_terms: None
) -> None:
    """A bad file stops the service at start-up, naming the setting and the line; a good
    one is what the web app's pages name codes with."""
    bad = _terms_file(tmp_path, "system,code,display\nicd10,,Fever\n")
    with pytest.raises(ConfigError, match=r"code_terms_file.*line 2: the code is blank"):
        get_settings(mode="test", data_dir=tmp_path, code_terms_file=bad)
    good = tmp_path / "good.csv"
    good.write_text("system,code,display\nopcs4,H22.1,Colonoscopy with biopsy\n", encoding="utf-8")
    settings = get_settings(mode="test", data_dir=tmp_path, code_terms_file=good)
    create_app(settings)
    assert term("opcs4", "H22.1") == "Colonoscopy with biopsy"


@pytest.mark.parametrize(
    ("system", "name"),
    [
        ("snomed", "SNOMED CT"),
        ("SNOMED", "SNOMED CT"),
        ("icd10", "ICD-10"),
        ("opcs4", "OPCS-4"),
        ("dmd", "dm+d"),
        ("http://snomed.info/sct", "SNOMED CT"),
        ("http://hl7.org/fhir/sid/icd-10-uk", "ICD-10"),
        ("http://hl7.org/fhir/sid/icd-10", "ICD-10"),
        ("http://loinc.org", "LOINC"),
        ("https://example.org/local-codes", "https://example.org/local-codes"),
        ("read2", "read2"),
        (None, ""),
        ("", ""),
    ],
)
def test_system_name(system: str | None, name: str) -> None:
    assert system_name(system) == name


def test_every_named_system_has_a_fhir_uri() -> None:
    assert set(SYSTEM_NAMES) == set(SYSTEM_URIS)
