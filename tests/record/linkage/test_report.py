"""The linkage page's figures: exact counts on hand-built lakes, and a synthetic ICS's truth."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.record.linkage.conftest import nhs
from wholesystem.record.ingest import ingest_path
from wholesystem.record.linkage import report
from wholesystem.record.linkage.index import EVIDENCE_TABLE, INDEX_TABLE, LOG_TABLE
from wholesystem.record.linkage.pipeline import build_person_index
from wholesystem.record.staging import SOURCE_IDENTITY
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate

# --- a hand-built lake -------------------------------------------------------------------

N1, N2, N3, N4 = nhs(999_000_001), nhs(999_000_101), nhs(999_000_201), nhs(999_000_301)
BAD_NHS = N4[:9] + str((int(N4[9]) + 1) % 10)  # wrong check digit
assert N4 != BAD_NHS


def rec(
    rid: str,
    source: str,
    dataset: str,
    local: str,
    nhs_number: str | None,
    given: str | None,
    family: str | None,
    dob: str | None,
    sex: str | None = "F",
    postcode: str | None = "NS1 1AA",
) -> dict[str, Any]:
    return {
        "record_id": rid,
        "source": source,
        "dataset": dataset,
        "local_patient_id": local,
        "nhs_number": nhs_number,
        "given_name": given,
        "family_name": family,
        "date_of_birth": date.fromisoformat(dob) if dob else None,
        "sex": sex,
        "postcode": postcode,
    }


RECORDS = [
    # P1: one NHS number, demographics agree -> deterministic, at two sources
    rec("r01", "GP1", "gp_patients", "g1", N1, "Ann", "Able", "1950-01-02"),
    rec("r02", "TR1", "apc", "t1", f"{N1[:3]} {N1[3:6]} {N1[6:]}", "Ann", "Able", "1950-01-02"),
    # P2: no NHS number, joined by the model, at two sources
    rec("r03", "TR1", "apc", "t2", None, "Bea", "Bold", "1960-03-04"),
    rec("r04", "TR2", "ecds", "e1", "", "Bea", "Bold", "1960-03-04", postcode="NS2 2BB"),
    # P3: two local ids at GP1 with identical details -> identical, a within-source duplicate
    rec("r05", "GP1", "gp_patients", "g2", N2, "Cal", "Crow", "1970-05-06", "M"),
    rec("r06", "GP1", "gp_patients", "g3", N2, "Cal", "Crow", "1970-05-06", "M"),
    # P4: a singleton with an invalid NHS number
    rec("r07", "TR2", "ecds", "e2", BAD_NHS, "Dee", "Dunn", "1980-07-08"),
    # P5 and P6: one NHS number on two people (a mother's number keyed for her son)
    rec("r08", "GP1", "gp_patients", "g4", N3, "Eve", "East", "1955-09-10"),
    rec("r09", "TR1", "apc", "t3", N3, "Finn", "East", "1990-11-12", "M"),
    # P7: one NHS number, given names contradict, the model joined them (a typo)
    rec("r10", "GP1", "gp_patients", "g5", N4, "Gail", "Gray", "1945-12-01"),
    rec("r11", "TR2", "ecds", "e3", N4, "Mary", "Gray", "1945-12-01"),
    # ingested after the last linkage run
    rec("r12", "TR2", "ecds", "e4", None, "Hal", "Hunt", "2000-01-01", "M"),
]
PERSON_OF = {
    "r01": "WP0000000001",
    "r02": "WP0000000001",
    "r03": "WP0000000002",
    "r04": "WP0000000002",
    "r05": "WP0000000003",
    "r06": "WP0000000003",
    "r07": "WP0000000004",
    "r08": "WP0000000005",
    "r09": "WP0000000006",
    "r10": "WP0000000007",
    "r11": "WP0000000007",
}
WEIGHTS = {"given": 7.1, "family": 6.9, "dob": 9.3, "sex": 0.98, "postcode": -1.5, "nhs": 0.0}
EDGES = [
    ("r01", "r02", "nhs", None, 1.0, {"rule": "same valid NHS number"}),
    ("r03", "r04", "model", 18.4, 0.99999, WEIGHTS),
    ("r05", "r06", "identical", None, 1.0, {"rule": "identical after standardisation"}),
    ("r10", "r11", "model", 4.2, 0.95, {**WEIGHTS, "given": -3.0}),
]
LAST_RUN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LOG = [
    (datetime(2026, 11, 1, tzinfo=UTC), "merge", "WP0000000001", "WP0000000009", ["r02"]),
    (datetime(2026, 11, 20, 9, 1, tzinfo=UTC), "split", "WP0000000006", "WP0000000005", ["r09"]),
    (datetime(2026, 11, 20, 9, 1, tzinfo=UTC), "merge", "WP0000000007", "WP0000000008", ["r11"]),
]


def write_lake(root: Path, *, log: bool = True) -> Lake:
    """The hand-built lake above: source_identity, person_index, evidence and log."""
    lake = Lake(root)
    schema = pa.schema(
        [(c, pa.date32() if c == "date_of_birth" else pa.string()) for c in RECORDS[0]]
    )
    lake.write_arrow(SOURCE_IDENTITY, pa.Table.from_pylist(RECORDS, schema=schema))
    rids = sorted(PERSON_OF)
    lake.write_arrow(
        INDEX_TABLE, pa.table({"record_id": rids, "person_id": [PERSON_OF[r] for r in rids]})
    )
    lake.write_arrow(
        EVIDENCE_TABLE,
        pa.table(
            {
                "record_id_l": [e[0] for e in EDGES],
                "record_id_r": [e[1] for e in EDGES],
                "kind": [e[2] for e in EDGES],
                "match_weight": pa.array([e[3] for e in EDGES], pa.float64()),
                "match_probability": [e[4] for e in EDGES],
                "detail": [json.dumps(e[5]) for e in EDGES],
            }
        ),
    )
    if log:
        lake.write_arrow(
            LOG_TABLE,
            pa.table(
                {
                    "run_at": pa.array([e[0] for e in LOG], pa.timestamp("us", tz="UTC")),
                    "kind": [e[1] for e in LOG],
                    "person_id": [e[2] for e in LOG],
                    "other_person_id": [e[3] for e in LOG],
                    "record_ids": [json.dumps(e[4]) for e in LOG],
                    "evidence": ["[]"] * len(LOG),
                }
            ),
        )
    return lake


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with write_lake(tmp_path / "lake").connect() as c:
        yield c


def test_index_present_needs_the_three_tables(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "empty")
    assert not report.index_present(lake)
    assert report.index_present(write_lake(tmp_path / "lake", log=False))


def test_summary_counts_and_methods(con: duckdb.DuckDBPyConnection) -> None:
    s = report.summary(con)
    assert (s.source_records, s.indexed_records, s.not_indexed, s.persons) == (12, 11, 1, 7)
    assert s.largest_person == 2
    assert s.records_per_person == pytest.approx(11 / 7)
    methods = {m.key: (m.persons, m.records) for m in s.methods}
    assert methods == {
        "nhs": (1, 2),  # P1
        "model": (2, 4),  # P2, P7
        "identical": (1, 2),  # P3
        "singleton": (3, 3),  # P4, P5, P6
    }
    sizes = {b.label: (b.persons, b.records) for b in s.sizes}
    assert sizes["1"] == (3, 3)
    assert sizes["2"] == (4, 8)
    assert sum(p for p, _ in sizes.values()) == 7


def test_changes_since_the_last_run(con: duckdb.DuckDBPyConnection) -> None:
    assert report.changes_since(con, LAST_RUN) == report.ChangeCounts(1, 1, 2)
    assert report.changes_since(con, None) == report.ChangeCounts(2, 1, 3)
    assert report.changes_since(con, datetime(2027, 1, 1, tzinfo=UTC)) == report.ChangeCounts(
        0, 0, 0
    )


def test_changes_without_a_log(tmp_path: Path) -> None:
    with write_lake(tmp_path / "lake", log=False).connect() as c:
        assert report.changes_since(c, None) == report.ChangeCounts(0, 0, 0)


def test_match_rates_by_source_and_dataset(con: duckdb.DuckDBPyConnection) -> None:
    rows = {(r.source, r.dataset): r for r in report.match_rates(con)}
    assert list(rows) == [
        ("GP1", "gp_patients"),
        ("GP1", None),
        ("TR1", "apc"),
        ("TR1", None),
        ("TR2", "ecds"),
        ("TR2", None),
        (None, None),
    ]
    gp = rows[("GP1", "gp_patients")]
    # r01 (P1 also at TR1), r05/r06 (P3 only at GP1), r08 (P5 alone), r10 (P7 also at TR2)
    assert (gp.records, gp.indexed, gp.other_source, gp.gp_elsewhere) == (5, 5, 2, 0)
    assert (gp.nhs_missing, gp.nhs_invalid) == (0, 0)
    tr1 = rows[("TR1", "apc")]
    # r02 (P1: GP1 registration), r03 (P2: also at TR2, no GP), r09 (P6 alone)
    assert (tr1.records, tr1.other_source, tr1.gp_elsewhere, tr1.nhs_missing) == (3, 2, 1, 1)
    tr2 = rows[("TR2", "ecds")]
    # r04 (P2, also TR1), r07 (singleton, bad NHS), r11 (P7, GP1 registration), r12 unindexed
    assert (tr2.records, tr2.indexed, tr2.other_source, tr2.gp_elsewhere) == (4, 3, 2, 1)
    assert (tr2.nhs_missing, tr2.nhs_invalid, tr2.without_nhs) == (2, 1, 3)
    total = rows[(None, None)]
    assert (total.records, total.indexed, total.nhs_missing, total.nhs_invalid) == (12, 11, 3, 1)


def test_match_rates_filtered(con: duckdb.DuckDBPyConnection) -> None:
    only = report.match_rates(con, report.Filters(source="TR2"))
    assert [(r.source, r.dataset, r.records) for r in only] == [
        ("TR2", "ecds", 4),
        ("TR2", None, 4),
        (None, None, 4),
    ]
    # who else holds the person is judged over every source, whatever the filter
    assert only[0].other_source == 2
    assert report.match_rates(con, report.Filters(dataset="opa")) == []
    assert report.sources_and_datasets(con) == (
        ["GP1", "TR1", "TR2"],
        ["apc", "ecds", "gp_patients"],
    )


def test_shared_nhs_numbers(con: duckdb.DuckDBPyConnection) -> None:
    assert report.shared_nhs_totals(con) == report.SharedNhsTotals(2, 1, 1)
    items = report.shared_nhs_numbers(con)
    assert [i.nhs_number for i in items] == [N3, N4]  # split ones first
    split, joined = items
    assert split.persons == ("WP0000000005", "WP0000000006")
    assert split.contradicted
    assert split.split
    assert set(split.pair) == {"r08", "r09"}
    assert [m.given_name for m in split.members] == ["Eve", "Finn"]
    assert joined.persons == ("WP0000000007",)
    assert joined.contradicted
    assert joined.pair == ("r10", "r11")
    assert joined.sources == ("GP1", "TR2")
    # N1 has a spaced variant and the same demographics: not shared; N2 is one person
    page = report.shared_nhs_numbers(con, limit=1, offset=1)
    assert [i.nhs_number for i in page] == [N4]
    assert report.shared_nhs_totals(con, report.Filters(source="TR1")).numbers == 1
    assert report.shared_nhs_numbers(con, report.Filters(dataset="ecds"))[0].nhs_number == N4


def test_within_source_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    assert report.duplicates_by_source(con) == [report.DuplicatesBySource("GP1", 1, 1)]
    items, total = report.duplicates(con)
    assert total == 1
    (d,) = items
    assert (d.source, d.person_id, d.local_ids, d.pair) == (
        "GP1",
        "WP0000000003",
        2,
        ("r05", "r06"),
    )
    assert [m.local_patient_id for m in d.members] == ["g2", "g3"]
    assert report.duplicates(con, report.Filters(source="TR1")) == ([], 0)
    assert report.duplicates(con, report.Filters(dataset="gp_patients"))[1] == 1
    assert report.duplicates_by_source(con, report.Filters(dataset="apc")) == []


def test_explain_a_deterministic_and_a_model_pair(con: duckdb.DuckDBPyConnection) -> None:
    e = report.explain_records(con, "r02", "r01")
    assert e is not None
    assert e.same_person
    assert e.kind == "nhs"
    assert e.rule == "same valid NHS number"
    assert e.weights == []
    assert e.shared_nhs_number
    assert e.contradiction == report.Contradiction(False, False, False)
    m = report.explain_records(con, "r03", "r04")
    assert m is not None
    assert (m.kind, m.match_weight, m.match_probability) == ("model", 18.4, 0.99999)
    assert dict(m.weights) == WEIGHTS
    assert not m.shared_nhs_number
    assert m.contradiction is None
    same = report.explain_records(con, "r05", "r06")
    assert same is not None
    assert same.kind == "identical"


def test_explain_a_contradicted_pair_and_two_persons(con: duckdb.DuckDBPyConnection) -> None:
    typo = report.explain_records(con, "r10", "r11")
    assert typo is not None
    assert typo.same_person
    assert typo.kind == "model"
    assert typo.contradiction == report.Contradiction(True, False, False)
    apart = report.explain_records(con, "r08", "r09")
    assert apart is not None
    assert not apart.same_person
    assert apart.kind == "not compared"
    assert apart.contradiction == report.Contradiction(True, True, False)
    assert report.explain_records(con, "r01", "r12") is None  # r12 is not indexed
    assert report.explain_records(con, "r01", "nope") is None


def test_explain_a_pair_joined_through_another_record(tmp_path: Path) -> None:
    lake = write_lake(tmp_path / "lake")
    # a third record joins P2 through r04 only
    extra = rec("r13", "TR1", "opa", "t9", None, "Bea", "Bolde", "1960-03-04")
    table = lake.read_arrow(SOURCE_IDENTITY)
    lake.write_arrow(
        SOURCE_IDENTITY, pa.concat_tables([table, pa.Table.from_pylist([extra], table.schema)])
    )
    index = lake.read_arrow(INDEX_TABLE)
    lake.write_arrow(
        INDEX_TABLE,
        pa.concat_tables([index, pa.table({"record_id": ["r13"], "person_id": ["WP0000000002"]})]),
    )
    ev = lake.read_arrow(EVIDENCE_TABLE).to_pylist()
    ev.append(
        {
            "record_id_l": "r04",
            "record_id_r": "r13",
            "kind": "model",
            "match_weight": 12.0,
            "match_probability": 0.9998,
            "detail": json.dumps(WEIGHTS),
        }
    )
    lake.write_arrow(EVIDENCE_TABLE, pa.Table.from_pylist(ev))
    with lake.connect() as c:
        e = report.explain_records(c, "r03", "r13")
    assert e is not None
    assert e.same_person
    assert e.kind == "not compared"
    assert [(p.record_id_l, p.record_id_r) for p in e.path] == [("r03", "r04"), ("r04", "r13")]


# --- a synthetic ICS with known truth ----------------------------------------------------


@dataclass
class Synth:
    root: Path
    lake: Lake
    factory: sessionmaker[Session]
    truth: dict[tuple[str, str], str]  # (org, local id) -> true person


@pytest.fixture(scope="module")
def synth_ics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """300 synthetic people, ingested and linked into a lake (with their truth)."""
    root = tmp_path_factory.mktemp("linkage-report")
    generate(SynthConfig(people=300, seed=3), root / "ics", progress=False, workers=1)
    url = f"sqlite:///{root / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    lake = Lake(root / "lake")
    ingest_path(factory, lake, root / "ics", actor="tester")
    build_person_index(factory, lake)
    records_csv = str(root / "ics" / "truth" / "records.csv")
    rows = duckdb.execute(
        "SELECT org_code, local_patient_id, person_id FROM read_csv(?, all_varchar = true)",
        [records_csv],
    ).fetchall()
    truth = {(org, local): person for org, local, person in rows}
    yield Synth(root, lake, factory, truth)
    engine.dispose()


def _records(s: Synth) -> list[dict[str, Any]]:
    index = dict(
        (r["record_id"], r["person_id"]) for r in s.lake.read_arrow(INDEX_TABLE).to_pylist()
    )
    rows = s.lake.read_arrow(SOURCE_IDENTITY).to_pylist()
    for r in rows:
        r["person_id"] = index.get(r["record_id"])
        r["truth"] = s.truth[(r["source"], r["local_patient_id"])]
    return rows


def test_synth_summary_matches_the_truth(synth_ics: Synth) -> None:
    rows = _records(synth_ics)
    with synth_ics.lake.connect() as c:
        s = report.summary(c)
    true_persons = len({r["truth"] for r in rows})
    assert s.source_records == len(rows)
    assert s.not_indexed == 0
    assert s.persons == len({r["person_id"] for r in rows})
    assert abs(s.persons - true_persons) <= 0.02 * true_persons
    per_person = Counter(r["person_id"] for r in rows)
    assert s.largest_person == max(per_person.values())
    assert sum(b.persons for b in s.sizes) == s.persons
    assert sum(b.records for b in s.sizes) == s.indexed_records == len(rows)
    singletons = next(m for m in s.methods if m.key == "singleton")
    assert singletons.persons == sum(1 for n in per_person.values() if n == 1)
    # most persons with several records are joined by identical details or NHS number
    model = next(m for m in s.methods if m.key == "model")
    assert 0 < model.persons < 0.25 * s.persons


def test_synth_match_rates_match_the_truth(synth_ics: Synth) -> None:
    rows = _records(synth_ics)
    true_sources: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        true_sources[r["truth"]].add(r["source"])
    expected: Counter[tuple[str, str]] = Counter()
    records: Counter[tuple[str, str]] = Counter()
    missing: Counter[tuple[str, str]] = Counter()
    for r in rows:
        key = (r["source"], r["dataset"])
        records[key] += 1
        expected[key] += len(true_sources[r["truth"]]) > 1
        missing[key] += not (r["nhs_number"] or "").strip()
    with synth_ics.lake.connect() as c:
        rates = [m for m in report.match_rates(c) if m.dataset is not None]
    assert {(m.source, m.dataset) for m in rates} == set(records)
    off = 0
    for m in rates:
        key = (m.source or "", m.dataset or "")
        assert m.records == m.indexed == records[key]
        assert m.nhs_missing == missing[key]
        assert m.nhs_invalid == 0  # ingest quarantines invalid NHS numbers
        assert abs(m.other_source - expected[key]) <= 1, key
        off += abs(m.other_source - expected[key])
    assert off <= 2


def test_synth_gp_registration_elsewhere_matches_the_truth(synth_ics: Synth) -> None:
    rows = _records(synth_ics)
    gp_sources: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["dataset"] == report.GP_REGISTRATION_DATASET:
            gp_sources[r["truth"]].add(r["source"])
    expected: Counter[tuple[str, str]] = Counter()
    for r in rows:
        expected[(r["source"], r["dataset"])] += bool(gp_sources[r["truth"]] - {r["source"]})
    with synth_ics.lake.connect() as c:
        rates = [m for m in report.match_rates(c) if m.dataset is not None]
    for m in rates:
        assert abs(m.gp_elsewhere - expected[(m.source or "", m.dataset or "")]) <= 1
    hospital = [m for m in rates if m.source and m.source.startswith("R9")]
    assert all(m.gp_elsewhere > 0.8 * m.indexed for m in hospital)


def test_synth_duplicates_and_shared_numbers_match_the_truth(synth_ics: Synth) -> None:
    rows = _records(synth_ics)
    locals_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    persons_of_nhs: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        locals_of[(r["source"], r["truth"])].add(r["local_patient_id"])
        if r["nhs_number"]:
            persons_of_nhs[r["nhs_number"].replace(" ", "")].add(r["truth"])
    true_dupes = {(src, frozenset(ids)) for (src, _), ids in locals_of.items() if len(ids) > 1}
    true_shared = {n for n, people in persons_of_nhs.items() if len(people) > 1}
    assert true_dupes
    assert true_shared
    with synth_ics.lake.connect() as c:
        dupes, total = report.duplicates(c)
        shared = report.shared_nhs_numbers(c)
    assert total == len(dupes)
    found = {(d.source, frozenset(m.local_patient_id for m in d.members)) for d in dupes}
    assert found == true_dupes
    assert {s.nhs_number for s in shared if s.split} == true_shared
    for s in shared:
        assert s.records == len(s.members)
        assert len({m.nhs_number for m in s.members}) >= 1


def test_synth_every_listed_pair_explains(synth_ics: Synth) -> None:
    with synth_ics.lake.connect() as c:
        shared = report.shared_nhs_numbers(c)
        dupes, _ = report.duplicates(c)
        evidence = c.sql(
            "SELECT * FROM person_link_evidence WHERE kind = 'model' ORDER BY match_weight LIMIT 3"
        ).to_arrow_table()
        for item in shared:
            e = report.explain_records(c, *item.pair)
            assert e is not None
            assert e.shared_nhs_number
            assert e.contradiction is not None
            assert e.same_person == (not item.split)
            if item.contradicted:
                assert e.contradiction.any
        for d in dupes:
            e = report.explain_records(c, *d.pair)
            assert e is not None
            assert e.same_person
            assert e.kind != "not compared" or e.path
        for row in evidence.to_pylist():
            e = report.explain_records(c, row["record_id_l"], row["record_id_r"])
            assert e is not None
            assert e.kind == "model"
            assert e.match_weight == row["match_weight"]
            assert dict(e.weights) == json.loads(row["detail"])


def test_roll_up_sums_the_cells_the_filters_keep(con: duckdb.DuckDBPyConnection) -> None:
    cells = report.match_rate_cells(con)
    assert [(c.source, c.dataset) for c in cells] == [
        ("GP1", "gp_patients"),
        ("TR1", "apc"),
        ("TR2", "ecds"),
    ]
    everything = report.roll_up(cells)
    total = everything[-1]
    assert total.source is None
    assert total.dataset is None
    for field in ("records", "indexed", "gp_elsewhere", "other_source", "nhs_missing"):
        assert getattr(total, field) == sum(getattr(c, field) for c in cells)
    assert report.roll_up(cells, report.Filters(source="TR1", dataset="ecds")) == []
    assert report.roll_up([]) == []


def _lists(c: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """Every list and figure the page shows."""
    return (
        report.shared_nhs_totals(c),
        report.shared_nhs_numbers(c),
        report.duplicates(c),
        report.duplicates_by_source(c),
        report.listed_record_ids(c),
        report.summary(c),
        report.match_rate_cells(c),
        report.sources_and_datasets(c),
    )


def test_the_person_index_step_keeps_the_lists_working_tables(
    synth_ics: Synth, tmp_path: Path
) -> None:
    """The lists read from the kept tables are the lists worked out afresh; once the
    index is written again (a relink) the kept tables are not used."""
    assert set(report.WORKING_TABLES) <= set(synth_ics.lake.tables())
    with synth_ics.lake.connect() as live:
        expected = _lists(live)
    assert expected[0].numbers  # lists with something in them
    assert expected[2][1]
    with synth_ics.lake.connect() as kept:
        assert report.load_working_tables(kept, synth_ics.lake)
        assert _lists(kept) == expected
    lake = Lake(tmp_path / "lake")
    shutil.copytree(synth_ics.lake.root, lake.root, symlinks=True)
    with lake.connect() as c:
        assert not report.load_working_tables(c, lake)  # a copy: another person_index file
    report.write_working_tables(lake)
    with lake.connect() as c:
        assert report.load_working_tables(c, lake)
    report.write_working_tables(lake)
    lake.write_arrow(INDEX_TABLE, lake.read_arrow(INDEX_TABLE))  # a relink since
    with lake.connect() as c:
        assert not report.load_working_tables(c, lake)
        assert not report._has(c, "lk_shared")  # worked out on first use instead


def test_kept_tables_hold_after_an_ingest_that_only_adds_records(
    synth_ics: Synth, tmp_path: Path
) -> None:
    """Records ingested since the relink are not indexed: the kept lists and the index's
    figures still hold, and only the records not indexed are counted again. The page
    then shows what it would have worked out afresh."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(synth_ics.lake.root, lake.root, symlinks=True)
    report.write_working_tables(lake)
    identities = lake.read_arrow(SOURCE_IDENTITY)
    first = identities.slice(0, 1).to_pylist()[0]
    added = [
        {
            **first,
            "record_id": "NEW1:gp_events:x1:aaaaaaaaaa",
            "source": "NEW1",
            "dataset": "gp_events",
            "nhs_number": None,
        },
        {
            **first,
            "record_id": "NEW1:gp_events:x2:bbbbbbbbbb",
            "source": "NEW1",
            "dataset": "gp_events",
            "nhs_number": "943 476 5918",
        },  # a wrong check digit
        {
            **first,
            "record_id": "NEW1:gp_events:x3:cccccccccc",
            "source": "NEW1",
            "dataset": "gp_events",
            "nhs_number": "943 476 5919",
        },
        {**first, "record_id": first["record_id"] + "-again", "local_patient_id": "x4"},
    ]
    lake.write_arrow(
        SOURCE_IDENTITY,
        pa.concat_tables([identities, pa.Table.from_pylist(added, identities.schema)]),
    )
    with lake.connect() as fresh:
        expected = _lists(fresh)
    summary = expected[5]
    assert summary.not_indexed == 4
    assert summary.source_records == identities.num_rows + 4
    new = next(c for c in expected[6] if c.source == "NEW1")
    assert (new.records, new.indexed, new.nhs_missing, new.nhs_invalid) == (3, 0, 1, 1)
    with lake.connect() as kept:
        assert report.load_working_tables(kept, lake)
        assert _lists(kept) == expected


def test_kept_tables_hold_after_an_ingest_that_took_records_away(
    synth_ics: Synth, tmp_path: Path
) -> None:
    """Indexed records gone since the relink (a corrected file dropped them): what they
    touched is worked out again, and the page shows what it would have worked out
    afresh. The records taken away are members of a shared NHS number, of a
    within-source duplicate, and one of neither."""
    lake = Lake(tmp_path / "lake")
    shutil.copytree(synth_ics.lake.root, lake.root, symlinks=True)
    report.write_working_tables(lake)
    with lake.connect() as before:
        shown = _lists(before)
        shared = report._rows(before, "SELECT nhs, record_id FROM lk_nhs ORDER BY nhs, record_id")
        dup = report._rows(before, "SELECT record_id FROM lk_dup_records ORDER BY record_id")
        listed = {r[1] for r in shared} | {r[0] for r in dup}
        plain = report._rows(
            before,
            f"SELECT min(record_id) FROM {INDEX_TABLE} WHERE record_id NOT IN "  # noqa: S608
            "(SELECT record_id FROM lk_nhs UNION ALL SELECT record_id FROM lk_dup_records)",
        )[0][0]
    gone = {shared[0][1], dup[0][0], plain}
    assert len(gone) == 3
    assert plain not in listed
    identities = lake.read_arrow(SOURCE_IDENTITY)
    keep = pa.array([r not in gone for r in identities.column("record_id").to_pylist()])
    lake.write_arrow(SOURCE_IDENTITY, identities.filter(keep))
    with lake.connect() as fresh:
        expected = _lists(fresh)
    with lake.connect() as kept:
        assert report.load_working_tables(kept, lake)
        assert _lists(kept) == expected
        # Nothing of the refresh is left behind.
        assert not report._has(kept, "lk_gone")
        assert not report._has(kept, "lk_shared_new")
    # The removal changed the lists and the match rates (not the index's figures).
    assert expected[1] != shown[1]
    assert expected[2] != shown[2]
    assert expected[6] != shown[6]
