"""Point reads of the linked lake and the access context built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.record.view.lakefixture import (
    ADA,
    ADA_NHS,
    ADA_OLD_NHS,
    BEN,
    CAT,
    DAN,
    UNKNOWN_NHS,
    tiny_lake_rows,
    write_lake,
)
from wholesystem.access.pseudonyms import pseudonymise
from wholesystem.record.view.queries import (
    RECORD_TABLES,
    LakeReader,
    context_from_rows,
    person_context,
    person_for_pseudonym,
    reader_for,
    select_sql,
)
from wholesystem.store.lake import Lake

TODAY = date(2026, 11, 23)
KEY = b"k" * 32


@pytest.fixture
def tiny(tmp_path: Path) -> Lake:
    return Lake(write_lake(tmp_path / "lake"))


def test_record_rows_are_one_persons_rows_typed(tiny: Lake) -> None:
    rows = LakeReader(tiny).record_rows(ADA)
    assert rows.exists
    assert rows.person is not None
    assert rows.person["date_of_birth"] == date(1950, 3, 1)
    assert rows.person["sources"] == ["A00001", "E06000901", "RA1", "RC1"]
    expected = tiny_lake_rows()
    for table in RECORD_TABLES:
        if table == "person":
            continue
        mine = [r for r in expected[table] if r["person_id"] == ADA]
        assert len(rows.rows(table)) == len(mine), table
        assert all(r["person_id"] == ADA for r in rows.rows(table))
    admission = next(e for e in rows.rows("event") if e["event_id"] == "E-ADA-IP1")
    assert admission["start_time"] == datetime(2024, 3, 6, 3, 0, tzinfo=UTC)
    assert admission["cost"] == Decimal("4210.50")
    assert admission["codes"] == ["J18.9"]


def test_an_absent_person_or_table_reads_as_empty(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    missing = reader.record_rows("WP9999999999")
    assert not missing.exists
    assert all(v == [] for v in missing.tables.values())
    tiny.path("allergy").unlink()
    assert reader.record_rows(ADA).rows("allergy") == []


def test_a_replaced_file_is_read_afresh(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    assert len(reader.record_rows(ADA).rows("allergy")) == 1
    rows = tiny_lake_rows()
    rows["allergy"] = []
    write_lake(tiny.root, {"allergy": rows["allergy"]})
    assert reader.record_rows(ADA).rows("allergy") == []


def test_point_reads_decode_only_the_persons_row_groups(tiny: Lake) -> None:
    """The fixture writes two rows per row group; a person's read touches only theirs."""
    reader = LakeReader(tiny)
    assert reader.person_rows("event", DAN)[0]["event_id"] == "E-DAN-DTH"
    table_file = reader._table_file("event")
    assert table_file is not None
    assert table_file.metadata.num_row_groups == 5
    # Ada has seven events (row groups 0-3); Dan shares row group 4 with one of Cat's.
    assert table_file.groups_for(ADA) == [0, 1, 2, 3]
    assert table_file.groups_for(DAN) == [4]
    assert table_file.groups_for("WP0000000000") == []
    assert table_file.groups_for("WP9999999999") == []


def test_the_duckdb_read_prunes_row_groups_too(tiny: Lake) -> None:
    """The DuckDB form of the read (searches) uses the same statistics."""
    literal = "'" + str(tiny.path("event")) + "'"
    plan = (
        duckdb.connect()
        .execute("EXPLAIN ANALYZE " + select_sql("event", literal), [DAN])
        .fetchall()[0][1]
    )
    assert "Row Groups Scanned: 1 / 5" in plan


def test_an_unsorted_file_is_still_read_correctly(tmp_path: Path) -> None:
    rows = tiny_lake_rows()
    lake = Lake(write_lake(tmp_path / "lake"))
    # Rewrite the event table in reverse person order: no bisecting, every range checked.
    table = pq.read_table(lake.path("event"))
    pq.write_table(
        table.take(list(reversed(range(table.num_rows)))), lake.path("event"), row_group_size=3
    )
    reader = LakeReader(lake)
    expected = sorted(r["event_id"] for r in rows["event"] if r["person_id"] == ADA)
    assert sorted(r["event_id"] for r in reader.person_rows("event", ADA)) == expected


@pytest.mark.parametrize(
    ("person_id", "practices", "open_orgs"),
    [
        (ADA, {"A00001"}, {"E06000901"}),  # old A00003 registration ended; care package
        (BEN, {"A00002"}, set()),
        (CAT, {"A00003"}, {"RA1", "RC1"}),  # open admission and community episode
        (DAN, {"A00003"}, set()),
        ("WP9999999999", set(), set()),
    ],
)
def test_person_context(
    tiny: Lake, person_id: str, practices: set[str], open_orgs: set[str]
) -> None:
    context = person_context(tiny, person_id, today=TODAY)
    assert context.person_id == person_id
    assert context.registered_practices == frozenset(practices)
    assert context.open_episode_orgs == frozenset(open_orgs)


def test_context_as_at_a_date() -> None:
    tables = tiny_lake_rows()
    from wholesystem.record.view.queries import RecordRows

    rows = RecordRows(
        ADA,
        tables["person"][0],
        {
            t: [r for r in tables[t] if r["person_id"] == ADA]
            for t in ("registration", "event", "care_package")
        },
    )
    # In 1995 Ada was at Quay (A00003) as well as the person table's current practice.
    assert context_from_rows(rows, today=date(1995, 1, 1)).registered_practices == {
        "A00003",
        "A00001",
    }
    # Before the home-care package started there was no open episode at the council.
    assert context_from_rows(rows, today=date(2024, 3, 1)).open_episode_orgs == frozenset()


def test_persons_with_nhs_number(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    assert reader.persons_with_nhs_number(ADA_NHS) == [ADA]
    assert reader.persons_with_nhs_number(ADA_OLD_NHS) == [ADA]  # a partner's number
    assert reader.persons_with_nhs_number(UNKNOWN_NHS) == []


def test_persons_with_details(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    born = date(1950, 3, 1)
    assert reader.persons_with_details("Lovelace", born) == [ADA]
    assert reader.persons_with_details(" love-LACE ", born, "a") == [ADA]
    assert reader.persons_with_details("lovelace", date(1950, 1, 3)) == [ADA]  # a partner's
    assert reader.persons_with_details("Lovelace", born, "Bob") == []
    assert reader.persons_with_details("Lovelac", born) == []  # the family name is whole
    assert reader.persons_with_details("Chen", date(1988, 11, 30)) == [CAT]


def test_details_compare_letters_of_every_script(tmp_path: Path) -> None:
    rows = tiny_lake_rows()
    born = date(1950, 3, 1)
    # Two more people born the same day as Ada: names outside A-Z must not all look alike.
    for pid, given, family in (("WP0000000011", "伟", "王"), ("WP0000000012", "Zoë", "Ñúñez")):
        rows["person"].append({**rows["person"][0], "person_id": pid, "given_name": given,
                               "family_name": family, "date_of_birth": born})  # fmt: skip
    reader = LakeReader(Lake(write_lake(tmp_path / "lake", rows)))
    assert reader.persons_with_details("王", born) == ["WP0000000011"]
    assert reader.persons_with_details("李", born) == []
    assert reader.persons_with_details("nunez", born, "zoe") == ["WP0000000012"]
    assert reader.persons_with_details("Lovelace", born) == [ADA]


def test_a_details_search_says_when_more_match_than_it_looks_at(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    assert reader.persons_with_details("Lovelace", date(1950, 3, 1), limit=0) == [ADA]  # 1 > 0


def test_pseudonym_lookup_agrees_with_the_access_function(tiny: Lake) -> None:
    reader = LakeReader(tiny)
    for person_id in (ADA, BEN, CAT, DAN):
        assert person_for_pseudonym(reader, pseudonymise(person_id, KEY), KEY) == person_id
    assert person_for_pseudonym(reader, pseudonymise(ADA, b"other" * 8), KEY) is None
    assert person_for_pseudonym(reader, "PS0000000000000000", KEY) is None
    assert person_for_pseudonym(reader, "not a pseudonym", KEY) is None


def test_one_reader_per_lake(tiny: Lake) -> None:
    assert reader_for(tiny) is reader_for(Lake(tiny.root))
