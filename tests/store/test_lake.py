"""The lake: atomic replacement, DuckDB views, table-name checks."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from wholesystem.store.lake import Lake, LakeError


def test_write_read_and_query(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.write_arrow("event", pa.table({"org": ["A", "A", "B"], "n": [1, 2, 3]}))
    assert lake.tables() == ["event"]
    assert lake.row_count("event") == 3
    with lake.connect() as con:
        rows = con.execute("SELECT org, sum(n) FROM event GROUP BY org ORDER BY org").fetchall()
    assert rows == [("A", 3), ("B", 3)]
    lake.write_query("by_org", "SELECT org, count(*) AS k FROM event GROUP BY org")
    assert lake.read_arrow("by_org").num_rows == 2


def test_a_failed_write_leaves_the_previous_table_and_no_debris(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.write_arrow("person", pa.table({"id": [1, 2]}))
    with pytest.raises(Exception, match=r"Binder Error|not found|does not exist"):
        lake.write_query("person", "SELECT * FROM no_such_table")
    assert lake.read_arrow("person").column("id").to_pylist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["person.parquet"]


def test_replacement_is_a_rename_not_an_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path)
    lake.write_arrow("t", pa.table({"v": [1]}))
    calls: list[tuple[str, str]] = []
    import os

    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr("wholesystem.store.lake.os.replace", spy)
    lake.write_arrow("t", pa.table({"v": [2]}))
    assert len(calls) == 1
    assert calls[0][0].startswith(".t.parquet.")
    assert calls[0][1] == "t.parquet"


@pytest.mark.parametrize("name", ["Person", "1abc", "a-b", "x;drop", "", "a" * 70])
def test_bad_table_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(LakeError, match="bad table name"):
        Lake(tmp_path).path(name)


def test_reading_a_missing_table_says_which(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="lake table 'nope' does not exist"):
        Lake(tmp_path).read_arrow("nope")
