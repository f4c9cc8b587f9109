"""The lake: atomic replacement, DuckDB views, table-name checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
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


# ------------------------------------------------------------------ tables written in parts


def _ids(lake: Lake, name: str) -> list[int]:
    return [int(v) for v in lake.read_arrow(name).column("id").to_pylist()]


def test_a_table_in_parts_reads_as_one_in_part_name_order(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    kept = tmp_path / "kept.parquet"
    pq.write_table(pa.table({"id": pa.array([3, 4], pa.int64())}), kept)
    lake.write_parts("t", [("a.parquet", pa.table({"id": [1, 2]})), ("b.parquet", kept)])
    assert lake.tables() == ["t"]
    assert lake.exists("t")
    assert _ids(lake, "t") == [1, 2, 3, 4]
    assert lake.row_count("t") == 4
    with lake.connect() as con:
        assert con.execute("SELECT sum(id) FROM t").fetchall() == [(10,)]
    # A file taken as it is is linked, not copied.
    assert [f.name for f in lake.files("t")] == ["a.parquet", "b.parquet"]
    assert lake.files("t")[1].stat().st_ino == kept.stat().st_ino


def test_a_new_version_replaces_the_parts_keeping_the_previous_one_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path)
    states = []
    for n in range(4):
        lake.write_parts("t", [(f"p{n}.parquet", pa.table({"id": [n]}))])
        states.append(lake.state("t"))
        assert _ids(lake, "t") == [n]
    assert len(set(states)) == 4  # every version tells itself apart
    versions = list((tmp_path / ".t.versions").iterdir())
    assert len(versions) == 2  # the current and the previous, for a reader that had it
    # A part of the current version may be taken into the next; only the new one is
    # synced to disk (the other was when it joined the table).
    current = lake.files("t")[0]
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(
        "wholesystem.store.lake.os.fsync", lambda fd: synced.append(fd) or real_fsync(fd)
    )
    lake.write_parts("t", [("p3.parquet", current), ("p4.parquet", pa.table({"id": [4]}))])
    assert len(synced) == 1
    assert _ids(lake, "t") == [3, 4]
    assert lake.files("t")[0].stat().st_ino == current.stat().st_ino


def test_written_whole_or_in_parts_a_table_is_only_ever_one_of_them(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.write_arrow("t", pa.table({"id": [1]}))
    lake.write_parts("t", [("a.parquet", pa.table({"id": [2]}))])
    assert not lake.path("t").exists()
    assert _ids(lake, "t") == [2]
    lake.write_arrow("t", pa.table({"id": [3]}))
    assert not (tmp_path / "t").exists()
    assert not (tmp_path / ".t.versions").exists()
    assert _ids(lake, "t") == [3]
    assert lake.tables() == ["t"]


def test_a_failed_parts_write_leaves_the_previous_version_and_no_debris(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.write_parts("t", [("a.parquet", pa.table({"id": [1]}))])
    before = lake.state("t")
    with pytest.raises(FileNotFoundError):
        lake.write_parts(
            "t", [("a.parquet", pa.table({"id": [2]})), ("b.parquet", tmp_path / "missing")]
        )
    assert lake.state("t") == before
    assert _ids(lake, "t") == [1]
    assert len(list((tmp_path / ".t.versions").iterdir())) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".link")]


@pytest.mark.parametrize(
    "names", [[], ["a.parquet", "a.parquet"], ["../a.parquet"], ["a.csv"], [".a.parquet"]]
)
def test_bad_part_names_are_refused(tmp_path: Path, names: list[str]) -> None:
    parts: list[tuple[str, Path | pa.Table]] = [(n, pa.table({"id": [1]})) for n in names]
    with pytest.raises(LakeError, match="bad part names"):
        Lake(tmp_path).write_parts("t", parts)


def test_a_copy_of_the_lake_that_followed_links_still_reads_and_writes(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "a")
    lake.write_parts(
        "t", [("a.parquet", pa.table({"id": [1]})), ("b.parquet", pa.table({"id": [2]}))]
    )
    shutil.copytree(lake.root, tmp_path / "b")  # follows the link: t is a folder there
    copy = Lake(tmp_path / "b")
    assert not (copy.root / "t").is_symlink()
    assert copy.tables() == ["t"]
    assert _ids(copy, "t") == [1, 2]
    assert copy.state("t")
    kept = copy.files("t")[1]
    copy.write_parts("t", [("b.parquet", kept), ("c.parquet", pa.table({"id": [3]}))])
    assert (copy.root / "t").is_symlink()
    assert _ids(copy, "t") == [2, 3]
    assert _ids(lake, "t") == [1, 2]
