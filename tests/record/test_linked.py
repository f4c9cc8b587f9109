"""The linked lake tables, built from a real ingest of a synthetic ICS and checked against
its ground truth (``truth/records.csv``, ``truth/people.csv``, ``truth/conditions.csv``)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from tests.record.conftest import LINKED_PEOPLE, LinkedICS
from wholesystem.record.linkage.index import INDEX_TABLE
from wholesystem.record.linked import (
    LINKED_STEP,
    LINKED_TABLES,
    ROW_GROUP_SIZE,
    UNLINKED_TABLE,
    build_linked_tables,
    gp_event_codes,
    write_linked_tables,
)
from wholesystem.record.linked_sql import EMERGENCY_ADMISSION_METHODS, SETTINGS
from wholesystem.record.staging import connect_staged
from wholesystem.record.terms import term
from wholesystem.record.validate import snomed_valid
from wholesystem.store.lake import Lake, LakeError
from wholesystem.store.models import PipelineRun
from wholesystem.synth import codes as synth_codes
from wholesystem.synth.activity import GP_EVENT_KINDS

# Which linked tables each staged dataset's rows land in (asc: a care package and its
# social-care event, so it is counted in both).
LANDS_IN: dict[str, tuple[str, ...]] = {
    "gp_patients": ("registration",),
    "gp_events": ("condition", "observation", "medication", "event"),
    "allergies": ("allergy",),
    "apc": ("event",),
    "ecds": ("event",),
    "opa": ("event",),
    "csds": ("event",),
    "mhsds": ("event",),
    "deaths": ("event",),
}


def _staged_keys(lake: Lake, dataset: str) -> Counter[str]:
    con = connect_staged(lake)
    try:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        if f"staged_{dataset}" not in views:
            return Counter()
        rows = con.execute(f"SELECT record_key FROM staged_{dataset}").fetchall()  # noqa: S608
    finally:
        con.close()
    return Counter(str(r[0]) for r in rows)


def _linked_keys(ics: LinkedICS, dataset: str, tables: tuple[str, ...]) -> Counter[str]:
    keys: Counter[str] = Counter()
    for table in tables:
        if table == "condition" and dataset == "gp_events":
            where = "dataset = 'gp_events'"
        elif table in ("event", "condition"):
            where = f"dataset = '{dataset}'"
        else:
            where = "true"
        keys.update(
            str(r[0])
            for r in ics.sql(f"SELECT record_key FROM {table} WHERE {where}")  # noqa: S608
        )
    return keys


@pytest.mark.parametrize("dataset", sorted(LANDS_IN))
def test_every_staged_row_lands_in_exactly_one_row(linked_ics: LinkedICS, dataset: str) -> None:
    staged = _staged_keys(linked_ics.lake, dataset)
    linked = _linked_keys(linked_ics, dataset, LANDS_IN[dataset])
    assert linked == staged
    if dataset != "allergies":
        assert sum(staged.values()) > 0, f"the synthetic ICS sent no {dataset}"


def test_social_care_rows_are_both_a_package_and_an_event(linked_ics: LinkedICS) -> None:
    staged = _staged_keys(linked_ics.lake, "asc")
    assert sum(staged.values()) > 0
    assert _linked_keys(linked_ics, "asc", ("care_package",)) == staged
    assert _linked_keys(linked_ics, "asc", ("event",)) == staged


def test_hospital_diagnoses_are_conditions(linked_ics: LinkedICS) -> None:
    expected = linked_ics.sql(
        "SELECT count(*) FROM (SELECT DISTINCT event_id, unnest(diagnoses) FROM event "
        "WHERE dataset = 'apc')"
    )[0][0]
    got = linked_ics.sql(
        "SELECT count(*), count(*) FILTER (WHERE code_system = 'icd10' AND event_id IS NOT NULL) "
        "FROM condition WHERE dataset = 'apc'"
    )[0]
    assert expected > 0
    assert got == (expected, expected)


def test_nothing_is_unlinked_after_a_fresh_index(linked_ics: LinkedICS) -> None:
    assert linked_ics.sql(f"SELECT count(*) FROM {UNLINKED_TABLE}")[0][0] == 0  # noqa: S608
    persons = linked_ics.sql(f"SELECT count(DISTINCT person_id) FROM {INDEX_TABLE}")[0][0]  # noqa: S608
    assert linked_ics.sql("SELECT count(*), count(DISTINCT person_id) FROM person")[0] == (
        persons,
        persons,
    )
    records = linked_ics.sql("SELECT count(*) FROM source_identity")[0][0]
    assert linked_ics.sql("SELECT count(*), sum(record_count) FROM person")[0][1] == records
    assert linked_ics.sql("SELECT count(*) FROM source_record")[0][0] == records


def test_rows_carry_the_person_of_their_source_record(linked_ics: LinkedICS) -> None:
    for table in (*LINKED_TABLES[1:],):
        bad = linked_ics.sql(
            f"SELECT count(*) FROM {table} t JOIN {INDEX_TABLE} i USING (record_id) "  # noqa: S608
            "WHERE i.person_id <> t.person_id"
        )[0][0]
        missing = linked_ics.sql(
            f"SELECT count(*) FROM {table} t ANTI JOIN {INDEX_TABLE} i USING (record_id)"  # noqa: S608
        )[0][0]
        assert (bad, missing) == (0, 0), table


def _truth_agreement(ics: LinkedICS, table: str) -> tuple[int, int]:
    """(rows, rows whose person is the true person of the majority of that person's rows)."""
    return ics.sql(
        f"""
        WITH truth AS (
            SELECT org_code, local_patient_id, any_value(person_id) AS truth,
                   count(DISTINCT person_id) AS n
            FROM truth_records GROUP BY org_code, local_patient_id
        ),
        rows AS (
            SELECT t.person_id, tr.truth, tr.n
            FROM {table} t JOIN source_record s USING (record_id)
            JOIN truth tr ON tr.org_code = s.source AND tr.local_patient_id = s.local_patient_id
        ),
        majority AS (
            SELECT person_id, mode(truth) AS truth FROM rows GROUP BY person_id
        )
        SELECT count(*), count(*) FILTER (WHERE r.truth = m.truth), max(r.n)
        FROM rows r JOIN majority m USING (person_id)
        """  # noqa: S608
    )[0][:2]


@pytest.mark.parametrize(
    "table", ["event", "condition", "observation", "medication", "registration"]
)
def test_events_carry_the_right_person(linked_ics: LinkedICS, table: str) -> None:
    rows, agree = _truth_agreement(linked_ics, table)
    assert rows == linked_ics.sql(f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
    assert agree / rows >= 0.99, f"{table}: {agree:,} of {rows:,} rows on the true person"


def test_emergency_follows_admission_method(linked_ics: LinkedICS) -> None:
    rows = linked_ics.sql("SELECT dataset, admission_method, emergency FROM event")
    assert {r[0] for r in rows} >= {"apc", "ecds", "opa", "csds", "deaths"}
    for dataset, method, emergency in rows:
        if dataset == "apc":
            assert emergency is (method in EMERGENCY_ADMISSION_METHODS), (method, emergency)
        else:
            assert emergency is (dataset == "ecds")
    apc = [r for r in rows if r[0] == "apc"]
    assert any(r[2] for r in apc)
    assert not all(r[2] for r in apc)


def test_setting_values_are_from_the_allowed_list(linked_ics: LinkedICS) -> None:
    settings = {r[0] for r in linked_ics.sql("SELECT DISTINCT setting FROM event")}
    assert settings <= set(SETTINGS)
    assert settings >= {"gp", "ae", "inpatient", "outpatient", "community", "mental_health"}
    unique = linked_ics.sql("SELECT count(*) = count(DISTINCT event_id) FROM event")[0][0]
    assert unique


def test_times_and_dates_agree(linked_ics: LinkedICS) -> None:
    # ECDS keeps its instants; date-only sources start at midnight UK time.
    bad = linked_ics.sql(
        "SELECT count(*) FROM event WHERE start_date IS NULL OR start_time IS NULL "
        "OR CAST(timezone('Europe/London', start_time) AS DATE) <> start_date "
        "OR (end_time IS NOT NULL AND end_time < start_time)"
    )[0][0]
    assert bad == 0
    midnight = linked_ics.sql(
        "SELECT bool_and(strftime(timezone('Europe/London', start_time), '%H:%M') = '00:00') "
        "FROM event WHERE dataset <> 'ecds'"
    )[0][0]
    assert midnight


@pytest.mark.parametrize("table", [*LINKED_TABLES, UNLINKED_TABLE])
def test_sorted_by_person_in_modest_row_groups(linked_ics: LinkedICS, table: str) -> None:
    path = linked_ics.lake.path(table)
    meta = pq.ParquetFile(path).metadata
    assert all(meta.row_group(i).num_rows <= ROW_GROUP_SIZE for i in range(meta.num_row_groups))
    if table == UNLINKED_TABLE:
        return
    people = pq.read_table(path, columns=["person_id"]).column("person_id").to_pylist()
    assert people == sorted(people)
    assert None not in people


def test_person_identity_matches_the_truth(linked_ics: LinkedICS) -> None:
    rows = linked_ics.sql(
        """
        WITH truth AS (
            SELECT org_code, local_patient_id, any_value(person_id) AS truth
            FROM truth_records GROUP BY ALL
        ),
        owner AS (
            SELECT s.person_id, mode(t.truth) AS truth
            FROM source_record s JOIN truth t
              ON t.org_code = s.source AND t.local_patient_id = s.local_patient_id
            GROUP BY s.person_id
        )
        SELECT count(*),
               count(*) FILTER (WHERE p.nhs_number = tp.nhs_number),
               count(*) FILTER (WHERE p.date_of_birth = CAST(tp.date_of_birth AS DATE)),
               count(*) FILTER (WHERE p.sex = tp.sex),
               count(*) FILTER (WHERE upper(p.family_name) = upper(tp.family_name)
                                   OR upper(p.family_name) = upper(tp.previous_family_name)),
               count(*) FILTER (WHERE p.date_of_death IS NOT NULL),
               count(*) FILTER (WHERE p.date_of_death = CAST(tp.date_of_death AS DATE)),
               count(*) FILTER (WHERE p.practice_code IS NOT NULL),
               count(*) FILTER (WHERE p.practice_code = tp.practice_code)
        FROM person p JOIN owner o USING (person_id)
        JOIN truth_people tp ON tp.person_id = o.truth
        """
    )[0]
    n, nhs, dob, sex, family, died, died_ok, registered, practice_ok = rows
    assert n >= LINKED_PEOPLE * 0.95
    assert nhs / n >= 0.97
    assert dob / n >= 0.97
    assert sex / n >= 0.99
    assert family / n >= 0.95
    assert died > 0
    assert died_ok == died
    assert registered > n * 0.6
    assert practice_ok / registered >= 0.97


def test_current_registration_is_the_latest_open_one(linked_ics: LinkedICS) -> None:
    bad = linked_ics.sql(
        """
        SELECT count(*) FROM person p JOIN registration r USING (person_id)
        WHERE r.practice_code IS NOT NULL AND r.deregistration_date IS NULL
          AND (p.practice_code IS NULL OR r.registration_date > p.registration_date)
        """
    )[0][0]
    assert bad == 0
    flagged = linked_ics.sql("SELECT count(DISTINCT person_id) FROM registration WHERE current")[0][
        0
    ]
    assert (
        flagged
        == linked_ics.sql("SELECT count(*) FROM person WHERE practice_code IS NOT NULL")[0][0]
    )


def test_conflicting_values_stay_visible(linked_ics: LinkedICS) -> None:
    rows = linked_ics.sql(
        """
        SELECT p.person_id, p.conflicts, p.family_name,
               count(DISTINCT upper(regexp_replace(trim(s.family_name), '\\s+', ' ', 'g'))),
               list(DISTINCT s.family_name)
        FROM person p JOIN source_record s USING (person_id)
        GROUP BY ALL
        """
    )
    assert any(c for _, c, _, _, _ in rows), "the synthetic ICS has no conflicting identities"
    for _, conflicts, chosen, names, values in rows:
        # the record page can show every value the sources hold, and the chosen one is one
        assert ("family_name" in conflicts) == (names > 1)
        assert chosen is None or chosen in values


def test_true_coded_conditions_appear(linked_ics: LinkedICS) -> None:
    snomed = {c.key: c.snomed for c in synth_codes.CONDITIONS}
    truth = linked_ics.sql(
        """
        WITH truth AS (
            SELECT org_code, local_patient_id, any_value(person_id) AS truth
            FROM truth_records GROUP BY ALL
        ),
        owner AS (
            SELECT s.person_id, mode(t.truth) AS truth
            FROM source_record s JOIN truth t
              ON t.org_code = s.source AND t.local_patient_id = s.local_patient_id
            GROUP BY s.person_id
        )
        SELECT o.person_id, c.condition,
               list(DISTINCT k.code) FILTER (WHERE k.code IS NOT NULL) AS codes
        FROM truth_conditions c JOIN owner o ON o.truth = c.person_id
        LEFT JOIN condition k ON k.person_id = o.person_id AND k.dataset = 'gp_events'
        WHERE c.coded_date IS NOT NULL AND c.coded_date <> ''
        GROUP BY ALL
        """
    )
    assert len(truth) > 50
    found = sum(
        1
        for _, key, got in truth
        if snomed[key] in (got or []) or (key == "smi" and synth_codes.SMI_BIPOLAR[0] in got)
    )
    assert found / len(truth) >= 0.95, f"{found} of {len(truth)} coded conditions found"


def test_fhir_practice_record_appears(linked_ics: LinkedICS) -> None:
    org = linked_ics.allergy_org
    counts = linked_ics.sql(
        f"""
        SELECT (SELECT count(*) FROM condition WHERE source = '{org}'),
               (SELECT count(*) FROM observation WHERE source = '{org}' AND value IS NOT NULL),
               (SELECT count(*) FROM medication WHERE source = '{org}'),
               (SELECT count(*) FROM event WHERE source = '{org}' AND setting = 'gp')
        """  # noqa: S608
    )[0]
    assert all(n > 0 for n in counts), counts
    allergy = linked_ics.sql(
        "SELECT a.code, a.display, a.clinical_status, a.recorded_date, s.local_patient_id "
        "FROM allergy a JOIN source_record s USING (record_id)"
    )
    assert [(r[0], r[1], r[2], str(r[3]), r[4]) for r in allergy] == [
        ("91936005", "Allergy to penicillin", "active", "2015-04-01", linked_ics.allergy_patient)
    ]
    # the allergy's person also holds the practice's other records for that patient
    person = linked_ics.sql(
        "SELECT a.person_id, (SELECT count(*) FROM event e WHERE e.person_id = a.person_id) "
        "FROM allergy a"
    )[0]
    assert person[1] > 0


def test_csv_gp_rows_are_classified(linked_ics: LinkedICS) -> None:
    rows = linked_ics.sql(
        """
        SELECT 'observation', count(*), count(value), count(display) FROM observation
        WHERE dataset = 'gp_events'
        UNION ALL SELECT 'condition', count(*), 0, count(display) FROM condition
        WHERE dataset = 'gp_events'
        """
    )
    for kind, n, values, displays in rows:
        assert n > 0
        assert displays == n, f"{kind} rows without a display"
        if kind == "observation":
            assert values == n
    frailty = {c for c, _ in synth_codes.FRAILTY_CODES}
    classes = {
        c: k
        for c, k in linked_ics.sql(
            "SELECT DISTINCT code, 'condition' FROM condition WHERE dataset = 'gp_events' "
            "UNION SELECT DISTINCT code, 'observation' FROM observation"
        )
    }
    assert all(classes.get(c, "condition") == "condition" for c in frailty)


def test_hospital_codes_carry_their_terms(linked_ics: LinkedICS) -> None:
    """Extracts send ICD-10 and SNOMED CT codes without text: the lake names them."""
    rows = linked_ics.sql(
        "SELECT 'event', dataset, code_system, code, display FROM event "
        "WHERE dataset IN ('apc', 'ecds', 'deaths') AND code IS NOT NULL "
        "UNION ALL SELECT 'condition', dataset, code_system, code, display FROM condition "
        "WHERE dataset = 'apc'"
    )
    assert {r[1] for r in rows} == {"apc", "ecds", "deaths"}
    for table, dataset, system, code, display in rows:
        assert display == term(system, code), (table, dataset, code)
    assert all(r[4] for r in rows if r[1] != "deaths")  # every code synth sends is named


def test_code_file_is_valid_and_covers_the_gp_codes() -> None:
    rows = gp_event_codes()
    assert len({r["code"] for r in rows}) == len(rows)
    for row in rows:
        assert snomed_valid(row["code"]), row
        assert row["class"] in ("condition", "observation", "medication", "encounter")
        assert row["display"]
    known = {r["code"] for r in rows}
    assert {k[0] for k in GP_EVENT_KINDS} <= known
    assert {c.medication[0] for c in synth_codes.CONDITIONS if c.medication} <= known


def test_rebuild_is_idempotent_and_recorded(linked_ics: LinkedICS) -> None:
    before = {t: linked_ics.lake.path(t).read_bytes() for t in (*LINKED_TABLES, UNLINKED_TABLE)}
    factory = linked_ics.factory()
    summary = build_linked_tables(factory, linked_ics.lake, "tester")
    after = {t: linked_ics.lake.path(t).read_bytes() for t in before}
    assert after == before
    assert summary.rows["person"] == linked_ics.sql("SELECT count(*) FROM person")[0][0]
    assert summary.unlinked == {}
    with factory() as s:
        runs = s.scalars(select(PipelineRun).where(PipelineRun.step == LINKED_STEP)).all()
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[-1].details["rows"] == summary.rows
    assert not list(linked_ics.lake.root.glob(".*tmp"))


def test_records_missing_from_the_index_are_reported(linked_ics: LinkedICS, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(linked_ics.lake.root, lake.root)
    index = lake.read_arrow(INDEX_TABLE)
    dropped = linked_ics.sql(
        "SELECT record_id FROM source_record WHERE dataset = 'apc' ORDER BY record_id LIMIT 1"
    )[0][0]
    keep = [r != dropped for r in index.column("record_id").to_pylist()]
    lake.write_arrow(INDEX_TABLE, index.filter(pa.array(keep)))
    summary = write_linked_tables(lake)
    spells = linked_ics.sql(
        f"SELECT count(*) FROM event WHERE record_id = '{dropped}'"  # noqa: S608
    )[0][0]
    assert spells > 0
    assert summary.unlinked == {"apc": spells + 1}  # the spells and their source record
    assert summary.unlinked_total == spells + 1
    assert "no person" in summary.describe()
    with lake.connect() as con:
        reasons = con.execute(
            f"SELECT DISTINCT reason FROM {UNLINKED_TABLE}"  # noqa: S608
        ).fetchall()
        left = con.execute(
            f"SELECT count(*) FROM event WHERE record_id = '{dropped}'"  # noqa: S608
        ).fetchone()
    assert left == (0,)
    assert all("link-index" in r[0] for r in reasons)


def test_missing_inputs_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="ingest"):
        write_linked_tables(Lake(tmp_path / "empty"))


def test_a_memory_limit_bounds_duckdb_and_changes_no_byte(
    linked_ics: LinkedICS, tmp_path: Path
) -> None:
    """The build spills past ``memory_limit`` rather than growing; the tables are the same."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(linked_ics.lake.root, lake.root)
    tables = [*LINKED_TABLES, UNLINKED_TABLE]
    write_linked_tables(lake, memory_limit="256MB")
    for table in tables:
        assert lake.path(table).read_bytes() == linked_ics.lake.path(table).read_bytes(), table
    with pytest.raises(duckdb.Error, match=r"(?i)memory"):
        write_linked_tables(lake, memory_limit="a lot")
