"""The bad-input corpus: every file says what was wrong where, and no row is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.record.conftest import CORPUS, Ingest, parquet
from wholesystem.record import files
from wholesystem.record.models import IngestRun, QuarantineRow
from wholesystem.record.staging import part_path
from wholesystem.store.lake import Lake

# file -> (status, reason fragment or None, read, loaded, [(line, column, rule, message fragment)])
CASES: dict[str, tuple[str, str | None, int, int, list[tuple[int, str, str, str]]]] = {
    "R9A/apc/clean.csv": ("loaded", None, 3, 3, []),
    "R9A/apc/header_only.csv": ("loaded", None, 0, 0, []),
    "R9A/apc/truncated.csv": (
        "rejected",
        "truncated: the last line (4) stops after 5 of 16 columns with no line end",
        0,
        0,
        [],
    ),
    "R9A/apc/semicolons.csv": (
        "rejected",
        "wrong delimiter: the header is separated by semicolons, not commas",
        0,
        0,
        [],
    ),
    "R9A/apc/latin1.csv": (
        "rejected",
        "not UTF-8: byte 0xe9 at offset 351 (line 3) is not valid UTF-8 (it looks like Latin-1",
        0,
        0,
        [],
    ),
    "R9A/apc/utf16.csv": (
        "rejected",
        'not UTF-8: the file is UTF-16 (as a spreadsheet\'s "Unicode Text" saves it); '
        "export it as CSV UTF-8",
        0,
        0,
        [],
    ),
    "R9A/apc/duplicated_header.csv": (
        "rejected",
        "duplicated column header: admission_date (columns 9 and 10)",
        0,
        0,
        [],
    ),
    "R9A/apc/missing_columns.csv": (
        "rejected",
        "missing required columns: spell_id, admission_date",
        0,
        0,
        [],
    ),
    "R9A/apc/empty.csv": ("rejected", "empty file: there is no header row", 0, 0, []),
    "R9A/apc/bad_dates.csv": (
        "loaded",
        None,
        4,
        1,
        [
            (2, "admission_date", "not_a_date", "admission_date '2024-13-01' is not a date"),
            (3, "admission_date", "future_date", "admission_date '2099-01-01' is in the future"),
            (4, "admission_date", "date_before_1900", "admission_date '1899-12-31' is before 1900"),
        ],
    ),
    "R9A/apc/bad_codes.csv": (
        "loaded",
        None,
        3,
        1,
        [
            (
                2,
                "primary_diagnosis",
                "icd10_format",
                "primary_diagnosis 'J4' is not a valid ICD-10 code",
            ),
            (
                3,
                "procedures",
                "opcs4_format",
                "procedures 'W37.1|XX' is not a |-separated list of OPCS-4 codes",
            ),
        ],
    ),
    "R9A/apc/discharge_before_admission.csv": (
        "loaded",
        None,
        2,
        1,
        [
            (
                2,
                "discharge_date",
                "discharge_before_admission",
                "discharge is before admission: discharge_date 2024-02-01 is before "
                "admission_date 2024-02-10",
            )
        ],
    ),
    "R9A/apc/nhs_numbers.csv": (
        "loaded",
        None,
        4,
        2,
        [
            (
                3,
                "nhs_number",
                "nhs_number_check_digit",
                "NHS number '9434765928' fails the modulus-11 check digit",
            ),
            (4, "nhs_number", "nhs_number_format", "NHS number '123' is not ten digits"),
        ],
    ),
    "R9A/apc/trailing_commas.csv": (
        "loaded",
        None,
        3,
        2,
        [
            (
                3,
                "(column 17)",
                "value_without_header",
                "column 17 has no header, but this row has a value there: 'late value'",
            )
        ],
    ),
    "R9A/apc/header_trailing_commas.csv": ("loaded", None, 3, 3, []),
    "R9A/apc/blank_header_inside.csv": (
        "rejected",
        "blank column header at position 3",
        0,
        0,
        [],
    ),
    "R9A/apc/shared_nhs_number.csv": ("loaded", None, 2, 2, []),
    "R9A/apc/blank_and_multiline.csv": (
        "loaded",
        None,
        5,
        3,
        [
            (6, "discharge_date", "discharge_before_admission", "discharge is before admission"),
            (7, "(row)", "too_many_fields", "line has more fields than the header's 16"),
        ],
    ),
    "R9A/apc/ragged.csv": (
        "loaded",
        None,
        5,
        3,
        [
            (3, "(row)", "too_few_fields", "line has 4 fields; the header has 16"),
            (5, "(row)", "too_many_fields", "line has more fields than the header's 16"),
        ],
    ),
    "R9A/apc/blank_required.csv": (
        "loaded",
        None,
        2,
        1,
        [(2, "spell_id", "required", "spell_id is blank")],
    ),
    "R9A/ecds/bad_snomed.csv": (
        "loaded",
        None,
        5,
        1,
        [
            (
                2,
                "chief_complaint",
                "snomed_check_digit",
                "chief_complaint '267036008' fails the SNOMED CT Verhoeff check digit",
            ),
            (
                3,
                "chief_complaint",
                "snomed_format",
                "chief_complaint '12345' is not a valid SNOMED CT concept id",
            ),
            (4, "departure", "departure_before_arrival", "departure is before arrival"),
            (
                5,
                "arrival",
                "not_a_datetime",
                "arrival '2024-07-01 13:05' is not an ISO 8601 date and time with a UTC offset",
            ),
        ],
    ),
    "R9A/opa/bad_values.csv": (
        "loaded",
        None,
        3,
        1,
        [
            (2, "attended", "not_allowed", "attended 'X' is not one of: 0, 2, 3, 4, 5, 6, 7"),
            (
                3,
                "treatment_function",
                "too_long",
                "treatment_function is 4 characters long; at most 3 allowed",
            ),
        ],
    ),
    "R9C/csds/long_field.csv": (
        "loaded",
        None,
        3,
        2,
        [
            (
                3,
                "given_name",
                "too_long",
                "given_name is 100000 characters long; at most 100 allowed",
            )
        ],
    ),
    "N90001/gp_fhir/invalid.json": (
        "rejected",
        "invalid JSON at line 4, column 1: Expecting value",
        0,
        0,
        [],
    ),
    "N90001/gp_fhir/bad_line.ndjson": ("rejected", "invalid JSON at line 2, column 2", 0, 0, []),
    "N90001/gp_fhir/not_a_bundle.json": (
        "rejected",
        "not a FHIR Bundle at line 1: found 'Patient'",
        0,
        0,
        [],
    ),
    "N90001/gp_fhir/unknown_resources.json": ("loaded", None, 3, 3, []),
}


def test_every_corpus_file_has_a_case() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    assert files == set(CASES)


def _visible_parts(lake: Lake) -> list[Path]:
    return [p for p in lake.root.rglob("*") if p.is_file()] if lake.root.exists() else []


@pytest.mark.parametrize("rel", sorted(CASES))
def test_corpus_file(
    rel: str, tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    status, reason, read, loaded, problems = CASES[rel]
    # Each file alone, laid out <org>/<dataset>/<file> as partners send them.
    target = tmp_path / "in" / rel
    target.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / rel, target)
    summary = ingest(target)
    [outcome] = summary.outcomes
    assert outcome.status == status, outcome.reason
    if reason:
        assert reason in outcome.reason
    with factory() as s:
        run = s.scalars(select(IngestRun)).one()
        assert run.status == status
        assert run.sha256
        assert len(run.sha256) == 64
        assert run.actor == "tester"
        assert (run.rows_read, run.rows_loaded) == (read, loaded)
        assert run.rows_read == run.rows_loaded + run.rows_quarantined  # the invariant
        rows = list(s.scalars(select(QuarantineRow).order_by(QuarantineRow.line)))
    assert len(rows) == run.rows_quarantined == len(problems)
    for row, (line, column, rule, fragment) in zip(rows, problems, strict=True):
        assert (row.line, row.column_name, row.rule) == (line, column, rule)
        assert fragment in row.message
        assert row.raw  # the raw row is kept
    org, ds = rel.split("/")[:2]
    files = _visible_parts(lake)
    assert not [f for f in files if f.name.endswith(".tmp")]  # nothing half-written
    if status == "rejected":
        table = {f.resolve() for f in lake.files("source_identity")}
        staged = [f for f in files if f.resolve() not in table]
        assert staged == []  # a rejected file writes nothing
    elif ds != "gp_fhir":
        part = part_path(lake, ds, org, Path(rel).name)
        assert parquet("SELECT count(*) FROM read_parquet(?)", part) == [(loaded,)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ragged.csv", [(2, "S0000000001"), (4, "S0000000002"), (6, "S0000000061")]),
        ("blank_and_multiline.csv", [(2, "S0000000001"), (4, "S0000000081"), (8, "S0000000083")]),
    ],
)
def test_good_rows_keep_true_line_numbers(
    name: str, expected: list[tuple[int, str]], tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    target = tmp_path / "R9A" / "apc" / name
    target.parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / "R9A/apc" / name, target)
    ingest(target)
    part = part_path(lake, "apc", "R9A", name)
    lines = parquet("SELECT source_line, spell_id FROM read_parquet(?) ORDER BY 1", part)
    assert lines == expected


def test_spaced_nhs_number_is_normalised_and_shared_numbers_both_load(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    for name in ("nhs_numbers.csv", "shared_nhs_number.csv"):
        target = tmp_path / "R9A" / "apc" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / "R9A/apc" / name, target)
    ingest(tmp_path / "R9A")
    spaced = parquet(
        "SELECT nhs_number FROM read_parquet(?) WHERE spell_id = 'S0000000041'",
        part_path(lake, "apc", "R9A", "nhs_numbers.csv"),
    )
    assert spaced == [("9434765919",)]
    shared = parquet(
        "SELECT given_name FROM read_parquet(?) WHERE nhs_number = '9434765919' ORDER BY 1",
        part_path(lake, "apc", "R9A", "shared_nhs_number.csv"),
    )
    assert shared == [("Ann",), ("Bob",)]
    identity = parquet(
        "SELECT count(*) FROM read_parquet(?) WHERE nhs_number = '9434765919'",
        lake.files("source_identity"),
    )
    assert identity == [(2,)]  # Ann and Bob: two identities for linkage to tell apart


def test_whole_corpus_in_one_go(ingest: Ingest, factory: sessionmaker[Session]) -> None:
    summary = ingest(CORPUS)
    assert summary.count("loaded") + summary.count("rejected") == len(CASES)
    with factory() as s:
        runs = list(s.scalars(select(IngestRun)))
        quarantined = s.scalar(select(func.count()).select_from(QuarantineRow))
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined for r in runs)
    assert quarantined == sum(r.rows_quarantined for r in runs)


@pytest.mark.parametrize(
    ("head", "utf16"),
    [
        ("a,b\nx,y\n".encode("utf-16"), True),  # with a byte order mark
        ("nhs_number,spell_id\n".encode("utf-16-le"), True),  # without one
        ("nhs_number,spell_id\n".encode("utf-16-be"), True),
        (b"nhs_number,spell_id\n", False),
        (b"a,b\n", False),  # too short to tell: read as UTF-8
        (b"nhs_number,spell\x00_id\nx,y\x00\n", False),  # a stray NUL is not UTF-16
        ("nhs_number,given_name\n1,Zoë\n".encode(), False),
    ],
)
def test_utf16_is_told_from_utf8(head: bytes, utf16: bool) -> None:
    assert files._looks_utf16(head) is utf16
